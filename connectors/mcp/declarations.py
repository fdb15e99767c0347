"""The MCP connector: the hub's task operations as MCP tools (tools.py makes
each action and search a tool), served over Streamable HTTP at
``/connectors/mcp`` (server.py). Tool names are the operation keys and never
change: assistants' saved configurations name them."""

from __future__ import annotations

from pathlib import Path

from connectors.base import Action, Connector, Manifest, Search, docs, samples
from connectors.base.endpoint import Endpoint
from connectors.base.hub import CodebaseOutput, MessageInput, MessageOutput, TaskInput, TaskOutput
from connectors.mcp import operations as ops
from connectors.mcp import schemas as s
from connectors.mcp import server

PENDING = {
    **samples.TASK,
    "status": "pending",
    "result": None,
    "duration_seconds": None,
    "started_at": None,
    "completed_at": None,
}

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
        Action(
            key="create_task",
            noun="Task",
            label="Create Task",
            description="Gives an AI agent a new task: what to do (the prompt), and in which codebase. Answers the "
            "task at once, still pending; get_task shows its result when the agent is done.",
            input_schema=TaskInput,
            output_schema=TaskOutput,
            perform=ops.create_task,
            takes_scopes=True,  # it may carry a callback_url
            scope="tasks:write",
            sample=PENDING,
        ),
        Action(
            key="send_message",
            noun="Message",
            label="Send Message",
            description="Sends a message to an agent conversation, starting it if conversation_id is new or not "
            "given. Answers your message; its task_id is the task whose reply follows.",
            input_schema=MessageInput,
            output_schema=MessageOutput,
            perform=ops.send_message,
            takes_scopes=True,  # it may carry a callback_url
            scope="messages:write",
            sample={
                "id": "msg_9q8w7e6r5t4y3u2i",
                "message_id": "msg_9q8w7e6r5t4y3u2i",
                "conversation_id": "1701234567.000200",
                "codebase_id": "global",
                "conversation_external_id": None,
                "role": "user",
                "content": "Summarise what changed in the repo this week.",
                "task_id": "task_9z8x7c6v5b4n3m2l",
                "created_at": "2026-01-15T09:00:00.000Z",
            },
        ),
        Action(
            key="cancel_task",
            noun="Task",
            label="Cancel Task",
            description="Stops a task that is waiting or running (its agent is stopped). A cancelled task answers as "
            "it is; a completed or failed one cannot be cancelled.",
            input_schema=s.TaskId,
            output_schema=TaskOutput,
            perform=ops.cancel_task,
            scope="tasks:write",
            creates=False,
            destructive=True,
            idempotent=True,
            sample={**PENDING, "status": "cancelled", "cancelled_at": "2026-01-15T09:01:00.000Z"},
        ),
        Action(
            key="get_task",
            noun="Task",
            label="Get Task",
            description="One of your tasks by its ID: its status and, once the agent is done, its result (or error).",
            input_schema=s.TaskId,
            output_schema=TaskOutput,
            perform=ops.get_task,
            scope="tasks:read",
            creates=False,
            read_only=True,
            idempotent=True,
            sample=samples.TASK,
        ),
    ),
    searches=(
        Search(
            key="find_task",
            noun="Task",
            label="Find Task",
            description="The newest of your tasks matching every filter given (e.g. its external_id), or none.",
            input_schema=s.TaskFilters,
            output_schema=TaskOutput,
            perform=ops.find_task,
            scope="tasks:read",
            sample=samples.TASK,
        ),
        Search(
            key="find_tasks",
            noun="Task",
            label="Find Tasks",
            description="Your tasks matching every filter given, newest first, e.g. those completed since yesterday.",
            input_schema=s.TaskSearch,
            output_schema=TaskOutput,
            perform=ops.find_tasks,
            scope="tasks:read",
            sample=samples.TASK,
        ),
        Search(
            key="list_codebases",
            noun="Codebase",
            label="List Codebases",
            description="Your codebases (`global` first): a task's codebase_id is one of their IDs.",
            input_schema=s.CodebaseList,
            output_schema=CodebaseOutput,
            perform=ops.list_codebases,
            scope="codebases:read",
            sample={
                "id": "global",
                "codebase_id": "global",
                "name": "Global",
                "path": None,
                "description": "Tasks that name no codebase",
                "created_at": "2026-01-15T09:00:00.000Z",
            },
        ),
    ),
)
