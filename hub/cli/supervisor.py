"""What keeps ``up``'s processes running: restart one that dies, with a
backoff and one log line per restart; give up loudly on one that keeps
dying; stop them all within a deadline. And the instance's PID file, so a
new ``up`` refuses to run beside a live one and takes over from a dead one.

A small loop rather than supervisord or circus: those are daemons with
their own configuration files and control sockets, while ``up`` is one
foreground command that also owns the listening socket, waits for Redis to
answer before starting the rest, and must take its children down with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import click

from hub import lifeline

GIVE_UP_DEATHS = 5  # deaths of one child within GIVE_UP_WINDOW seconds
GIVE_UP_WINDOW = 60.0
BACKOFF = (0.2, 1.0, 2.0, 4.0)  # seconds before a restart, by deaths within the window


class GaveUp(Exception):
    """A child kept dying: the hub cannot run as configured."""


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


class Child:
    """One process ``up`` keeps running. ``start`` returns the started
    process (its own process group: ``up`` stops the group); ``stop``, if
    given, stops it (the embedded Redis stops itself)."""

    def __init__(self, name: str, start: Callable[[], subprocess.Popen], stop: Callable[[], None] | None = None):
        self.name, self._start, self._stop = name, start, stop
        self.process: subprocess.Popen | _Failed | None = None
        self.deaths: deque[float] = deque()
        self.restart_at: float | None = None

    def start(self) -> None:
        self.restart_at = None
        self.process = self._start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, on_change: Callable[[dict], None] = lambda _pids: None, echo=click.echo):
        self.children: list[Child] = []
        self.on_change, self.echo = on_change, echo

    def add(self, child: Child) -> Child:
        """Start ``child`` and keep it running."""
        self.children.append(child)
        child.start()
        self._changed()
        return child

    def check(self) -> None:
        """Restart what died and is due; raise GaveUp for a child that died
        GIVE_UP_DEATHS times within GIVE_UP_WINDOW seconds."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child)
            elif child.process is not None and child.process.poll() is not None:
                self._died(child, now)

    def _died(self, child: Child, now: float) -> None:
        while child.deaths and child.deaths[0] < now - GIVE_UP_WINDOW:
            child.deaths.popleft()
        child.deaths.append(now)
        process = child.process
        assert process is not None  # it was started (or failed to be) before it died
        how = (
            f"could not start ({process.error})"
            if isinstance(process, _Failed)
            else f"(PID {process.pid}) {describe_exit(process.returncode)}"
        )
        if len(child.deaths) >= GIVE_UP_DEATHS:
            raise GaveUp(
                f"The {child.name} {how}: {len(child.deaths)} times within {GIVE_UP_WINDOW:g} s. "
                "Giving up; its own messages above say why."
            )
        delay = BACKOFF[min(len(child.deaths), len(BACKOFF)) - 1]
        self.echo(
            f"up: the {child.name} {how}; restarting it in {delay:g} s ({len(child.deaths)} in the last minute)",
            err=True,
        )
        child.restart_at = now + delay

    def _restart(self, child: Child) -> None:
        try:
            child.start()
        except Exception as error:  # e.g. redis-server would not answer: counts as a death
            child.restart_at = None
            child.process = _Failed(error)
            self._died(child, time.monotonic())
            return
        self._changed()

    def _changed(self) -> None:
        self.on_change({c.name: c.process.pid for c in self.children if isinstance(c.process, subprocess.Popen)})

    def stop(self, children: list[Child], timeout: float) -> None:
        """SIGTERM ``children`` at once, wait up to ``timeout`` seconds, then
        SIGKILL what is left of their process groups."""
        for child in children:
            child.restart_at = None
            process = child.process
            if child._stop is None and isinstance(process, subprocess.Popen) and process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        for child in children:
            if child._stop is not None:
                child._stop()
        deadline = time.monotonic() + timeout
        for child in children:
            if child.process is None or isinstance(child.process, _Failed):
                continue
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.echo(f"up: the {child.name} did not stop within {timeout:g} s; killing it", err=True)
            _signal_group(child.process.pid, signal.SIGKILL)  # and any straggler of its group
            child.process.wait()


class _Failed:
    """Stands for a process that could not be started."""

    pid = None
    returncode = 1

    def __init__(self, error: Exception):
        self.error = error

    def poll(self):
        return self.returncode


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def popen(args: list[str], **kwargs) -> subprocess.Popen:
    """Start a child of ``up``: its own process group (a Ctrl-C reaches
    ``up``, which stops the children in order), no terminal input, and it
    gets SIGTERM should ``up`` die."""
    return subprocess.Popen(
        args, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=lifeline.preexec(signal.SIGTERM), **kwargs
    )


class PidFile:
    """``up.pid`` in the instance folder: the running ``up`` and the
    processes it started, locked while it runs.

    The lock (flock) goes with its holder, even one killed by SIGKILL: a
    locked file means a live ``up`` (refuse to start), an unlocked one that
    names processes means one that died (end what it left running)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = self._read().get("pid", "unknown")
            os.close(self.fd)
            raise click.ClickException(
                f"Another `codetether-hub up` (PID {owner}) is running on {path.parent}. "
                "Stop it first (Ctrl-C in its terminal), or give this one another HUB_INSTANCE_PATH."
            ) from None
        self.previous = self._read()
        self.pid = os.getpid()

    def take_over(self, echo=click.echo, grace: float = 5.0) -> None:
        """After an ``up`` that died: end the processes it left running
        (each process group, TERM then KILL), or name those we cannot end."""
        if not self.previous.get("pid"):
            return
        left = {
            name: pid
            for name, (pid, started) in self.previous.get("children", {}).items()
            if started is not None and lifeline.start_time(pid) == started
        }
        echo(
            f"up: the previous `up` (PID {self.previous['pid']}) ended without stopping; taking over"
            + (": ending " + ", ".join(f"its {name} (PID {pid})" for name, pid in left.items()) if left else ""),
            err=True,
        )
        stuck = []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for name, pid in left.items():
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
                except PermissionError:
                    stuck.append(f"{name} (PID {pid})")
            deadline = time.monotonic() + grace
            while any(_group_alive(pid) for pid in left.values()) and time.monotonic() < deadline:
                time.sleep(0.05)
            left = {name: pid for name, pid in left.items() if _group_alive(pid)}
            if stuck or not left:
                break
        if stuck or left:
            names = stuck or [f"{name} (PID {pid})" for name, pid in left.items()]
            raise click.ClickException(
                "Processes of the previous `up` are still running and could not be "
                f"ended: {', '.join(names)}. End them, then start `up` again."
            )

    def record(self, children: dict[str, int]) -> None:
        """Write who runs now (after every start or restart)."""
        self._write(
            {
                "pid": self.pid,
                "started": lifeline.start_time(self.pid),
                "children": {name: [pid, lifeline.start_time(pid)] for name, pid in children.items()},
            }
        )

    def release(self) -> None:
        """A clean stop: nothing left to take over."""
        self._write({})
        os.close(self.fd)

    def _read(self) -> dict:
        try:
            os.lseek(self.fd, 0, os.SEEK_SET)
            return json.loads(os.read(self.fd, 65536) or b"{}")
        except (OSError, ValueError):
            return {}

    def _write(self, content: dict) -> None:
        data = json.dumps(content).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)


def _group_alive(pgid: int) -> bool:
    """Does process group ``pgid`` have a member that is not a zombie?"""
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False
