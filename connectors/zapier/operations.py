"""What the Zapier connector's operations do: small functions over the hub API
(``connectors.base.hub``), and the formatters that flatten events into the seed's fields."""

from __future__ import annotations

from typing import Any

from connectors.base import hub
from connectors.zapier.schemas import ITEMS

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


def create_task(user: hub.User, **fields: Any) -> hub.Task:
    return hub.create_task(user, **fields)


def send_message(user: hub.User, **fields: Any) -> hub.Message:
    return hub.send_message(user, **fields)


def cancel_task(user: hub.User, *, task_id: str) -> hub.Task:
    return hub.cancel_task(user, task_id)


def find_task(user: hub.User, **filters: Any) -> list[hub.Task]:
    """Matching tasks, newest first (``FindTaskInput``'s filters: None is not
    set). With a task id: that task, if it also matches the other filters."""
    return hub.list_tasks(user, limit=100, **filters).items
