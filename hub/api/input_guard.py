"""Refuse NUL characters in any input, before a view sees it.

PostgreSQL text cannot hold U+0000 (the driver raises, which would be a 500);
SQLite can. Checking every request once keeps both databases alike and gives
the 422 naming the field that every other bad input gets.
"""
from __future__ import annotations

from flask import request

from hub.errors import ValidationFailed

NUL = "\x00"


def _first_nul(value, path: str) -> str | None:
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and NUL in key:
            return path or "body"
        found = _first_nul(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_characters() -> None:
    inputs = [request.view_args or {}]
    query = request.query_string
    if b"%00" in query or NUL.encode() in query:  # a decoded NUL comes from one of these
        inputs.append(request.args.to_dict(flat=False))
    if request.is_json:
        inputs.append(request.get_json(silent=True))
    elif request.mimetype in FORM_TYPES:
        inputs.append(request.form.to_dict(flat=False))
    for value in inputs:
        field = _first_nul(value, "")
        if field:
            raise ValidationFailed(field.split(".")[0], "Must not contain NUL (\\u0000) characters.")
