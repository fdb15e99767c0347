"""What the Zapier connector's operations do: small functions over hub
services, and the formatters that flatten events into the seed's fields."""

from __future__ import annotations

from typing import Any

from connectors.zapier.schemas import ITEMS
from hub.models.tasks import ACTIVE_STATUSES
from hub.schemas import Page
from hub.services import codebases, conversations, tasks

# Trigger output fields (besides the event `id`), by event type: the task's or
# message's fields of the same names.
TRIGGER_FIELDS = {event: tuple(key for key in schema().fields if key != "id") for event, schema in ITEMS.items()}


def flatten(event: dict[str, Any]) -> dict[str, Any]:
    """An event envelope ``{id, type, timestamp, data}`` -> the flat object a
    Zap sees: the trigger's fields plus the event id for Zapier's dedupe.
    Events without a trigger of their own pass their data through flat."""
    data = event.get("data") or {}
    keys = TRIGGER_FIELDS.get(event.get("type", ""))
    flat = {key: data.get(key) for key in keys} if keys else dict(data)
    flat["id"] = event["id"]
    return flat


def create_task(user, **fields):
    return tasks.create_task(user, **fields)


def send_message(user, **fields):
    return conversations.send_message(user, **fields)


def cancel_task(user, *, task_id: str):
    return tasks.cancel_task(user, task_id)


def find_task(user, **filters) -> list:
    """Matching tasks, newest first (``FindTaskInput``'s filters: None is not
    set). With a task id: that task, if it also matches the other filters."""
    found, _ = tasks.list_tasks(user, limit=100, **filters)
    return found


def codebase_choices(user, *, page: int = 0, limit: int = 50) -> Page[dict]:
    found, more = codebases.list_codebases(user, page=page, limit=limit)
    return Page([{"id": cb.id, "name": cb.name} for cb in found], more)


def cancellable_task_choices(user, *, page: int = 0, limit: int = 50) -> Page[dict]:
    found, more = tasks.list_tasks(user, status=ACTIVE_STATUSES, page=page, limit=limit)
    return Page(
        [{"id": t.id, "title": t.title, "status": t.status, "label": f"{t.title} ({t.status})"} for t in found], more
    )
