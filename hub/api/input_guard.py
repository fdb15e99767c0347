"""Check every request's input once, before authentication or a view sees it.

Each check turns input that would fail deep inside (a RecursionError, a
database driver refusing a string, a huge body read into memory) into a clear
JSON error, on every route alike:

- a body over HUB_MAX_REQUEST_BYTES: 413, before it is read (a body without
  Content-Length is read only up to the limit);
- a JSON body that does not parse: 400 saying where; one nested deeper than
  MAX_DEPTH: 400 (no input of the hub nests more than three levels; much
  deeper exhausts Python's recursion, in the parser or after it);
- text holding NUL (PostgreSQL text cannot store it) or a lone surrogate
  (UTF-8 cannot encode it; a JSON ``\\ud800`` escape makes one): 422 naming
  the field.

The parsed JSON stays cached on the request, where the views' parser
(``hub.api.base.Parser``) reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from hub.errors import InvalidJSON, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_DEPTH = 32
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL = "\x00"
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
TOO_DEEP = f"The body nests JSON arrays and objects deeper than the hub accepts ({MAX_DEPTH} levels)."
NUL_TEXT = "Must not contain NUL (\\u0000) characters."
SURROGATE_TEXT = "Must not contain a lone surrogate (\\ud800-\\udfff): text must be valid Unicode."

# Blueprints whose bodies may be larger than HUB_MAX_REQUEST_BYTES (by name).
_LARGER_BODIES: dict[str, int] = {}


def allow_larger_bodies(blueprint: str, limit: int) -> None:
    """Let one blueprint's routes take bodies up to ``limit`` bytes: the
    worker API reports outputs of up to a million characters, which JSON
    may escape to six bytes each."""
    _LARGER_BODIES[blueprint] = limit


def send_json(request: Request) -> UnsupportedMediaType:
    got = f"Content-Type: {request.mimetype}" if request.mimetype else "no Content-Type"
    return UnsupportedMediaType(
        f"This route takes a JSON body: send it with Content-Type: application/json (got {got})."
    )


class GuardedRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:  # asked for JSON of a request that is not JSON
            raise send_json(self)
        raise InvalidJSON(f"The body is not valid JSON: {_where(e, self.get_data(cache=True))}.")


def _where(error: ValueError, data: bytes) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - data.rfind(b"\n", 0, error.start)
        return f"byte {data[error.start]:#04x} is not UTF-8, at line {line}, column {column}"
    return str(error)  # e.g. a number of more than 4,300 digits


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the hub accepts ({limit:,} bytes).")


def has_body(request: Request) -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def guard_input() -> None:
    limit: int = current_app.config["MAX_CONTENT_LENGTH"]  # init_app sets it
    if request.blueprint in _LARGER_BODIES:
        limit = max(_LARGER_BODIES[request.blueprint], limit)
        request.max_content_length = limit
    if (request.content_length or 0) > limit:
        raise too_large(limit)
    _check_text(request.view_args or {})
    query = request.query_string
    if b"%00" in query or NUL.encode() in query:  # a decoded NUL comes from one of these
        _check_text(request.args.to_dict(flat=False))
    if not has_body(request):
        return
    body = request.get_data(cache=True)  # werkzeug reads a chunked body up to the limit, then stops without a word
    if request.content_length is None and len(body) >= limit:
        raise too_large(limit)
    if request.is_json:
        _check_text(_parsed_json())
    elif request.mimetype in FORM_TYPES:
        _check_text(_parsed_form())


def _parsed_json():
    try:
        return request.get_json()  # cached for the view
    except RecursionError:
        raise InvalidJSON(TOO_DEEP) from None


def _parsed_form() -> dict:
    try:
        return request.form.to_dict(flat=False)  # cached for the view
    except RequestEntityTooLarge:  # within the size limit: too many parts
        raise PayloadTooLarge(f"The form has more than {request.max_form_parts:,} parts.") from None


def _check_text(value: object) -> None:
    """Refuse the first bad string, naming its top-level field, or JSON
    nested deeper than MAX_DEPTH. Walks without recursion."""
    stack: list[tuple[object, str | None, int]] = [(value, None, 0)]  # (item, its top-level field, depth)
    bad: tuple[str, str] | None = None
    while stack:
        item, field, depth = stack.pop()
        if isinstance(item, str):
            bad = bad or _bad_text(item, field)
            continue
        items: Iterable[tuple[Any, Any]]
        if isinstance(item, dict):
            items = item.items()
        elif isinstance(item, list):
            items = enumerate(item)
        else:
            continue
        if depth >= MAX_DEPTH:
            raise InvalidJSON(TOO_DEEP)
        children = []
        for key, child in items:
            if bad is None and isinstance(key, str):
                bad = _bad_text(key, field)
            name = field if field is not None else (str(key) if isinstance(item, dict) else "body")
            children.append((child, name, depth + 1))
        stack.extend(reversed(children))  # in document order
    if bad:
        raise ValidationFailed(*bad)


def _bad_text(text: str, field: str | None) -> tuple[str, str] | None:
    found = BAD_TEXT.search(text)
    if found is None:
        return None
    return field or "body", NUL_TEXT if found.group() == NUL else SURROGATE_TEXT


def init_app(app: Flask) -> None:
    """Install the guard; call it before anything else adds a
    ``before_request`` (CSRF, rate limits), so the guard runs first."""
    limit = app.config["HUB_MAX_REQUEST_BYTES"]
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.config["MAX_FORM_MEMORY_SIZE"] = limit  # one limit: a single form field may use all of it
    app.request_class = GuardedRequest
    app.before_request(guard_input)
