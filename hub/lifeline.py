"""Processes that end with their parent.

A process the hub starts (``up``'s Redis, web server and workers, gunicorn's
workers, an agent command) asks the Linux kernel for a signal when its
parent dies, even by SIGKILL (``PR_SET_PDEATHSIG``), so nothing is left
serving or holding the instance folder. Elsewhere these are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

# Resolved once in the parent: a preexec_fn runs between fork and exec,
# where loading a library is best avoided.
_prctl = None
if sys.platform.startswith("linux"):
    try:
        _prctl = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        _prctl = None


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> bool:
    """Have the kernel send ``sig`` to this process when its parent ends.
    ``parent``: the PID it should still have (the parent may have died
    before we asked; then ``sig`` is sent now). Returns whether it is set."""
    if _prctl is None or _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def preexec(sig: int = signal.SIGTERM):
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when
    this process dies. (It is kept across exec, so it works for any program.)"""
    parent = os.getpid()
    return lambda: die_with_parent(sig, parent)


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot), or None if there
    is no such process: with the PID it tells a process from a later one
    that reuses the number."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3
