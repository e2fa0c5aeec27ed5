# SPDX-License-Identifier: BSD-3-Clause
"""Malformed input to the Python runtime (docs/bad-input.md): each is a clear
error naming the argument or variable and the accepted form, or, for a
budget source that cannot be read, a fallback that thread_info() explains.
Nothing here hangs or crashes the interpreter.
"""

import json
import os

import pytest

from helpers import base_env, run_json, run_python, write_activation_file

FORM = "expected [a-z0-9][a-z0-9_.-]{0,63}"


def _last_error(code, env=None):
    proc = run_python(code, env)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("bad", ["10**30", "float('nan')", "float('inf')",
                                 "'abc'", "''", "[4]", "2**64 + 1", "-2**70"])
def test_set_threads_refuses_overflow_and_non_numbers(bad):
    line = _last_error("import autozyme; autozyme.set_threads({})".format(bad))
    assert line.startswith("ValueError: set_threads(n): n must be a single "
                           "whole number from 1 to 4096, got "), line


@pytest.mark.parametrize("bad", ["-1", "2**70", "2**64 + 1", "-2**63 - 1",
                                 "'8'", "4.0"])
def test_set_threads_names_the_value_given(bad):
    """The C runtime words the refusal; a value ctypes cannot pass as it is
    (beyond long long, where it would wrap: 2**64 + 1 would arrive as 1)
    or that is no int is named as given, never an OverflowError."""
    line = _last_error("import autozyme; autozyme.set_threads({})".format(bad))
    assert line == ("ValueError: set_threads(n): n must be a single whole "
                    "number from 1 to 4096, got {!r}".format(eval(bad))), line


@pytest.mark.parametrize("bad", ["''", "'x' * 100000", "'caf\\u00e9'",
                                 "'../scanpy'", "'scanpy,seurat'",
                                 "'scanpy\\x00'", "'SCANPY'"])
def test_activate_refuses_malformed_names(bad):
    """Empty, huge, unicode, path tricks, a list, an embedded NUL (which
    ctypes would cut), upper case: the form always ends the message."""
    line = _last_error("import autozyme; autozyme.activate({})".format(bad))
    assert line.startswith("ValueError: activate: invalid patch name '"), line
    assert line.endswith(FORM), line
    assert len(line) < 300, line


def test_activate_twice_is_one_activation():
    report = run_json("""
import json, autozyme
autozyme.activate("scanpy"); autozyme.activate("scanpy")
print(json.dumps(autozyme.env_snapshot()["patches"]))
""")
    assert [p["name"] for p in report] == ["scanpy"]


def _activation_error(path):
    """thread_info() in a process whose AUTOZYME_ACTIVATION_FILE is path."""
    return run_json("import json, autozyme; i = autozyme.thread_info(); "
                    "print(json.dumps([i['activation_file_read'], "
                    "i['activation_error'], i['provenance']]))",
                    base_env(AUTOZYME_ACTIVATION_FILE=str(path)))


def test_unreadable_activation_files_fall_back_with_the_reason(tmp_path):
    """A FIFO (must not hang), a directory, a symbolic link, a file over
    1 MiB, a duplicate key, an older plugin's schema-1 file and a missing
    file: the budget is discovered
    instead and thread_info() says why the file was not used."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    good = tmp_path / "good.json"
    write_activation_file(str(good), 1)
    link = tmp_path / "link.json"
    link.symlink_to(good)
    big = tmp_path / "big.json"
    big.write_text(" " * (1024 * 1024 + 1))
    dup = tmp_path / "dup.json"
    dup.write_text(good.read_text().replace('"schema": 2', '"schema": 2, "schema": 2'))
    older = tmp_path / "older.json"
    older.write_text(good.read_text().replace('"schema": 2', '"schema": 1'))
    cases = {fifo: "not a regular file", tmp_path: "not a regular file",
             older: "schema: version 1 is the per-task file of a plugin older "
                    "than this runtime: expected 2 (upgrade the node's plugin)",
             link: "refusing a symbolic link", big: "exceeds the limit",
             dup: "schema: duplicate key",
             tmp_path / "missing.json": "No such file or directory"}
    for path, reason in cases.items():
        read, error, provenance = _activation_error(path)
        assert not read and reason in error and str(path) in error, error
        assert provenance != "request"


def test_malformed_autozyme_activate_is_one_warning_line(pth_env):
    """A fresh interpreter never fails on its inherited patch list."""
    pth_env["AUTOZYME_ACTIVATE"] = "../x,scanpy"
    proc = run_python("print('alive')", pth_env)
    assert proc.returncode == 0 and proc.stdout == "alive\n", proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "AUTOZYME_ACTIVATE" in lines[0], proc.stderr


def test_broken_manifest_in_autozyme_patch_path_is_named(tmp_path):
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "broken.json").write_text('{"schema": 1, "name": "broken"')
    env = base_env()
    env["AUTOZYME_PATCH_PATH"] = "{}:{}".format(registry, env["AUTOZYME_PATCH_PATH"])
    line = _last_error("import autozyme; autozyme.activate('scanpy')", env)
    assert str(registry / "broken.json") in line and "not well-formed JSON" in line


def test_missing_directories_in_autozyme_patch_path_are_skipped():
    env = base_env()
    env["AUTOZYME_PATCH_PATH"] = "/nonexistent::relative/../x:" + env["AUTOZYME_PATCH_PATH"]
    report = run_json("import json, autozyme; autozyme.activate('scanpy'); "
                      "print(json.dumps(autozyme.env_snapshot()['patches'][0]['name']))", env)
    assert report == "scanpy"


@pytest.mark.parametrize("value", ["", "0", "-1", "4097", "1e3", "\u0664",
                                   "7" * 100000])
def test_malformed_autozyme_threads_names_the_variable(value):
    line = _last_error("import autozyme; autozyme.activate('scanpy')",
                       base_env(AUTOZYME_THREADS=value))
    assert "AUTOZYME_THREADS: invalid value '" in line, line
    assert line.endswith("expected N (1 to 4096), auto or off"), line


def test_json_of_thread_info_survives_a_hostile_file_name(tmp_path):
    """A file name with a quote, a newline and non-UTF-8 bytes."""
    path = os.fsdecode(bytes(tmp_path) + b"/a\"b\nc\xff.json")
    read, error, _ = _activation_error(path)
    assert not read and "No such file or directory" in error
    json.dumps(error)
