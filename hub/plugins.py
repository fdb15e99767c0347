"""Connectors are plugins: packages that register an object under the
entry-point group ``codetether_hub.connectors``, named by the connector's
key. The hub loads each one, refuses those that fail to load or fail their
own checks (one log line each; the hub starts without them), mounts the ones
the admin enabled (HUB_CONNECTORS_ENABLED minus HUB_CONNECTORS_DISABLED)
after its own API, and lists them at GET /connectors/.

The hub knows a connector only by the three methods of ``Plugin``, which the
connector API (``connectors.base.Connector``) implements: connectors are
built on the hub, and the hub never imports them.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any, Protocol

import marshmallow as ma
from flask import Flask, current_app
from marshmallow import fields

from hub.api.base import Api, Blueprint

GROUP = "codetether_hub.connectors"

log = logging.getLogger("hub.connectors")


class Plugin(Protocol):
    def check(self, name: str) -> None:
        """Raise, with every problem in the message, unless it can be
        mounted under the entry-point name ``name``."""

    def init_app(self, app: Flask, api: Api) -> None:
        """Mount its routes under /connectors/<name>/, on ``api`` (so that
        they are in /openapi.json)."""

    def summary(self) -> dict[str, Any]:
        """Its entry in GET /connectors/ (``ConnectorSummarySchema``)."""


METHODS = ("check", "init_app", "summary")


def discover() -> tuple[dict[str, Plugin], dict[str, str]]:
    """Every installed connector that loads and passes its checks, by name,
    and the refused ones with the reason. One broken package never stops the
    hub."""
    found: dict[str, Plugin] = {}
    refused: dict[str, str] = {}
    for entry_point in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        name = entry_point.name
        if name in found or name in refused:
            refused[name] = f"two packages register the connector '{name}' ({entry_point.value})"
            found.pop(name, None)
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:
            refused[name] = f"could not be loaded from '{entry_point.value}': {type(error).__name__}: {error}"
            continue
        missing = [method for method in METHODS if not callable(getattr(plugin, method, None))]
        if missing:
            refused[name] = (
                f"the entry point gives {type(plugin).__name__}, not a connectors.base.Connector"
                f" (it has no {', '.join(missing)})"
            )
            continue
        try:
            plugin.check(name)
        except Exception as error:
            refused[name] = str(error) or type(error).__name__
        else:
            found[name] = plugin
    for name, reason in refused.items():
        log.error("connector '%s' refused: %s", name, reason)
    return found, refused


def enabled(found: dict[str, Plugin], config: Any) -> dict[str, Plugin]:
    """The admin's choice: HUB_CONNECTORS_ENABLED (``*`` or keys) minus
    HUB_CONNECTORS_DISABLED."""
    wanted = config["HUB_CONNECTORS_ENABLED"]
    disabled = set(config["HUB_CONNECTORS_DISABLED"])
    return {name: p for name, p in found.items() if ("*" in wanted or name in wanted) and name not in disabled}


def init_app(app: Flask, api: Api) -> None:
    found, refused = discover()
    active = enabled(found, app.config)
    app.extensions["hub_connectors"] = {
        "enabled": active,
        "refused": refused,
        "disabled": sorted(set(found) - set(active)),
    }
    api.register_blueprint(_index())
    for name, plugin in active.items():
        plugin.init_app(app, api)
        log.debug("connector '%s' mounted at /connectors/%s/", name, name)


def mounted() -> dict[str, Plugin]:
    """The enabled connectors of the current app, by name."""
    active: dict[str, Plugin] = current_app.extensions["hub_connectors"]["enabled"]
    return active


class ConnectorSummarySchema(ma.Schema):
    id = fields.String(metadata={"description": "The connector's key"})
    key = fields.String()
    name = fields.String()
    version = fields.String()
    scopes = fields.List(fields.String())
    docs_url = fields.String()
    url = fields.String(metadata={"description": "Where its routes are mounted: GET it for its operations"})
    triggers = fields.List(fields.String())
    actions = fields.List(fields.String())
    searches = fields.List(fields.String())


def _index() -> Blueprint:
    blp = Blueprint("connectors", __name__, url_prefix="/connectors", description="Installed connectors")

    @blp.route("/", methods=["GET"], endpoint="index")
    @blp.response(200, ConnectorSummarySchema(many=True))
    def connector_index():
        """The enabled connectors and what they offer (public, like /openapi.json)."""
        return [plugin.summary() for plugin in mounted().values()]

    return blp
