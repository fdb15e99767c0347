"""Structured logs: one JSON object a line, each with the request id.

The request id comes from an incoming ``X-Request-ID`` (a load balancer's)
or is made here, and is echoed in the response header so a person can quote
it. Credentials never reach a log line: a filter scrubs anything shaped like
an API key, a bearer token, or a secret-looking query parameter, as a last
line of defence behind code that never logs them in the first place.

A fault that repeats while it lasts (Redis or the database down) is logged
through ``Fault``: when it starts, in a summary at most every 30 s, and when
it clears, however many requests or loop turns meet it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Anything shaped like a credential, wherever it appears in a line.
_SECRETS = re.compile(
    r"(ct[orsw]?_[A-Za-z0-9_-]{8,})"  # API keys, OAuth and worker tokens, secrets
    r"|((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+"  # Authorization values
    r"|((?:access_token|refresh_token|client_secret|code|token|password|api_key|secret)=)[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group(2) or m.group(3) or "") + "[redacted]", text)


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` to records made during a request and scrubs
    credentials from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        if record.args:
            record.msg, record.args = record.getMessage(), None
        record.msg = redact(str(record.msg))
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line; tracebacks scrubbed like messages."""

    def __init__(self, fields: str = "{asctime}{levelname}{name}{message}", **renames):
        super().__init__(fields, style="{", rename_fields={"levelname": "level", "name": "logger", **renames})

    def formatException(self, ei) -> str:
        formatted = super().formatException(ei)  # a list only with exc_info_as_array, which the hub leaves off
        return redact(formatted if isinstance(formatted, str) else "\n".join(formatted))


class TextFormatter(logging.Formatter):
    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


class Fault:
    """The log of a fault that repeats while it lasts (Redis or the database
    down): a line when it starts, a summary at most every ``every`` seconds
    while it lasts, and a line when it clears, instead of a line (or a
    traceback) every time a loop or a request meets it. Thread-safe; one
    instance per kind of fault, per process.

        REDIS_DOWN = Fault(log, "Redis unavailable")
        try: ...; REDIS_DOWN.cleared()
        except redis.RedisError as error: REDIS_DOWN.happened("events left for the sweeper", error)
    """

    def __init__(self, logger: logging.Logger, name: str, every: float = 30.0, clock=time.monotonic):
        self.logger, self.name, self.every, self.clock = logger, name, every, clock
        self.lock = threading.Lock()
        self.since: float | None = None  # when it started; None while all is well
        self.count = 0  # occurrences since the last line
        self.total = 0
        self.logged_at = 0.0

    def happened(self, detail: str = "", error: BaseException | None = None, exc_info: bool = False) -> None:
        """One more occurrence. ``error`` is named; ``exc_info`` adds its
        traceback to the first line only."""
        what = f"{self.name} ({type(error).__name__})" if error is not None else self.name
        what += f": {detail}" if detail else ""
        with self.lock:
            now = self.clock()
            self.total += 1
            if self.since is None:
                self.since, self.logged_at, self.count = now, now, 0
                self.logger.warning("%s", what, exc_info=error if exc_info and error is not None else None)
                return
            self.count += 1
            if now - self.logged_at < self.every:
                return
            self.logger.warning(
                "%s; still failing after %.0f s, %d more time(s) in the last %.0f s",
                what,
                now - self.since,
                self.count,
                now - self.logged_at,
            )
            self.logged_at, self.count = now, 0

    def cleared(self) -> None:
        """It works again (cheap when it never failed)."""
        if self.since is None:
            return
        with self.lock:
            if self.since is None:
                return
            self.logger.warning(
                "%s: cleared after %.0f s (%d occurrence(s))", self.name, self.clock() - self.since, self.total
            )
            self.since, self.count, self.total = None, 0, 0

    @property
    def failing(self) -> bool:
        return self.since is not None


class FaultFilter(logging.Filter):
    """Routes a library's lines about a repeating fault (RQ's "could not
    connect to Redis instance ... retrying", every second or two) through
    ``fault`` instead of letting each one through."""

    def __init__(self, fault: Fault, contains: str):
        super().__init__()
        self.fault, self.contains = fault, contains

    def filter(self, record: logging.LogRecord) -> bool:
        if self.contains not in record.getMessage():
            return True
        self.fault.happened(self.contains)
        return False


class _HubHandler(logging.StreamHandler):
    """The handler ``configure`` installs, recognised when it is called again."""


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Send the root logger to stderr as JSON (or text), once per process."""
    root = logging.getLogger()
    if any(isinstance(h, _HubHandler) for h in root.handlers):
        return
    handler = _HubHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("hub").setLevel(level.upper())


def init_app(app: Flask) -> None:
    configure(app.config["HUB_LOG_LEVEL"], app.config["HUB_LOG_FORMAT"])

    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response
