"""The kit's real parts besides the hub app: a user calling the hub with an
API key, a loopback receiver for hook deliveries, the delivery worker as its
own process, and waiting on a condition with a deadline."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout: float = 30.0, message: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy, or fail once
    ``timeout`` seconds have passed (generous: the kit runs on busy machines)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HubUser:
    """A user of the kit's hub holding an API key (``key``), calling the hub
    through Flask's test client with it."""

    def __init__(self, client: FlaskClient, username: str, key: str, key_id: str) -> None:
        self.client, self.username, self.key, self.key_id = client, username, key, key_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def create_task(self, **fields: Any) -> dict[str, Any]:
        """A task made through the core API (POST /api/v1/tasks): its JSON."""
        response = self.post("/api/v1/tasks", json={"title": "Fix the build", "prompt": "Make CI green", **fields})
        assert response.status_code == 201, response.get_data(as_text=True)
        task: dict[str, Any] = response.json or {}
        return task


@dataclass
class Delivery:
    """One POST the receiver got: its path, headers (lowercase names) and raw body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HookReceiver:
    """A webhook receiver on 127.0.0.1 (a free port, served by a thread of
    this process) that records every request and answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="hook-receiver", daemon=True)
        self.thread.start()

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        with self.lock:
            self.deliveries.append(Delivery(environ.get("PATH_INFO", "/"), headers, body))
        start_response("200 OK", [("content-type", "application/json"), ("content-length", "2")])
        return [b"{}"]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if path is None or d.path == path]

    def wait_for(
        self, path: str, where: Callable[[Delivery], bool] = lambda _: True, timeout: float = 30.0
    ) -> Delivery:
        """The first delivery at ``path`` for which ``where`` holds, once it came."""
        return wait_for(
            lambda: next((d for d in self.received(path) if where(d)), None),
            timeout,
            message=f"a delivery at {self.url(path)}",
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


class DeliveryWorker:
    """``codetether-hub delivery-worker`` as its own process (group), on the
    settings in this process's environment; its log goes to ``log``."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DeliveryWorker:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "delivery-worker"],
                env={**os.environ, "HUB_LOG_FORMAT": "text"},
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything it left behind
        # Shown by pytest when the test failed: why a delivery did not come.
        print(f"--- delivery worker log ({self.log}) ---\n{self.log.read_text(errors='replace')[-4000:]}")
