"""Marshmallow schemas as JSON Schema, for platforms that describe inputs and
outputs in it (MCP tools' ``inputSchema``/``outputSchema``, an OpenAPI
action). apispec's converter does the work: flask-smorest already uses it
for /openapi.json, so a field reads the same in both (types, lengths,
choices, defaults, ``null``), and the hub keeps no second converter.

Nested schemas are written inline (JSON Schema with no ``$ref``s), since a
platform reads one schema at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

__all__ = ["json_schema"]

# OpenAPI 3.1's schema object is JSON Schema 2020-12 (e.g. `"type": ["string", "null"]`).
# A resolver answering None writes the schema inline, never as a $ref (apispec's docs; its annotation says str).
_inline = cast(Callable[[type[ma.Schema]], str], lambda schema: None)
_plugin = MarshmallowPlugin(schema_name_resolver=_inline)
APISpec("connector", "1", "3.1.0", plugins=[_plugin])

# The flags apispec marks the other direction's fields with.
_OTHER_WAY = {"load": "readOnly", "dump": "writeOnly"}


def json_schema(schema: type[ma.Schema] | ma.Schema, direction: Literal["load", "dump"] = "load") -> dict[str, Any]:
    """``schema`` as a JSON Schema object: what it loads (an input) or what
    it dumps (an output; no ``required``, no ``additionalProperties: false``,
    as an output may grow keys)."""
    converter: Any = _plugin.converter  # set by APISpec above; apispec's converter has no type information
    found: dict[str, Any] = converter.schema2jsonschema(schema)
    found = _drop(found, _OTHER_WAY[direction])
    if direction == "dump":
        found.pop("required", None)
        found.pop("additionalProperties", None)
    return found


def _drop(found: dict[str, Any], flag: str) -> dict[str, Any]:
    """The properties without those flagged ``flag``, at every depth."""
    properties = found.get("properties")
    if isinstance(properties, dict):
        kept = {name: _drop(prop, flag) for name, prop in properties.items() if not prop.get(flag)}
        found = {**found, "properties": kept}
        if "required" in found:
            found["required"] = [name for name in found["required"] if name in kept]
    items = found.get("items")
    if isinstance(items, dict):
        found = {**found, "items": _drop(items, flag)}
    return found
