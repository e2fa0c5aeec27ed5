/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The .Call layer over libautozyme: argument conversion and error raising
 * only.  Every decision (budget, variables, pools, bookkeeping, JSON) is the
 * C runtime's, shared with the Slurm plugin and the Python package.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

#include <autozyme.h>

/* True when `message` starts with "NAME: ". */
static bool names_call(const char *message, const char *name)
{
	size_t len = strlen(name);

	return strncmp(message, name, len) == 0 &&
	       strncmp(message + len, ": ", 2) == 0;
}

/*
 * Raise an R error "FUNCTION: MESSAGE", like stop(call. = FALSE).  The C
 * runtime's messages may start with its own name for the call ("activate:
 * unknown patch ..."): the R name replaces it.  One that names the R call
 * already ("set_threads(n): ...") is raised as it is.
 */
static void NORET fail(const char *function, const char *c_name,
		       const az_error *err)
{
	const char *message = err->message;

	if (names_call(message, function))
		Rf_errorcall(R_NilValue, "%s", message);
	if (names_call(message, c_name))
		message += strlen(c_name) + 2;
	Rf_errorcall(R_NilValue, "%s: %s", function, message);
}

/* A malloc'ed C string as an R character scalar; frees it. */
static SEXP take_string(char *text)
{
	SEXP out = PROTECT(Rf_mkString(text));

	free(text);
	UNPROTECT(1);
	return out;
}

/* An R character scalar, or NULL for NULL. */
static SEXP string_or_null(const char *text)
{
	return text ? Rf_mkString(text) : R_NilValue;
}

