"""A webhook receiver on 127.0.0.1 (served in this process) that records
what it gets and answers as told: 200 by default, or a planned status,
headers and delay."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus

from support import wait_for
from support.servers import Served


@dataclass
class Captured:
    path: str
    headers: dict
    body: bytes  # what arrived: shorter than content-length when the sender died mid-body
    at: float  # time.time() when the request arrived

    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # a slow receiver: the delay is the scenario
    hold: threading.Event | None = None  # answer only once this is set


class Receiver:
    def __init__(self):
        self.requests: list[Captured] = []
        self.plans: dict[str, list[Answer]] = {}
        self.lock = threading.Lock()
        self.served = Served(self._wsgi)
        self.port = self.served.port

    def _wsgi(self, environ, start_response):
        arrived = time.time()
        # The raw stream, not a parsed request: a body cut short is recorded as it came.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): value for k, value in environ.items() if k.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        path = environ.get("PATH_INFO", "/") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
        with self.lock:
            self.requests.append(Captured(path, headers, body, arrived))
            plan = self.plans.get(path)
            answer = plan.pop(0) if plan else Answer()
        if answer.hold is not None:
            answer.hold.wait(30)
        if answer.delay:
            time.sleep(answer.delay)
        payload = b'{"ok": true}'
        start_response(
            f"{answer.status} {_reason(answer.status)}",
            [
                *answer.headers.items(),
                ("content-type", "application/json"),
                ("content-length", str(len(payload))),
            ],
        )
        return [payload]

    def url(self, path: str = "/hook") -> str:
        return self.served.url(path)

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
        self.served.stop()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
