"""`codetether-hub up` as a real process for tests: start it on an instance
folder, read what it prints, find the processes it runs, stop it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support import wait_for
from support.processes import children, cmdline, collect

COMMAND = str(Path(sys.executable).parent / "codetether-hub")  # the installed command, as a user runs it


class UpHub:
    def __init__(self, instance: Path, port: int, *, cwd: Path | None = None, wait: bool = True, **settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_", "DATABASE_", "SECRET_"))}
        env.update(HUB_INSTANCE_PATH=str(instance), HUB_WEB_WORKERS="1", **settings)
        self.instance = instance
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [COMMAND, "up", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = collect(self.process.stdout)
        if wait:
            try:
                wait_for(self._ready, timeout=120, interval=0.1, message="the hub to answer")
            except AssertionError as error:  # with what up printed: how far it got, and why
                error.args = (f"{error}\n--- up's output:\n{self.output()[-8000:]}",)
                raise

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError("up exited early:\n" + self.output())
        try:
            return httpx.get(self.base + "/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return "".join(self.lines)

    def api_key(self) -> str:
        return re.search(r"API key:\s+(ct_\S+)", self.output()).group(1)

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key()}"}

    def find(self, marker: str) -> int | None:
        """The PID of ``up``'s child whose command line contains ``marker``."""
        return next((pid for pid in children(self.process.pid) if marker in cmdline(pid)), None)

    def child(self, marker: str) -> int:
        return wait_for(lambda: self.find(marker), timeout=60, interval=0.05, message=f"up's child {marker!r}")

    def stop(self, sig=signal.SIGINT, timeout: float = 60) -> tuple[int, float]:
        """Signal ``up``; return its exit status and how long it took to exit."""
        started = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
