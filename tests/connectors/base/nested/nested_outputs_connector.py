"""A connector whose trigger gives nested outputs: an object with its own
fields (``task``, with ``task.agent`` inside), line items (``labels``) and a
list of plain values (``words``). tests/connectors/base/test_nested_outputs.py
installs it (an entry point on a temporary path) for the hub and its
delivery worker."""

from pathlib import Path

import marshmallow as ma
from marshmallow import fields

from connectors.base import Connector, Manifest, Trigger
from connectors.base.docs import docs_url, readme_route
from connectors.base.labels import AGENT_TYPE_LABELS

KEY = "nested"


class Agent(ma.Schema):
    type = fields.String(metadata={"label": "Type"})
    label = fields.String(metadata={"label": "Label"})


class TaskRef(ma.Schema):
    id = fields.String()
    title = fields.String(metadata={"label": "Title"})
    agent = fields.Nested(Agent, metadata={"label": "Agent"})


class LabelLine(ma.Schema):
    name = fields.String(metadata={"label": "Name"})
    value = fields.String(metadata={"label": "Value"})


class Outline(ma.Schema):
    id = fields.String(metadata={"label": "Event ID"})
    task = fields.Nested(TaskRef, metadata={"label": "Task"})
    labels = fields.List(fields.Nested(LabelLine), metadata={"label": "Labels"})
    words = fields.List(fields.String(), metadata={"label": "Title Words"})


def outline(event: dict) -> dict:
    task = event["data"]
    return {
        "id": event["id"],
        "task": {
            "id": task["id"],
            "title": task["title"],
            "agent": {"type": task["agent_type"], "label": AGENT_TYPE_LABELS[task["agent_type"]]},
        },
        "labels": [{"name": k, "value": v} for k, v in sorted((task.get("metadata") or {}).items())],
        "words": task["title"].split(),
    }


connector = Connector(
    manifest=Manifest(key=KEY, name="Nested", version="0.1.0", scopes=("tasks:read",), docs_url=docs_url(KEY)),
    extra_routes=readme_route(Path(__file__).with_name("README.md")),
    triggers=(
        Trigger(
            key="new_outline",
            noun="Outline",
            label="New Task Outline",
            description="A new task, outlined.",
            event="task.created",
            formatter=outline,
            scope="tasks:read",
            output_schema=Outline,
            sample={
                "id": "evt_1",
                "task": {"id": "task_1", "title": "Fix it", "agent": {"type": "build", "label": "Build"}},
                "labels": [{"name": "channel", "value": "C1"}],
                "words": ["Fix", "it"],
            },
        ),
    ),
)
