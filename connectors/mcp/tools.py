"""The connector's actions and searches as MCP tools: each tool's
description, JSON Schemas and annotations come from its declaration (the
same marshmallow schemas as its REST route), and a call runs the same
``perform`` with the same validation, scope and errors.

A search answers a list, and MCP's ``structuredContent`` is an object: its
tool answers ``{"items": [...]}``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import marshmallow as ma
import mcp_types as types

from connectors.base import hub
from connectors.base.declarations import Action, Connector, Search
from connectors.base.endpoint import Bridge, Caller
from connectors.base.jsonschema import json_schema

__all__ = ["ITEMS", "Unknown", "call", "error", "operation", "result", "tool", "tool_list", "tool_operations"]

ITEMS = "items"  # a search tool's list, in its structured result

Tool = Action | Search


class Unknown(LookupError):
    """No tool of that name."""


def tool_list(connector: Connector) -> list[dict[str, Any]]:
    """Every tool, as ``tools/list`` shows it (MCP's JSON: ``inputSchema``, ...)."""
    return [tool(op).model_dump(by_alias=True, exclude_none=True, mode="json") for op in tool_operations(connector)]


def tool_operations(connector: Connector) -> tuple[Tool, ...]:
    """Its actions and searches: each is a tool (triggers are events, not tools)."""
    return (*connector.actions, *connector.searches)


def operation(connector: Connector, name: str) -> Tool:
    for op in tool_operations(connector):
        if op.key == name:
            return op
    raise Unknown(name)


def tool(op: Tool) -> types.Tool:
    searching = isinstance(op, Search)
    output = json_schema(op.output_schema, "dump")
    if searching:
        output = {"type": "object", "properties": {ITEMS: {"type": "array", "items": output}}, "required": [ITEMS]}
    read_only = searching or (isinstance(op, Action) and op.read_only)
    return types.Tool(
        name=op.key,
        title=op.label,
        description=f"{op.description} Needs the `{op.scope}` scope.",
        input_schema=json_schema(op.input_schema, "load"),
        output_schema=output,
        annotations=types.ToolAnnotations(
            title=op.label,
            read_only_hint=read_only,
            # MCP reads these two only when a tool is not read-only.
            destructive_hint=None if read_only else isinstance(op, Action) and op.destructive,
            idempotent_hint=None if read_only else isinstance(op, Action) and op.idempotent,
            open_world_hint=False,  # it acts on the hub's tasks alone
        ),
    )


async def call(bridge: Bridge, who: Caller, op: Tool, arguments: dict[str, Any]) -> types.CallToolResult:
    """Run the tool for the caller. Refusals the model can act on (a field,
    a scope, a task not found, a limit) are tool errors (``isError``), as MCP
    asks, so the assistant sees them; nothing is changed then."""
    if op.scope not in who.scopes:  # the endpoint refused it already (403); here for batched or forwarded calls
        return error(f"This token lacks the '{op.scope}' scope.")
    try:
        answer = await bridge.call(who, _perform, op, arguments, who.scopes)
    except ma.ValidationError as bad:
        return error("Invalid arguments: " + _fields(bad.messages))
    except hub.HubError as refused:  # its code as the REST API's error body has it, e.g. not_found
        return error(f"{refused.code}: {refused.message}")
    return result(answer)


def _perform(user: hub.User, op: Tool, arguments: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
    given = _schema(op.input_schema).load(arguments)  # raises ma.ValidationError naming each field
    if isinstance(op, Search):
        return {ITEMS: _schema(op.output_schema, many=True).dump(op.perform(user, **given))}
    if op.takes_scopes:
        given["scopes"] = scopes
    dumped: dict[str, Any] = _schema(op.output_schema).dump(op.perform(user, **given))
    return dumped


@cache
def _schema(schema: type[ma.Schema], *, many: bool = False) -> ma.Schema:
    """One instance of each schema, shared by every call as a REST route's
    is: making one costs more than a small load or dump."""
    return schema(many=many)


def _fields(messages: Any, prefix: str = "") -> str:
    if not isinstance(messages, dict):
        return f"{prefix}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
    return "; ".join(_fields(value, f"{prefix}.{key}" if prefix else str(key)) for key, value in messages.items())


def result(structured: dict[str, Any]) -> types.CallToolResult:
    """A tool's answer: the structured object, and the same as JSON text for
    clients that read only ``content``."""
    text = json.dumps(structured, ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=structured)


def error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)
