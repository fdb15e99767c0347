"""What each tool does, through the hub API (``connectors.base.hub``)."""

from __future__ import annotations

from typing import Any

from connectors.base import hub


def create_task(user: hub.User, **fields: Any) -> hub.Task:
    return hub.create_task(user, **fields)


def send_message(user: hub.User, **fields: Any) -> hub.Message:
    return hub.send_message(user, **fields)


def cancel_task(user: hub.User, task_id: str) -> hub.Task:
    return hub.cancel_task(user, task_id)


def get_task(user: hub.User, task_id: str) -> hub.Task:
    return hub.get_task(user, task_id)


def find_task(user: hub.User, **filters: Any) -> list[hub.Task]:
    """The newest task matching every filter, if any."""
    return hub.list_tasks(user, limit=1, **filters).items


def find_tasks(user: hub.User, *, limit: int, **filters: Any) -> list[hub.Task]:
    return hub.list_tasks(user, limit=limit, **filters).items


def list_codebases(user: hub.User, *, limit: int) -> list[hub.Codebase]:
    return hub.list_codebases(user, limit=limit).items
