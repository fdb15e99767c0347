"""Readable labels: for a key (``codebase_id`` -> "Codebase ID") and for the
choices of a task's agent type and status, as dropdowns show them."""

from __future__ import annotations

from collections.abc import Mapping

ACRONYMS = {"id": "ID", "url": "URL"}

AGENT_TYPE_LABELS: Mapping[str, str] = {
    "build": "Build - write and change code",
    "plan": "Plan - review and plan, no changes",
    "general": "General - answer questions",
    "explore": "Explore - read and map the codebase",
}
STATUS_LABELS: Mapping[str, str] = {
    "pending": "Pending (waiting for an agent)",
    "running": "Running",
    "input_required": "Needs input (the agent asked a question)",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def label_for(key: str) -> str:
    """A field's or choice's label from its key, when it declares none."""
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in key.split("_"))
