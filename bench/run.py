# SPDX-License-Identifier: BSD-3-Clause
"""Run one command and print "WALL_MS CPU_MS": its wall time and the CPU
time (user + system) the kernel charged to it, from wait4.  The CPU time
hardly moves when other work shares the machine; the wall time does.

    run.py LOG CMD [ARG...]      (CMD's stdout and stderr are appended to LOG)

Exits with CMD's status (1 when it was killed by a signal).
"""

import os
import sys
import time


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: run.py LOG CMD [ARG...]")
    log, command = argv[0], argv[1:]
    actions = [(os.POSIX_SPAWN_OPEN, 1, log,
                os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ,
                          file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(code if code > 0 else 1)
    print("{:.3f} {:.3f}".format(wall * 1e3,
                                 (usage.ru_utime + usage.ru_stime) * 1e3))


if __name__ == "__main__":
    main(sys.argv[1:])
