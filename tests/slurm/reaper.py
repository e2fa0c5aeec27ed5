# SPDX-License-Identifier: BSD-3-Clause
# Run a daemon of the throwaway cluster (tests/slurm/cluster.sh) as our child
# and reap it and every orphan under it (PR_SET_CHILD_SUBREAPER).  slurmd
# double-forks each slurmstepd; without a subreaper the stepds are orphans of
# PID 1, which on these machines reaps only lazily (zombies linger for
# seconds), and they leave the daemon's process tree that cluster_leftovers
# walks.
#   python3 reaper.py PIDFILE CMD [ARG...]
# Writes CMD's pid to PIDFILE, forwards SIGTERM to it, exits with its status
# once no descendant is left.  CMD runs in a session of its own and the reaper
# ignores SIGINT/SIGHUP, so a Ctrl-C or hang-up aimed at the test does not
# kill the daemons behind its back: the test's `trap cluster_stop EXIT` does.
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
pidfile, argv = sys.argv[1], sys.argv[2:]
for s in (signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
child = os.fork()
if child == 0:
    try:
        os.setsid()
        for s in (signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % child)
os.rename(pidfile + ".tmp", pidfile)


def forward(sig, frame):
    try:
        os.kill(child, sig)
    except ProcessLookupError:
        pass


signal.signal(signal.SIGTERM, forward)
status = 0
while True:
    try:
        pid, st = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    if pid == child:
        status = os.waitstatus_to_exitcode(st)
sys.exit(status if status >= 0 else 128 - status)
