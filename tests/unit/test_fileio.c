/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core/fileio.c: reading a whole opened file within a size limit. */
#define _GNU_SOURCE /* nftw in scratch.h */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "scratch.h"

static char dir[SCRATCH_MAX];

static void make_dir(void)
{
	scratch_make(dir, sizeof(dir), "fileio");
}

static void remove_dir(void)
{
	scratch_remove(dir);
}

TestSuite(fileio, .init = make_dir, .fini = remove_dir);

/* A file holding `text`, opened for reading. */
static int file_with(const char *name, const char *text)
{
	char path[SCRATCH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "create %s", path);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "open %s", path);
	return fd;
}

Test(fileio, reads_a_file_up_to_the_limit)
{
	int fd = file_with("full", "0123456789");
	char *text = NULL;
	size_t len = 0;

	cr_assert_eq(azi_read_all(fd, "full", 10, &text, &len, NULL), AZ_OK);
	cr_expect_str_eq(text, "0123456789");
	cr_expect_eq(len, 10);
	free(text);
	close(fd);
}

Test(fileio, an_empty_file_is_an_empty_string)
{
	int fd = file_with("empty", "");
	char *text = NULL;

	cr_assert_eq(azi_read_all(fd, "empty", 10, &text, NULL, NULL), AZ_OK);
	cr_expect_str_eq(text, "");
	free(text);
	close(fd);
}

Test(fileio, one_byte_over_the_limit_is_refused)
{
	int fd = file_with("big", "0123456789A");
	char *text = NULL;
	az_error err;

	cr_assert_eq(azi_read_all(fd, "big", 10, &text, NULL, &err),
		     AZ_ERR_TOO_LARGE);
	cr_expect_str_eq(err.message, "big: larger than 10 bytes");
	cr_expect_null(text);
	close(fd);
}

/* A pipe hands its bytes over in pieces: the reader collects them all. */
Test(fileio, reads_every_piece_of_a_pipe)
{
	int fds[2];
	char *text = NULL;
	size_t len = 0;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], "abc", 3), 3);
	cr_assert_eq(write(fds[1], "def", 3), 3);
	close(fds[1]);
	cr_assert_eq(azi_read_all(fds[0], "pipe", 100, &text, &len, NULL), AZ_OK);
	cr_expect_str_eq(text, "abcdef");
	cr_expect_eq(len, 6);
	free(text);
	close(fds[0]);
}

Test(fileio, a_read_error_names_the_path_and_the_reason)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	char *text = NULL;
	az_error err;

	cr_assert_geq(fd, 0);
	cr_assert_eq(azi_read_all(fd, "the dir", 10, &text, NULL, &err), AZ_ERR_IO);
	cr_expect_str_eq(err.message, "the dir: cannot read: Is a directory");
	cr_expect_null(text);
	close(fd);
}
