"""Reading marshmallow fields as plain types, and checking items against
output schemas (output schemas are for dumping, so ``load`` cannot check them).

Outputs may nest: an object with fields of its own (``fields.Nested(Schema)``),
a list of such objects (line items: ``fields.List(fields.Nested(Schema))`` or
``fields.Nested(Schema, many=True)``) and a list of plain values
(``fields.List(fields.String())``). A field whose kind marshmallow cannot
tell (``fields.Function``, ``fields.Raw``) says it with ``metadata={"type":
...}``, a JSON Schema type as apispec reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields

# The plain types a field is read as (``field_type``), the mapping a generator
# turns into its platform's own field types.
FIELD_TYPES = ("string", "integer", "number", "boolean", "datetime", "object", "items", "list")
# ``metadata["type"]`` spellings (JSON Schema's) that name one of them.
DECLARED = {"date-time": "datetime", "array": "list"}


def field_type(field: fields.Field[Any]) -> str:
    """One of ``FIELD_TYPES``: string, integer, number, boolean, datetime,
    object (``nested(field)`` gives its fields; None: a free-form object of
    names to values, such as a task's ``metadata``), items (a list of objects,
    a platform's line items: ``line_items(field)`` gives their fields), list
    (of plain values, each a ``list_of(field)``). A type declared in
    ``metadata`` that is none of these is returned as it is (``check_item``
    names it)."""
    if line_items(field) is not None:
        return "items"
    declared: str | None = field.metadata.get("type")
    if declared:
        return DECLARED.get(declared, declared)
    if isinstance(field, fields.DateTime):
        return "datetime"
    if isinstance(field, fields.Boolean):
        return "boolean"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.Number):
        return "number"
    if isinstance(field, (fields.Mapping, fields.Nested)):
        return "object"
    if isinstance(field, (fields.List, fields.Tuple)):
        return "list"
    return "string"


def _schema(field: fields.Nested) -> ma.Schema | None:
    schema = field.schema
    return schema if isinstance(schema, ma.Schema) else None


def line_items(field: fields.Field[Any]) -> ma.Schema | None:
    """The schema of each item of a list-of-objects field, else None."""
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and not field.inner.many:
        return _schema(field.inner)
    if isinstance(field, fields.Nested) and field.many:
        return _schema(field)
    return None


def nested(field: fields.Field[Any]) -> ma.Schema | None:
    """The schema of a one-object field (``fields.Nested(Schema)``), else None."""
    if isinstance(field, fields.Nested) and not field.many:
        return _schema(field)
    return None


def list_of(field: fields.Field[Any]) -> fields.Field[Any] | None:
    """The field of each value of a list of plain values, else None."""
    if isinstance(field, fields.List) and line_items(field) is None:
        return field.inner
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
    "list": lambda v: isinstance(v, list),
}


NOUNS = {"integer": "an integer", "object": "an object", "items": "a list of objects"}


def _name(schema: type[ma.Schema] | ma.Schema) -> str:
    return schema.__name__ if isinstance(schema, type) else type(schema).__name__


def check_item(schema: type[ma.Schema] | ma.Schema, item: Any) -> list[str]:
    """Problems with ``item`` as an output of ``schema``: not an object, no
    ``id``, keys the schema does not declare, values of the wrong type, at any
    depth (each named by its path, e.g. ``customer.address.city`` or
    ``lines[0].price``); and fields of a type no platform can show."""
    if not isinstance(item, dict):
        return [f"not an object: {item!r}"]
    problems = [] if isinstance(item.get("id"), str) and item["id"] else ["no string `id`"]
    return problems + _check_types(schema, "", ()) + _check_object(schema, item, "")


def _check_types(schema: type[ma.Schema] | ma.Schema, prefix: str, outer: tuple[str, ...]) -> list[str]:
    """Fields declaring a type that is not one of ``FIELD_TYPES``, at any
    depth (a schema nested in itself is looked at once)."""
    if _name(schema) in outer:
        return []
    problems: list[str] = []
    for key, field in (schema() if isinstance(schema, type) else schema).fields.items():
        kind = field_type(field)
        inner = list_of(field)
        if kind not in CHECKS:
            problems.append(f"`{prefix}{key}` declares type {kind!r}, not one of {', '.join(FIELD_TYPES)}")
        elif inner is not None and field_type(inner) not in CHECKS:
            problems.append(f"`{prefix}{key}` declares values of type {field_type(inner)!r}")
        elif (child := nested(field) or line_items(field)) is not None:
            problems += _check_types(child, f"{prefix}{key}.", (*outer, _name(schema)))
    return problems


def _check_object(schema: type[ma.Schema] | ma.Schema, item: dict[str, Any], prefix: str) -> list[str]:
    declared = (schema() if isinstance(schema, type) else schema).fields
    problems: list[str] = []
    for key, value in item.items():
        path = f"{prefix}{key}"
        field = declared.get(key)
        if field is None:
            problems.append(f"`{path}` is not declared in {_name(schema)}")
        else:
            problems += _check_value(field, value, path)
    return problems


def _check_value(field: fields.Field[Any], value: Any, path: str) -> list[str]:
    kind = field_type(field)
    if value is None:
        return [] if field.allow_none else [f"`{path}` is null"]
    if kind not in CHECKS:
        return []  # named once by _check_types
    if not CHECKS[kind](value):
        return [f"`{path}` is not {NOUNS.get(kind, 'a ' + kind)}: {value!r}"]
    if (schema := nested(field)) is not None:
        return _check_object(schema, value, f"{path}.")
    problems: list[str] = []
    if (each := line_items(field)) is not None:
        for index, line in enumerate(value):
            where = f"{path}[{index}]"
            problems += (
                _check_object(each, line, f"{where}.")
                if isinstance(line, dict)
                else [f"`{where}` is not an object: {line!r}"]
            )
    elif (inner := list_of(field)) is not None:
        for index, one in enumerate(value):
            problems += _check_value(inner, one, f"{path}[{index}]")
    return problems
