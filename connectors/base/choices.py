"""Dropdown lists a connector's hidden triggers serve (``Trigger(list=...,
hidden=True)``): the user's codebases, and the tasks they can still cancel.
Each item is small: an ``id`` and what the dropdown shows."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from connectors.base import hub


class CodebaseChoice(ma.Schema):
    id = fields.String()
    name = fields.String()


class TaskChoice(ma.Schema):
    id = fields.String()
    title = fields.String()
    status = fields.String()
    label = fields.String(metadata={"description": "Title and status, as the dropdown shows it"})


def codebase_choices(user: hub.User, *, page: int = 0, limit: int = 50) -> hub.Page[dict[str, Any]]:
    """The user's codebases, oldest first (``CodebaseChoice``; ``label_field="name"``)."""
    found = hub.list_codebases(user, page=page, limit=limit)
    return hub.Page([{"id": cb["id"], "name": cb["name"]} for cb in found.items], found.more)


def cancellable_task_choices(user: hub.User, *, page: int = 0, limit: int = 50) -> hub.Page[dict[str, Any]]:
    """The user's pending and running tasks, newest first (``TaskChoice``; ``label_field="label"``)."""
    found = hub.list_tasks(user, status=hub.ACTIVE_STATUSES, page=page, limit=limit)
    return hub.Page(
        [
            {"id": t["id"], "title": t["title"], "status": t["status"], "label": f"{t['title']} ({t['status']})"}
            for t in found.items
        ],
        found.more,
    )
