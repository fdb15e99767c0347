"""What a connector registers with the hub besides its routes: payload
formats for REST hooks. The hub finds, checks and mounts connectors itself
(``hub.plugins``, entry-point group ``codetether_hub.connectors``)."""

from __future__ import annotations

from typing import cast

from connectors.base.declarations import Connector, Trigger
from hub.plugins import GROUP, mounted
from hub.webhooks import formatters

__all__ = ["GROUP", "connectors", "formatter_name", "register_format", "register_formatters"]


def connectors() -> dict[str, Connector]:
    """The enabled connectors of the current app, by key (the hub mounts
    only what passed ``validate``: Connectors)."""
    return cast("dict[str, Connector]", mounted())


def register_format(name: str, formatter: formatters.Formatter) -> None:
    """Make ``formatter(envelope) -> dict`` a webhook payload format: a
    subscription with ``format: name`` is sent what it returns."""
    formatters.register(name, formatter)


def formatter_name(connector: Connector, trigger: Trigger) -> str:
    """The payload format a REST hook names to get this trigger's items."""
    return f"{connector.key}.{trigger.key}"


def register_formatters(connector: Connector) -> None:
    """Each event trigger's formatter becomes a webhook payload format, so a
    subscription (``format`` on POST /api/v1/hooks) delivers the same item
    the trigger lists."""
    for trigger in connector.triggers:
        if trigger.event and trigger.formatter:
            register_format(formatter_name(connector, trigger), trigger.formatter)