/* The R wrappers validate; these checks only keep C from reading garbage. */
static const char *scalar_string(SEXP x, const char *function,
				 const char *argument)
{
	if (!Rf_isString(x) || XLENGTH(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
		Rf_errorcall(R_NilValue, "%s: %s must be a single string",
			     function, argument);
	return CHAR(STRING_ELT(x, 0));
}

/*
 * An R number (a scalar; NA for none) as the long long the C runtime
 * checks, truncated; false when that is not the number itself: NA goes as
 * 0, which no count is, and a number beyond long long's range as its edge
 * (a plain conversion would be undefined), refused all the same.
 */
static bool as_long_long(SEXP x, long long *out)
{
	double value = XLENGTH(x) == 1 ? Rf_asReal(x) : NA_REAL;

	if (ISNAN(value)) {
		*out = 0;
		return false;
	}
	if (value >= 0x1p63 || value < -0x1p63) {
		*out = value > 0 ? LLONG_MAX : LLONG_MIN;
		return false;
	}
	*out = (long long)value;
	return true;
}

/*
 * The C runtime refused `count`, which stood for the R value `shown`: its
 * message, which ends with the count, names `shown` instead.
 */
static void name_given(az_error *err, long long count, const char *shown)
{
	char tail[32];
	size_t len = strlen(err->message), cut;

	snprintf(tail, sizeof(tail), "%lld", count);
	cut = strlen(tail);
	if (len >= cut && strcmp(err->message + len - cut, tail) == 0)
		snprintf(err->message + len - cut, sizeof(err->message) - (len - cut),
			 "%s", shown);
}

/*
 * set_threads(n): the C runtime checks n (from thread_count(): a whole
 * number, or NA) and words the refusal; `shown` is n as R prints it, for
 * the message when n could not reach C as itself.  The count applied.
 */
SEXP C_set_threads(SEXP n, SEXP shown)
{
	long long count;
	bool exact = as_long_long(n, &count);
	unsigned applied;
	az_error err;
	az_status status = az_runtime_set_threads(count, &applied, &err);

	if (status != AZ_OK) {
		if (status == AZ_ERR_INVALID && !exact)
			name_given(&err, count, scalar_string(shown, "set_threads(n)",
							      "the value shown"));
		fail("set_threads(n)", "set_threads", &err);
	}
	return Rf_ScalarInteger((int)applied);
}

/* The count activate() applies; NA when the budget is "off". */
SEXP C_threads(void)
{
	unsigned threads;
	bool off;
	az_error err;

	if (az_runtime_threads(&threads, &off, &err) != AZ_OK)
		fail("autozyme thread count", "threads", &err);
	return Rf_ScalarInteger(off ? NA_INTEGER : (int)threads);
}

/* The manifest's R side: upstream, min_version and hook, NULL when absent. */
static SEXP r_side(const az_patch *patch)
{
	static const char *fields[] = { "name", "upstream", "min_version",
					"hook", "" };
	SEXP out = PROTECT(Rf_mkNamed(VECSXP, fields));

	SET_VECTOR_ELT(out, 0, string_or_null(az_patch_name(patch)));
	SET_VECTOR_ELT(out, 1, string_or_null(az_patch_upstream(patch, "r")));
	SET_VECTOR_ELT(out, 2, string_or_null(az_patch_min_version(patch, "r")));
	SET_VECTOR_ELT(out, 3, string_or_null(az_patch_hook(patch, "r")));
	UNPROTECT(1);
	return out;
}

/*
 * The R side of `name` in the runtime's registry, activating nothing, so
 * that R can refuse a missing upstream or hook before the runtime records
 * the patch.  Refused as activate() refuses it.
 */
SEXP C_find_patch(SEXP name)
{
	const char *text = scalar_string(name, "activate(name)", "name");
	const az_patch *patch;
	az_error err;

	if (az_runtime_find_patch(text, "r", &patch, &err) != AZ_OK)
		fail("activate(name)", "activate", &err);
	return r_side(patch);
}

/* TRUE when the runtime knows `name` with a `language` side. */
SEXP C_has_side(SEXP name, SEXP language)
{
	const char *text = scalar_string(name, "activate(name)", "name");
	const char *side = scalar_string(language, "activate(name)", "language");
	const az_patch *patch;

	return Rf_ScalarLogical(az_runtime_find_patch(text, side, &patch,
						      NULL) == AZ_OK);
}

/* activate(name) in the C runtime, once C_find_patch's side is checked. */
SEXP C_activate(SEXP name)
{
	const char *text = scalar_string(name, "activate(name)", "name");
	const az_patch *patch;
	az_error err;

	if (az_runtime_activate(text, "r", &patch, &err) != AZ_OK)
		fail("activate(name)", "activate", &err);
	return R_NilValue;
}

/* The core's one rule for the installed upstream against min_version. */
SEXP C_check_upstream_version(SEXP name, SEXP version)
{
	const char *text = scalar_string(name, "activate(name)", "name");
	const char *found = scalar_string(version, "activate(name)", "version");
	az_error err;

	if (az_runtime_check_upstream_version(text, "r", found, &err) != AZ_OK)
		fail("activate(name)", "activate", &err);
	return R_NilValue;
}

/* The names AUTOZYME_ACTIVATE holds, as JSON, parsed by the core. */
SEXP C_inherited_patches(void)
{
	char *json;
	az_error err;

	if (az_runtime_inherited_patches(&json, &err) != AZ_OK)
		fail("AUTOZYME_ACTIVATE", "inherited_patches", &err);
	return take_string(json);
}

/* version: a string, or NULL when the upstream package is not installed. */
SEXP C_set_upstream_version(SEXP name, SEXP version)
{
	const char *text = scalar_string(name, "activate(name)", "name");
	const char *found = Rf_isNull(version) ?
		NULL : scalar_string(version, "activate(name)", "version");
	az_error err;

	if (az_runtime_set_upstream_version(text, found, &err) != AZ_OK)
		fail("activate(name)", "set_upstream_version", &err);
	return R_NilValue;
}

SEXP C_snapshot(SEXP r_version)
{
	const char *version = scalar_string(r_version, "env_snapshot()",
					    "R version");
	char *json;
	az_error err;

	if (az_runtime_snapshot("R", version, &json, &err) != AZ_OK)
		fail("env_snapshot()", "snapshot", &err);
	return take_string(json);
}

SEXP C_thread_info(void)
{
	char *json;
	az_error err;

	if (az_runtime_thread_info(&json, &err) != AZ_OK)
		fail("thread_info()", "thread_info", &err);
	return take_string(json);
}

/* An integer c(threads, workers) as an az_worker_share. */
static az_worker_share share_of(SEXP share)
{
	if (!Rf_isInteger(share) || XLENGTH(share) != 2 ||
	    INTEGER(share)[0] < 1 || INTEGER(share)[1] < 1)
		Rf_errorcall(R_NilValue,
			     "autozyme: a worker share must be c(threads, workers), two positive integers");
	return (az_worker_share){ (unsigned)INTEGER(share)[0],
				  (unsigned)INTEGER(share)[1] };
}

/*
 * A pool of `workers` starts: c(threads, workers) to hand its workers, NULL
 * when the budget is off or the C runtime refuses the count.  The guard
 * may refuse it (an R error) or print its one warning line.
 */
SEXP C_pool_start(SEXP workers)
{
	az_worker_share share;
	long long count;
	az_error err;
	SEXP out;

	if (!Rf_isNumeric(workers))
		Rf_errorcall(R_NilValue,
			     "autozyme: a pool's worker count must be a number");
	as_long_long(workers, &count);
	if (az_runtime_pool_start(count, &share, &err) != AZ_OK) {
		if (!share.workers) /* a count C refuses: the pool's own check decides */
			return R_NilValue;
		fail("autozyme", "pool_start", &err);
	}
	if (!share.threads)
		return R_NilValue;
	out = PROTECT(Rf_allocVector(INTSXP, 2));
	INTEGER(out)[0] = (int)share.threads;
	INTEGER(out)[1] = (int)share.workers;
	UNPROTECT(1);
	return out;
}

/* In a pool worker: run as a worker of `share`. */
SEXP C_enter_worker(SEXP share)
{
	az_worker_share entered = share_of(share);
	az_error err;

	if (az_runtime_enter_worker(&entered, &err) != AZ_OK)
		fail("autozyme worker", "enter_worker", &err);
	return R_NilValue;
}

/* The variables a fresh worker of `share` starts with, as JSON. */
SEXP C_worker_env(SEXP share)
{
	az_worker_share of = share_of(share);
	char *json;
	az_error err;

	if (az_runtime_worker_env(&of, &json, &err) != AZ_OK)
		fail("autozyme", "worker_env", &err);
	return take_string(json);
}

/* Through void (*)(void): R's DL_FUNC idiom without a cast warning. */
#define CALL(name, nargs) { #name, (DL_FUNC)(void (*)(void))&C_##name, nargs }

static const R_CallMethodDef call_methods[] = {
	CALL(set_threads, 2),
	CALL(threads, 0),
	CALL(find_patch, 1),
	CALL(has_side, 2),
	CALL(activate, 1),
	CALL(check_upstream_version, 2),
	CALL(inherited_patches, 0),
	CALL(set_upstream_version, 2),
	CALL(snapshot, 1),
	CALL(thread_info, 0),
	CALL(pool_start, 1),
	CALL(enter_worker, 1),
	CALL(worker_env, 1),
	{ NULL, NULL, 0 }
};

void R_init_autozyme(DllInfo *dll)
{
	R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
	R_useDynamicSymbols(dll, FALSE);
	R_forceSymbols(dll, TRUE);
}
