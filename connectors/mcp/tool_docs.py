"""The tool list of docs/mcp.md, written from the declarations (the very
tools ``tools/list`` shows), so the guide cannot drift from the tools:

    .venv/bin/python -m connectors.mcp.tool_docs docs/mcp.md connectors/mcp/README.md

rewrites the part between the two markers in each; tests/connectors/mcp/test_mcp_docs.py
fails when it differs from what this writes.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from connectors.base.declarations import Connector
from connectors.mcp import connector as mcp_connector
from connectors.mcp import tools

START = (
    "<!-- tools: written from the declarations by "
    "`.venv/bin/python -m connectors.mcp.tool_docs docs/mcp.md connectors/mcp/README.md`; do not edit -->"
)
END = "<!-- /tools -->"
HINTS = (("readOnlyHint", "read-only"), ("destructiveHint", "destructive"), ("idempotentHint", "idempotent"))


def listing(connector: Connector = mcp_connector) -> list[dict[str, Any]]:
    """The tools as ``tools/list`` serves them: the declarations' tools,
    with the task support connectors/mcp/tasks.py declares for its tools."""
    listed = tools.tool_list(connector)
    if find_spec("connectors.mcp.tasks") is not None:
        from connectors.mcp.tasks import TASK_TOOLS

        for tool in listed:
            if tool["name"] in TASK_TOOLS:
                tool["execution"] = {"taskSupport": "optional"}
    return listed


def markdown(connector: Connector = mcp_connector) -> str:
    """Every tool: a summary table, then each one's arguments."""
    listed = listing(connector)
    lines = ["| Tool | What it does | Scope | Hints |", "| --- | --- | --- | --- |"]
    for tool in listed:
        scope = tools.operation(connector, tool["name"]).scope
        lines.append(f"| [`{tool['name']}`](#{tool['name']}) | {tool['title']} | `{scope}` | {_hints(tool)} |")
    for tool in listed:
        lines += ["", f"### {tool['name']}", "", _cell(tool["description"]), ""]
        lines += _arguments(tool["inputSchema"])
    return "\n".join(lines)


def _hints(tool: dict[str, Any]) -> str:
    annotations = tool.get("annotations", {})
    hints = [word for key, word in HINTS if annotations.get(key)]
    support = tool.get("execution", {}).get("taskSupport")
    if support and support != "forbidden":
        hints.append(f"task-augmented calls: {support}")
    return ", ".join(hints) or "—"


def _arguments(schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    if not properties:
        return ["No arguments."]
    required = set(schema.get("required", ()))
    rows = ["| Argument | Type | What |", "| --- | --- | --- |"]
    for name, spec in properties.items():
        mark = " (required)" if name in required else ""
        rows.append(f"| `{name}`{mark} | {_type(spec)} | {_cell(spec.get('description', ''))} |")
    return rows


def _type(spec: dict[str, Any]) -> str:
    kinds = spec.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]
    text = " or ".join(kinds)
    if "format" in spec:
        text += f" ({spec['format']})"
    if "enum" in spec:
        text = "one of " + ", ".join(f"`{v}`" for v in spec["enum"] if v is not None)
    if spec.get("default") not in (None, {}, []):
        text += f", default `{spec['default']}`"
    return text


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def rewrite(text: str, connector: Connector = mcp_connector) -> str:
    """``text`` with the part between the markers written anew."""
    head, _, rest = text.partition(START)
    _, found, tail = rest.partition(END)
    if not found:
        raise ValueError(f"the markers {START!r} and {END!r} are missing")
    return f"{head}{START}\n{markdown(connector)}\n{END}{tail}"


if __name__ == "__main__":
    for path in map(Path, sys.argv[1:] or ["docs/mcp.md", "connectors/mcp/README.md"]):
        path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
