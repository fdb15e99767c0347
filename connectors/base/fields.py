"""Reading marshmallow fields as plain types, and checking items against
output schemas (output schemas are for dumping, so ``load`` cannot check them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields


def field_type(field: fields.Field[Any]) -> str:
    """One of string, integer, number, boolean, datetime, object (a flat
    object of names to text, such as a task's ``metadata``), items (a list of
    objects: ``fields.List(fields.Nested(Schema))``, a platform's line items)."""
    if line_items(field) is not None:
        return "items"
    declared: str | None = field.metadata.get("type")
    if declared:
        return {"date-time": "datetime"}.get(declared, declared)
    if isinstance(field, fields.DateTime):
        return "datetime"
    if isinstance(field, fields.Boolean):
        return "boolean"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.Number):
        return "number"
    if isinstance(field, fields.Mapping):
        return "object"
    return "string"


def line_items(field: fields.Field[Any]) -> ma.Schema | None:
    """The schema of each item of a list-of-objects field, else None."""
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        schema = field.inner.schema
        return schema if isinstance(schema, ma.Schema) else None
    return None


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


CHECKS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "datetime": _is_datetime,
    "object": lambda v: isinstance(v, dict),
    "items": lambda v: isinstance(v, list),
}


def check_item(schema: type[ma.Schema] | ma.Schema, item: Any) -> list[str]:
    """Problems with ``item`` as an output of ``schema``: not an object, no
    ``id``, keys the schema does not declare, values of the wrong type."""
    if not isinstance(item, dict):
        return [f"not an object: {item!r}"]
    declared = (schema() if isinstance(schema, type) else schema).fields
    name = schema.__name__ if isinstance(schema, type) else type(schema).__name__
    problems: list[str] = []
    if not isinstance(item.get("id"), str) or not item["id"]:
        problems.append("no string `id`")
    for key, value in item.items():
        field = declared.get(key)
        if field is None:
            problems.append(f"`{key}` is not declared in {name}")
        elif value is None:
            if not field.allow_none:
                problems.append(f"`{key}` is null")
        elif not CHECKS[field_type(field)](value):
            problems.append(f"`{key}` is not a {field_type(field)}: {value!r}")
        elif (each := line_items(field)) is not None:
            problems += [f"`{key}`: {p}" for item in value for p in check_item(each, item)]
    return problems
