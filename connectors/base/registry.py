"""Finding connectors (entry-point group ``codetether_hub.connectors``),
refusing invalid ones, and mounting the enabled ones on the app."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from flask import Flask, current_app

from connectors.base.declarations import Connector
from connectors.base.validation import InvalidConnector, validate

GROUP = "codetether_hub.connectors"

log = logging.getLogger("hub.connectors")


def discover() -> tuple[dict[str, Connector], dict[str, str]]:
    """Every installed connector that loads and validates, by key, and the
    refused ones with the reason. One broken package never stops the hub."""
    found: dict[str, Connector] = {}
    refused: dict[str, str] = {}
    for entry_point in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        name = entry_point.name
        if name in found or name in refused:
            refused[name] = f"two packages register the connector '{name}' ({entry_point.value})"
            found.pop(name, None)
            continue
        try:
            connector = entry_point.load()
            validate(connector, name)
        except InvalidConnector as error:
            refused[name] = "; ".join(error.problems)
        except Exception as error:
            refused[name] = f"could not be loaded from '{entry_point.value}': {type(error).__name__}: {error}"
        else:
            found[name] = connector
    for name, reason in refused.items():
        log.error("connector '%s' refused: %s", name, reason)
    return found, refused


def enabled(found: dict[str, Connector], config) -> dict[str, Connector]:
    """The admin's choice: HUB_CONNECTORS_ENABLED (``*`` or keys) minus
    HUB_CONNECTORS_DISABLED."""
    wanted = config["HUB_CONNECTORS_ENABLED"]
    disabled = set(config["HUB_CONNECTORS_DISABLED"])
    return {key: c for key, c in found.items() if ("*" in wanted or key in wanted) and key not in disabled}


def init_app(app: Flask, api) -> None:
    from connectors.base.routes import build_blueprint, index_blueprint

    found, refused = discover()
    active = enabled(found, app.config)
    app.extensions["hub_connectors"] = {
        "enabled": active,
        "refused": refused,
        "disabled": sorted(set(found) - set(active)),
    }
    api.register_blueprint(index_blueprint())
    for key, connector in active.items():
        register_formatters(connector)
        if connector.setup:
            connector.setup(app)
        api.register_blueprint(build_blueprint(connector), url_prefix=f"/connectors/{key}")
        log.debug("connector '%s' %s mounted at /connectors/%s/", key, connector.manifest.version, key)


def connectors() -> dict[str, Connector]:
    """The enabled connectors of the current app, by key."""
    return current_app.extensions["hub_connectors"]["enabled"]


def formatter_name(connector: Connector, trigger) -> str:
    """The payload format a REST hook names to get this trigger's items."""
    return f"{connector.key}.{trigger.key}"


def register_formatters(connector: Connector) -> None:
    """Each event trigger's formatter becomes a webhook payload format, so a
    subscription (``format`` on POST /api/v1/hooks) delivers the same item
    the trigger lists."""
    from hub.webhooks import formatters

    for trigger in connector.triggers:
        if trigger.event:
            formatters.register(formatter_name(connector, trigger), trigger.formatter)
