"""Structured logs: one JSON object a line, each with the request id.

The request id comes from an incoming ``X-Request-ID`` (a load balancer's)
or is made here, and is echoed in the response header so a person can quote
it. Credentials never reach a log line: a filter scrubs anything shaped like
an API key, a bearer token, or a secret-looking query parameter, as a last
line of defence behind code that never logs them in the first place.
"""
from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Anything shaped like a credential, wherever it appears in a line.
_SECRETS = re.compile(
    r"(ct[orsw]?_[A-Za-z0-9_-]{8,})"                            # API keys, OAuth and worker tokens, secrets
    r"|((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+"               # Authorization values
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
        return redact(super().formatException(ei))


class TextFormatter(logging.Formatter):
    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Send the root logger to stderr as JSON (or text), once per process."""
    root = logging.getLogger()
    if any(getattr(h, "_hub", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._hub = True
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
