"""Payload formatters: how an event becomes the JSON body a subscription gets.

A formatter is ``function(event) -> dict`` and must be a pure function of the
event (its id, type, created_at and data): retries then send byte-identical
bodies. Connectors register their own (the Zapier connector sends the task's
flat fields) with ``register()``; a subscription names one in ``format``.
"""
from __future__ import annotations

from typing import Callable

from hub.models import Event
from hub.schemas import UTCDateTime

Formatter = Callable[[Event], dict]

_FORMATTERS: dict[str, Formatter] = {}
DEFAULT = "standard"


def register(name: str, formatter: Formatter) -> None:
    """Make ``formatter`` available to subscriptions as ``format=name``."""
    if not name or len(name) > 40:
        raise ValueError("A formatter name is 1 to 40 characters.")
    _FORMATTERS[name] = formatter


def get(name: str) -> Formatter:
    return _FORMATTERS[name]


def names() -> list[str]:
    return sorted(_FORMATTERS)


def timestamp(event: Event) -> str:
    return UTCDateTime()._serialize(event.created_at, None, None)


def standard(event: Event) -> dict:
    """The Standard Webhooks envelope."""
    return {"id": event.id, "type": event.type, "timestamp": timestamp(event), "data": event.data}


register(DEFAULT, standard)
