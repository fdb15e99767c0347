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


def refuse_nul_characters() -> None:
    inputs = [request.view_args or {}, request.args.to_dict(flat=False)]
    if request.is_json:
        inputs.append(request.get_json(silent=True))
    elif request.form:
        inputs.append(request.form.to_dict(flat=False))
    for value in inputs:
        field = _first_nul(value, "")
        if field:
            raise ValidationFailed(field.split(".")[0], "Must not contain NUL (\\u0000) characters.")
