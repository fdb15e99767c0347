"""A small connector written only against the public API (connectors.base)
and hub services: the "Write a connector" guide's example."""

import marshmallow as ma
from marshmallow import fields, validate

from connectors.base import Action, Connector, Manifest, Search, Trigger
from hub.schemas import RequiredText, UTCDateTime
from hub.services import tasks


class Cancelled(ma.Schema):
    id = fields.String()
    task_id = fields.String()
    title = fields.String()
    cancelled_at = UTCDateTime()


def cancelled(event: dict) -> dict:
    data = event["data"]
    return {"id": event["id"], "task_id": data["task_id"], "title": data["title"], "cancelled_at": data["cancelled_at"]}


class Ask(ma.Schema):
    question = RequiredText(max_length=2000, metadata={"label": "Question"})


class Answer(ma.Schema):
    id = fields.String()
    title = fields.String()
    status = fields.String()


def ask(user, *, question: str):
    return tasks.create_task(user, title=question[:80], prompt=question, agent_type="general")


class Recent(ma.Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


def recent(user, *, limit: int):
    found, _ = tasks.list_tasks(user, limit=limit)
    return found


connector = Connector(
    manifest=Manifest(
        key="example",
        name="Example",
        version="0.1.0",
        scopes=("tasks:read", "tasks:write"),
        docs_url="/connectors/example/",
        description="The guide's example connector.",
    ),
    triggers=(
        Trigger(
            key="task_cancelled",
            noun="Task",
            label="Task Cancelled",
            description="A task was cancelled.",
            event="task.cancelled",
            formatter=cancelled,
            scope="tasks:read",
            output_schema=Cancelled,
            sample={
                "id": "evt_1",
                "task_id": "task_1",
                "title": "Old idea",
                "cancelled_at": "2026-01-01T00:00:00.000Z",
            },
        ),
    ),
    actions=(
        Action(
            key="ask",
            noun="Question",
            label="Ask a Question",
            description="A general agent answers a question.",
            input_schema=Ask,
            output_schema=Answer,
            perform=ask,
            scope="tasks:write",
            sample={"id": "task_1", "title": "Why is CI red?", "status": "pending"},
        ),
    ),
    searches=(
        Search(
            key="recent_tasks",
            noun="Task",
            label="Recent Tasks",
            description="Your newest tasks.",
            input_schema=Recent,
            output_schema=Answer,
            perform=recent,
            scope="tasks:read",
            sample={"id": "task_1", "title": "Why is CI red?", "status": "pending"},
        ),
    ),
)
