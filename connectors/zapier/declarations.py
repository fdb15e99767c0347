"""The Zapier connector: its manifest and every trigger, action and search.

Keys are fixed (Zaps refer to them): triggers new_task, task_completed,
task_failed (the seed's), task_started, task_cancelled, task_needs_input, new_message; creates
create_task, send_message, cancel_task, create_task_and_wait and
send_message_and_wait (these two wait for the agent's result); searches find_task, find_tasks (a
digest); find_task's search-or-create makes a create_task when it finds
none. Two hidden triggers fill the dropdowns. create_task, send_message,
cancel_task and find_task are the hub's task operations (connectors.base.task_operations)
with Zapier's inputs and samples.
"""

from __future__ import annotations

import marshmallow as ma

from connectors.base import (
    Action,
    Connector,
    Manifest,
    Search,
    SearchOrCreate,
    Trigger,
    choices,
    samples,
    task_operations,
)
from connectors.base.hub import MessageOutput, TaskOutput
from connectors.zapier import digest, resume
from connectors.zapier import operations as ops
from connectors.zapier import schemas as s
from connectors.zapier.routes import add_routes, setup

DOCS_URL = "/connectors/zapier/docs"  # served by the hub from README.md beside this file

TASK_SAMPLE = samples.TASK  # a task as the API gives it


def task_context(task: dict, *extra: str) -> dict:
    """A task trigger's fields beyond the seed's, from a sample task."""
    keys = (*extra, "url", "conversation_id", "external_id", "metadata", "codebase_id", "agent_type")
    return {key: task[key] for key in keys}


def task_trigger(
    *, key: str, label: str, description: str, event: str, output_schema: type[ma.Schema], sample: dict
) -> Trigger:
    """A trigger on a task event: the task's fields, flat; a Zap may filter by codebase and agent type."""
    return Trigger(
        key=key,
        noun="Task",
        label=label,
        description=description,
        event=event,
        formatter=ops.flatten,
        scope="tasks:read",
        output_schema=output_schema,
        input_schema=s.TaskTriggerInput,
        sample=sample,
    )


