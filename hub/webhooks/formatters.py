"""Payload formatters: how an event becomes the JSON body a subscription gets.

A formatter is ``function(envelope) -> dict``, where ``envelope`` is the
Standard Webhooks shape ``{id, type, timestamp, data}`` of the event
(``hub.services.events.envelope``), the same argument a connector's trigger
formatter takes. It must be a pure function of the envelope, so a retry sends
the same bytes. Connectors register theirs (the Zapier connector's sends the
seed's flat fields) with ``register()``, typically from their ``setup``; a
subscription names one in ``format``.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.models import Event
from hub.services.events import envelope

Formatter = Callable[[dict], dict]

_FORMATTERS: dict[str, Formatter] = {}
DEFAULT = "standard"
NAME_MAX = 40  # the hooks.format column


def register(name: str, formatter: Formatter) -> None:
    """Make ``formatter`` available to subscriptions as ``format=name``."""
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"A formatter name is 1 to {NAME_MAX} characters.")
    _FORMATTERS[name] = formatter


def names() -> list[str]:
    return sorted(_FORMATTERS)


def payload(name: str, event: Event) -> dict:
    """The body for a subscription with format ``name`` (KeyError if no
    such formatter is registered in this process)."""
    return _FORMATTERS[name](envelope(event))


def standard(event: dict) -> dict:
    """The Standard Webhooks envelope itself."""
    return event


register(DEFAULT, standard)
