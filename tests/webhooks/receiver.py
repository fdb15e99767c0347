"""A real HTTP receiver on 127.0.0.1 that records what it gets and answers
as told: 200 by default, or a planned status, headers and delay."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import wait_for


@dataclass
class Captured:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when the request line arrived

    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hold: threading.Event | None = None  # answer only once this is set


class Receiver:
    def __init__(self):
        self.requests: list[Captured] = []
        self.plans: dict[str, list[Answer]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.requests.append(
                        Captured(self.path, {k.lower(): v for k, v in self.headers.items()}, body, arrived)
                    )
                    plan = receiver.plans.get(self.path)
                    answer = plan.pop(0) if plan else Answer()
                if answer.hold is not None:
                    answer.hold.wait(30)
                if answer.delay:
                    time.sleep(answer.delay)
                payload = b'{"ok": true}'
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def plan(self, path: str, *answers: Answer) -> None:
        with self.lock:
            self.plans.setdefault(path, []).extend(answers)

    def received(self, path: str | None = None) -> list[Captured]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 15.0) -> list[Captured]:
        return wait_for(
            lambda: len(self.received(path)) >= count and self.received(path),
            timeout,
            message=f"{count} request(s) at {path or 'the receiver'}",
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
