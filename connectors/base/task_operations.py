"""The hub's task operations, declared once for every connector.

Each function answers one operation's declaration with what it is and does: its key (platforms
save it, so it never changes), noun, label, scope, output, flags and ``perform`` through
``connectors.base.hub``. A connector takes the ones it offers and gives them its platform's
presentation: the description, the input schema (its fields' labels, dropdowns and help) and
the sample, where its own differ from the defaults::

    actions=(task_operations.create_task(), task_operations.cancel_task(input_schema=TaskToCancel))
"""

from __future__ import annotations

from functools import partial
from typing import Any

import marshmallow as ma

from connectors.base import hub, samples
from connectors.base.declarations import Action, Search

Sample = dict[str, Any]

# A task just created, as the API answers it.
PENDING_TASK: Sample = {
    **samples.TASK,
    "status": "pending",
    "result": None,
    "duration_seconds": None,
    "started_at": None,
    "completed_at": None,
}
SENT_MESSAGE: Sample = {
    "id": "msg_9q8w7e6r5t4y3u2i",
    "message_id": "msg_9q8w7e6r5t4y3u2i",
    "conversation_id": "1701234567.000200",
    "codebase_id": "global",
    "conversation_external_id": None,
    "role": "user",
    "content": "Summarise what changed in the repo this week.",
    "task_id": "task_9z8x7c6v5b4n3m2l",
    "created_at": "2026-01-15T09:00:00.000Z",
}
CODEBASE: Sample = {
    "id": "global",
    "codebase_id": "global",
    "name": "Global",
    "path": None,
    "description": "Tasks that name no codebase",
    "created_at": "2026-01-15T09:00:00.000Z",
}
CANCELLED_TASK: Sample = {**PENDING_TASK, "status": "cancelled", "cancelled_at": "2026-01-15T09:01:00.000Z"}
FIND_MAX = 100  # the most tasks a search answers: the API's page limit


def _create_task(user: hub.User, **fields: Any) -> hub.Task:
    return hub.create_task(user, **fields)


def _send_message(user: hub.User, **fields: Any) -> hub.Message:
    return hub.send_message(user, **fields)


def _cancel_task(user: hub.User, *, task_id: str) -> hub.Task:
    return hub.cancel_task(user, task_id)


def _get_task(user: hub.User, *, task_id: str) -> hub.Task:
    return hub.get_task(user, task_id)


def _find_tasks(user: hub.User, *, limit: int, **filters: Any) -> list[hub.Task]:
    """Matching tasks, newest first (None is a filter not set). With a task id:
    that task, if it also matches the other filters."""
    return hub.list_tasks(user, limit=limit, **filters).items


def _list_codebases(user: hub.User, *, limit: int) -> list[hub.Codebase]:
    return hub.list_codebases(user, limit=limit).items


def create_task(
    *,
    description: str = "Gives an AI agent a new task: what to do, and in which codebase.",
    input_schema: type[ma.Schema] = hub.TaskInput,
    sample: Sample = PENDING_TASK,
) -> Action:
    return Action(
        key="create_task",
        noun="Task",
        label="Create Task",
        description=description,
        input_schema=input_schema,
        output_schema=hub.TaskOutput,
        perform=_create_task,
        takes_scopes=True,  # it may carry a callback_url
        scope="tasks:write",
        sample=sample,
    )


def send_message(
    *,
    description: str = "Sends a message to an agent conversation, starting it if it is new.",
    input_schema: type[ma.Schema] = hub.MessageInput,
    sample: Sample = SENT_MESSAGE,
) -> Action:
    return Action(
        key="send_message",
        noun="Message",
        label="Send Message",
        description=description,
        input_schema=input_schema,
        output_schema=hub.MessageOutput,
        perform=_send_message,
        takes_scopes=True,  # it may carry a callback_url
        scope="messages:write",
        sample=sample,
    )


def cancel_task(
    *,
    input_schema: type[ma.Schema],  # a required task_id
    description: str = "Stops a task that is waiting or running.",
    sample: Sample = CANCELLED_TASK,
) -> Action:
    return Action(
        key="cancel_task",
        noun="Task",
        label="Cancel Task",
        description=description,
        input_schema=input_schema,
        output_schema=hub.TaskOutput,
        perform=_cancel_task,
        scope="tasks:write",
        creates=False,
        destructive=True,  # its agent is stopped
        idempotent=True,  # a cancelled task answers as it is
        sample=sample,
    )


def get_task(
    *,
    input_schema: type[ma.Schema],  # a required task_id
    description: str = "One of your tasks by its ID: its status and, once the agent is done, its result (or error).",
    sample: Sample = samples.TASK,
) -> Action:
    return Action(
        key="get_task",
        noun="Task",
        label="Get Task",
        description=description,
        input_schema=input_schema,
        output_schema=hub.TaskOutput,
        perform=_get_task,
        scope="tasks:read",
        creates=False,
        read_only=True,
        idempotent=True,
        sample=sample,
    )


def find_task(
    *,
    input_schema: type[ma.Schema],  # optional filters, each named after a list_tasks filter
    description: str,
    most: int = FIND_MAX,  # 1: the newest match alone
    sample: Sample = samples.TASK,
) -> Search:
    return Search(
        key="find_task",
        noun="Task",
        label="Find Task",
        description=description,
        input_schema=input_schema,
        output_schema=hub.TaskOutput,
        perform=partial(_find_tasks, limit=most),
        scope="tasks:read",
        sample=sample,
    )


def find_tasks(
    *,
    input_schema: type[ma.Schema],  # find_task's filters and a `limit`
    description: str = "Your tasks matching every filter given, newest first, e.g. those completed since yesterday.",
    sample: Sample = samples.TASK,
) -> Search:
    return Search(
        key="find_tasks",
        noun="Task",
        label="Find Tasks",
        description=description,
        input_schema=input_schema,
        output_schema=hub.TaskOutput,
        perform=_find_tasks,
        scope="tasks:read",
        sample=sample,
    )


def list_codebases(
    *,
    input_schema: type[ma.Schema],  # a `limit`
    description: str = "Your codebases (`global` first): a task's codebase_id is one of their IDs.",
    sample: Sample = CODEBASE,
) -> Search:
    return Search(
        key="list_codebases",
        noun="Codebase",
        label="List Codebases",
        description=description,
        input_schema=input_schema,
        output_schema=hub.CodebaseOutput,
        perform=_list_codebases,
        scope="codebases:read",
        sample=sample,
    )