connector = Connector(
    manifest=Manifest(
        key="zapier",
        name="Zapier",
        version="1.0.0",
        scopes=("tasks:read", "tasks:write", "messages:write", "codebases:read", "messages:read"),
        docs_url=DOCS_URL,
        description="Triggers, actions and searches for Zaps, and the generated Zapier app.",
    ),
    extra_routes=add_routes,
    setup=setup,
    triggers=(
        task_trigger(
            key="new_task",
            label="New Task",
            description="Triggers when a new task is created in CodeTether.",
            event="task.created",
            output_schema=s.NewTaskOutput,
            sample={
                "id": "evt_3n4m5b6v7c8x9z0a",
                "task_id": "task_8f2k3j4h5g6d7s8a",
                "title": "Fix the login bug",
                "status": "pending",
                "codebase_id": "global",
                "created_at": "2026-01-15T09:00:00.000Z",
                "agent_type": "build",
                **task_context(TASK_SAMPLE, "prompt"),
            },
        ),
        task_trigger(
            key="task_started",
            label="Task Started",
            description="Triggers when an AI agent starts working on a task.",
            event="task.started",
            output_schema=s.TaskStartedOutput,
            sample={
                "id": "evt_6z7x8c9v0b1n2m3q",
                "task_id": "task_8f2k3j4h5g6d7s8a",
                "title": "Fix the login bug",
                "started_at": "2026-01-15T09:00:01.500Z",
                **task_context(TASK_SAMPLE),
            },
        ),
        task_trigger(
            key="task_completed",
            label="Task Completed",
            description="Triggers when an AI agent finishes a task successfully.",
            event="task.completed",
            output_schema=s.TaskCompletedOutput,
            sample={
                "id": "evt_4p5o6i7u8y9t0r1e",
                "task_id": "task_8f2k3j4h5g6d7s8a",
                "title": "Fix the login bug",
                "result": "Fixed a missing null check in login.py; tests pass.",
                "duration_seconds": 142.5,
                "completed_at": "2026-01-15T09:02:24.000Z",
                **task_context(TASK_SAMPLE),
            },
        ),
        task_trigger(
            key="task_failed",
            label="Task Failed",
            description="Triggers when a task fails (after its retries, if any).",
            event="task.failed",
            output_schema=s.TaskFailedOutput,
            sample={
                "id": "evt_5a6s7d8f9g0h1j2k",
                "task_id": "task_8f2k3j4h5g6d7s8a",
                "error": "The agent could not reach the repository.",
                "retry_count": 3,
                "failed_at": "2026-01-15T09:10:00.000Z",
                **task_context(TASK_SAMPLE, "title", "prompt"),
            },
        ),
        task_trigger(
            key="task_cancelled",
            label="Task Cancelled",
            description="Triggers when a task is cancelled before it finished.",
            event="task.cancelled",
            output_schema=s.TaskCancelledOutput,
            sample={
                "id": "evt_7w8e9r0t1y2u3i4o",
                "task_id": "task_8f2k3j4h5g6d7s8a",
                "title": "Fix the login bug",
                "cancelled_at": "2026-01-15T09:01:00.000Z",
                **task_context(TASK_SAMPLE),
            },
        ),
        task_trigger(
            key="task_needs_input",
            label="Task Needs Input",
            description="Triggers when an AI agent stops to ask you a question; answer with Send Message to its "
            "conversation and the same task carries on.",
            event="task.input_required",
            output_schema=s.TaskNeedsInputOutput,
            sample={
                "id": "evt_2b3n4m5q6w7e8r9t",
                "task_id": "task_8f2k3j4h5g6d7s8a",
                "title": "Fix the login bug",
                "question": "Should the fix go to main or to the release branch?",
                "question_message_id": "msg_5t6y7u8i9o0p1a2s",
                **task_context(TASK_SAMPLE),
                "conversation_id": "conv_7h8j9k0l1z2x3c4v",
            },
        ),
        Trigger(
            key="new_message",
            noun="Message",
            label="New Message",
            description="Triggers when an AI agent replies in a conversation (not on your own messages).",
            event="message.created",
            formatter=ops.flatten,
            scope="messages:read",
            output_schema=s.NewMessageOutput,
            match=(("role", "assistant"),),  # the agent's replies: its hook never gets the user's messages
            sample={
                "id": "evt_8q9w0e1r2t3y4u5i",
                "message_id": "msg_1a2s3d4f5g6h7j8k",
                "conversation_id": "1701234567.000200",
                "content": "This week: the login fix (#42) and faster CI; all tests pass.",
                "task_id": "task_9z8x7c6v5b4n3m2l",
                "created_at": "2026-01-15T09:03:10.000Z",
                "conversation_external_id": "slack:C024BE91L:1701234567.000200",
            },
        ),
        Trigger(
            key="codebase_choices",
            noun="Codebase",
            label="List Codebases",
            description="Your codebases, for the Codebase dropdown.",
            hidden=True,
            list=choices.codebase_choices,
            scope="codebases:read",
            output_schema=choices.CodebaseChoice,
            label_field="name",
            sample={"id": "global", "name": "Global"},
        ),
        Trigger(
            key="cancellable_task_choices",
            noun="Task",
            label="List Cancellable Tasks",
            description="Your waiting and running tasks, newest first, for the Task dropdown.",
            hidden=True,
            list=choices.cancellable_task_choices,
            scope="tasks:read",
            output_schema=choices.TaskChoice,
            label_field="label",
            sample={
                "id": "task_8f2k3j4h5g6d7s8a",
                "title": "Fix the login bug",
                "status": "running",
                "label": "Fix the login bug (running)",
            },
        ),
    ),
    actions=(
        task_operations.create_task(input_schema=s.CreateTaskInput),
        task_operations.send_message(
            input_schema=s.SendMessageInput,
            sample={
                **task_operations.SENT_MESSAGE,
                "conversation_external_id": "1701234567.000200",
                "task_id": None,
            },
        ),
        Action(
            key="create_task_and_wait",
            noun="Task",
            label="Run Task and Wait for Result",
            description="Gives an AI agent a task and waits until it is done: the next steps get its result. "
            "The step fails with the agent's error if the task fails or is cancelled.",
            input_schema=resume.CreateTaskAndWaitInput,
            output_schema=TaskOutput,
            perform=resume.create_task_and_wait,
            takes_scopes=True,  # it may carry a callback_url
            scope="tasks:write",
            sample=TASK_SAMPLE,
        ),
        Action(
            key="send_message_and_wait",
            noun="Message",
            label="Send Message and Wait for Reply",
            description="Sends a message to an agent conversation and waits for the agent's reply, for the next "
            "steps (e.g. to post it in the Slack thread).",
            input_schema=resume.SendMessageAndWaitInput,
            output_schema=MessageOutput,
            perform=resume.send_message_and_wait,
            takes_scopes=True,  # it may carry a callback_url
            scope="messages:write",
            sample={
                "id": "msg_2w3e4r5t6y7u8i9o",
                "message_id": "msg_2w3e4r5t6y7u8i9o",
                "conversation_id": "1701234567.000200",
                "codebase_id": "global",
                "conversation_external_id": "1701234567.000200",
                "role": "assistant",
                "content": "This week: the login fix (#42) and faster CI; all tests pass.",
                "task_id": "task_9z8x7c6v5b4n3m2l",
                "created_at": "2026-01-15T09:03:10.000Z",
            },
        ),
        task_operations.cancel_task(
            input_schema=s.CancelTaskInput,
            sample={
                **TASK_SAMPLE,
                "status": "cancelled",
                "result": None,
                "duration_seconds": None,
                "completed_at": None,
                "cancelled_at": "2026-01-15T09:01:00.000Z",
            },
        ),
    ),
    searches=(
        task_operations.find_task(
            input_schema=s.FindTaskInput,
            description="Finds tasks by ID, status, codebase, External ID or time, newest first.",
        ),
        Search(
            key="find_tasks",
            noun="Tasks",
            label="Find Tasks (list)",
            description="Lists the tasks matching your filters (up to 100, newest first) in one result: a count, "
            "line items and a summary ready to post, e.g. yesterday's completed tasks.",
            input_schema=s.FindTaskInput,
            output_schema=s.TaskDigest,
            perform=digest.find_tasks,
            scope="tasks:read",
            sample={
                "id": "digest_5d41402abc4b2a76",
                "count": 1,
                "more": False,
                "summary": "1 completed task, completed between 2026-01-15 00:00 UTC and 2026-01-16 00:00 UTC:\n"
                f"- Fix the login bug (completed 2026-01-15 09:02 UTC): {TASK_SAMPLE['url']}\n"
                f"  {TASK_SAMPLE['result']}",
                "tasks": [{key: TASK_SAMPLE[key] for key in s.TaskLine().fields}],
            },
        ),
    ),
    search_or_creates=(
        SearchOrCreate(
            search="find_task",
            action="create_task",
            label="Find or Create Task",
            description="Finds the task with this External ID, or creates it: one task per GitHub issue or email "
            "thread, even when a Zap runs again.",
        ),
    ),
)
