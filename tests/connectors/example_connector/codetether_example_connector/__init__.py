"""The guide's example (connectors/base/README.md): the seed's seven operations for an
n8n-style platform, on ``connectors.base`` alone. An item nests the task and its history."""

import marshmallow as ma
from marshmallow import fields, validate

from connectors.base import Action, Connector, Manifest, Search, SearchOrCreate, Trigger, choices, hub, samples
from connectors.base.inputs import BlankIsMissing
from connectors.base.labels import STATUS_LABELS

STEPS = ("created", "started", "completed", "failed", "cancelled")


class TaskPart(ma.Schema):
    id = fields.String()
    title = fields.String()
    status = fields.String(metadata={"description": "pending, running, completed, failed or cancelled"})
    agent = fields.String(metadata={"description": "build, plan, general or explore"})
    codebase = fields.String()
    url = fields.String(metadata={"description": "The task's page on the hub"})
    result = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    retries = fields.Integer()
    seconds = fields.Float(allow_none=True, metadata={"description": "How long the agent worked"})


class Step(ma.Schema):
    id = fields.String(metadata={"description": "What happened: created, started, completed, failed or cancelled"})
    at = hub.UTCDateTime()


class Item(ma.Schema):
    id = fields.String(metadata={"description": "The event's id (triggers) or the task's (actions, searches)"})
    task = fields.Nested(TaskPart)
    timeline = fields.List(fields.Nested(Step))


def item(task: hub.Task, item_id: str | None = None) -> dict:
    names = {"agent": "agent_type", "codebase": "codebase_id", "retries": "retry_count", "seconds": "duration_seconds"}
    part = {key: task.get(names.get(key, key)) for key in TaskPart().fields}  # .get: an old event may lack a key
    timeline = [{"id": step, "at": task[f"{step}_at"]} for step in STEPS if task.get(f"{step}_at")]
    return {"id": item_id or task["id"], "task": part, "timeline": timeline}


class NoCallback(BlankIsMissing):  # an item has no room for a callback's secret
    class Meta:
        exclude = ("callback_url", "callback_format")


class NewTask(NoCallback, hub.TaskInput): ...


class NewMessage(NoCallback, hub.MessageInput): ...


class TaskToCancel(ma.Schema):
    task_id = hub.RequiredText(metadata={"label": "Task", "choices_from": "open_tasks", "search_from": "find_task"})


class FindTask(BlankIsMissing):
    task_id = hub.OptionalStr()
    external_id = hub.OptionalStr(metadata={"label": "External ID"})
    status = fields.String(validate=validate.OneOf(hub.STATUSES), metadata={"choice_labels": STATUS_LABELS})
    codebase_id = hub.OptionalStr(metadata={"label": "Codebase"})


PENDING = {**samples.TASK, "status": "pending", "started_at": None, "completed_at": None}
PENDING |= {"result": None, "duration_seconds": None}
FAILED = {**samples.TASK, "status": "failed", "result": None, "error": "The agent could not reach the repository."}
FAILED |= {"completed_at": None, "failed_at": "2026-01-15T09:02:24.000Z", "retry_count": 3}
MESSAGE = {"id": "msg_1", "message_id": "msg_1", "conversation_external_id": None, "role": "user", "content": "Hi"}
MESSAGE |= {"conversation_id": "C1", "codebase_id": "global", "task_id": "task_1", "created_at": PENDING["created_at"]}
SEED_TRIGGERS = (
    ("new_task", "New Task", "task.created", PENDING),
    ("task_completed", "Task Completed", "task.completed", samples.TASK),
    ("task_failed", "Task Failed", "task.failed", FAILED),
)

connector = Connector(
    manifest=Manifest(
        key="example",
        name="Example",
        version="0.1.0",
        scopes=("tasks:read", "tasks:write", "messages:write"),
        docs_url="https://example.com/codetether-example",
        description="The seed's operations for an n8n-style platform: one nested item per task.",
        requires_hub=">=0.1",
    ),
    triggers=(
        *(
            Trigger(
                key=key,
                noun="Task",
                label=label,
                description=f"Starts a workflow on each {event} event.",
                event=event,
                formatter=lambda envelope: item(envelope["data"], envelope["id"]),  # {id, type, timestamp, data}
                scope="tasks:read",
                output_schema=Item,
                sample=item(sample, "evt_3n4m5b6v7c8x9z0a"),
            )
            for key, label, event, sample in SEED_TRIGGERS
        ),
        Trigger(
            key="open_tasks",
            noun="Task",
            label="List Open Tasks",
            description="The Task dropdown's choices: tasks still pending or running.",
            list=choices.cancellable_task_choices,
            hidden=True,
            label_field="label",
            scope="tasks:read",
            output_schema=choices.TaskChoice,
            sample={"id": "task_1", "title": "Fix the login bug", "status": "pending", "label": "Fix the login bug"},
        ),
    ),
    actions=(
        Action(
            key="create_task",
            noun="Task",
            label="Create Task",
            description="An AI agent starts on a task.",
            input_schema=NewTask,
            output_schema=Item,
            perform=lambda user, **given: item(hub.create_task(user, **given)),
            scope="tasks:write",
            sample=item(PENDING),
        ),
        Action(
            key="send_message",
            noun="Message",
            label="Send Message",
            description="Ask an agent in a conversation; its reply comes as a task.",
            input_schema=NewMessage,
            output_schema=hub.MessageOutput,
            perform=hub.send_message,
            scope="messages:write",
            sample=MESSAGE,
        ),
        Action(
            key="cancel_task",
            noun="Task",
            label="Cancel Task",
            description="Stop a pending or running task.",
            input_schema=TaskToCancel,
            output_schema=Item,
            perform=lambda user, task_id: item(hub.cancel_task(user, task_id)),
            scope="tasks:write",
            sample=item({**PENDING, "status": "cancelled", "cancelled_at": "2026-01-15T09:01:00.000Z"}),
            creates=False,
        ),
    ),
    searches=(
        Search(
            key="find_task",
            noun="Task",
            label="Find Task",
            description="Your tasks matching every filter given, newest first.",
            input_schema=FindTask,
            output_schema=Item,
            perform=lambda user, **filters: [item(task) for task in hub.list_tasks(user, **filters).items],
            scope="tasks:read",
            sample=item(samples.TASK),
        ),
    ),
    search_or_creates=(
        SearchOrCreate("Find or Create Task", "By External ID", search="find_task", action="create_task"),
    ),
)
