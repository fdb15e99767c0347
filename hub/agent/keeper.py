"""Runs one agent command for the command backend and ends its whole
process group when the worker that started it dies, even by SIGKILL.

The backend starts this script as the leader of a new process group (its
own session) and the agent command as its child, in that group. The kernel
sends this process SIGTERM when the worker dies (PR_SET_PDEATHSIG); it then
sends SIGTERM to the group, and SIGKILL after a grace period. A stop asked
by a live worker (cancel, timeout) is the worker's: it signals the group.

Run as a script, ``python -I keeper.py WORKER_PID GRACE COMMAND...``, so it
starts without importing the hub. Exits as the agent did.
"""

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    worker, grace, argv = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    orphaned = False

    def worker_gone(signum, frame):
        nonlocal orphaned
        if os.getppid() == worker or orphaned:
            return  # the worker stops the group itself
        orphaned = True
        os.killpg(0, signal.SIGTERM)
        signal.signal(signal.SIGALRM, lambda *_: os.killpg(0, signal.SIGKILL))
        signal.setitimer(signal.ITIMER_REAL, grace)

    signal.signal(signal.SIGTERM, worker_gone)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl(
            PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0
        )
    if os.getppid() != worker:
        sys.exit(1)  # the worker died before we could ask
    try:
        agent = subprocess.Popen(argv)
    except OSError as error:
        print(f"Could not start the agent command {argv[0]!r}: {error}", file=sys.stderr)
        sys.exit(127)
    os.close(0)  # the agent's copy is its own: one that closes it early stops the prompt's writer
    returncode = agent.wait()
    if orphaned:
        os.killpg(0, signal.SIGKILL)  # what the agent left behind, and this process
    if returncode < 0:  # die of the same signal, so the worker sees what the agent saw
        with contextlib.suppress(OSError, ValueError):
            signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    sys.exit(returncode)


if __name__ == "__main__":
    main()
