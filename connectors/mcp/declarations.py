"""The MCP connector: the hub's task operations (connectors.base.task_operations,
with descriptions written for a model) as MCP tools (tools.py makes each action and
search a tool), served over Streamable HTTP at ``/connectors/mcp`` (server.py). Tool
names are the operation keys and never change: assistants' saved configurations name them."""

from __future__ import annotations

from pathlib import Path

from connectors.base import Connector, Manifest, docs, task_operations
from connectors.base.endpoint import Endpoint
from connectors.mcp import schemas as s
from connectors.mcp import server

connector = Connector(
    manifest=Manifest(
        key="mcp",
        name="MCP",
        version="1.0.0",
        scopes=("tasks:read", "tasks:write", "messages:write", "codebases:read"),
        docs_url=docs.docs_url("mcp"),  # README.md beside this file, served by the hub
        description="CodeTether tasks as tools for AI assistants and IDEs (Model Context Protocol, Streamable HTTP "
        "at /connectors/mcp).",
    ),
    extra_routes=docs.readme_route(Path(__file__).with_name("README.md")),
    endpoint=Endpoint(
        build=server.build,
        scope_for=server.scope_for,
        refusal=server.refusal,
        description="The MCP endpoint (Streamable HTTP): JSON-RPC requests by POST, the server's stream by GET, "
        "the end of a session by DELETE. Each tool needs the scope its REST route needs.",
    ),
    actions=(
        task_operations.create_task(
            description="Gives an AI agent a new task: what to do (the prompt), and in which codebase. Answers the "
            "task at once, still pending; get_task shows its result when the agent is done."
        ),
        task_operations.send_message(
            description="Sends a message to an agent conversation, starting it if conversation_id is new or not "
            "given. Answers your message; its task_id is the task whose reply follows."
        ),
        task_operations.cancel_task(
            input_schema=s.TaskId,
            description="Stops a task that is waiting or running (its agent is stopped). A cancelled task answers as "
            "it is; a completed or failed one cannot be cancelled.",
        ),
        task_operations.get_task(input_schema=s.TaskId),
    ),
    searches=(
        task_operations.find_task(
            input_schema=s.TaskFilters,
            description="The newest of your tasks matching every filter given (e.g. its external_id), or none.",
            most=1,
        ),
        task_operations.find_tasks(input_schema=s.TaskSearch),
        task_operations.list_codebases(input_schema=s.CodebaseList),
    ),
)
