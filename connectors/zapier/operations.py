"""The formatter that flattens events into the seed's fields (the Zapier
connector's task operations are connectors.base.task_operations'.)"""

from __future__ import annotations

from typing import Any

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
