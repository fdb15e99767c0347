"""Connectors are plugins: packages that register an object under the
entry-point group ``codetether_hub.connectors``, named by the connector's
key. The hub loads each one, refuses those that fail to load or fail their
own checks (one log line each, with every reason; the hub starts without
them), mounts the ones the admin enabled (HUB_CONNECTORS_ENABLED minus
HUB_CONNECTORS_DISABLED) after its own API (one log line each), and lists
them at GET /connectors/. When two packages register the same name, the one
installed first keeps it (the hub's own connectors always do) and the
newcomer is refused.

The hub knows a connector only by the three methods of ``Plugin``, which the
connector API (``connectors.base.Connector``) implements: connectors are
built on the hub, and the hub never imports them.
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib.metadata import Distribution, EntryPoint, PackageNotFoundError, entry_points, version
from typing import Any, Protocol

import marshmallow as ma
from flask import Flask, current_app
from marshmallow import fields

from hub.api.base import Api, Blueprint

GROUP = "codetether_hub.connectors"
HUB_DISTRIBUTION = "codetether-hub"  # the hub's own package, whose connectors (zapier) are never the newcomer
# What this process, or the process that started it, already logged about
# connectors (digests of the lines): every create_app, every gunicorn worker
# and delivery worker of `up` loads the same connectors, and the admin wants
# each mount and refusal said once. Children inherit the environment.
LOGGED = "HUB_CONNECTORS_LOGGED"
SAID_ELSEWHERE = "*"

log = logging.getLogger("hub.connectors")


def hub_version() -> str:
    """The installed hub's version (``Manifest.requires_hub`` is checked
    against it); 0 when the hub runs from a checkout that was never installed."""
    try:
        return version(HUB_DISTRIBUTION)
    except PackageNotFoundError:
        return "0"


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
    hub, and a newcomer never takes a name from one installed before it."""
    found: dict[str, Plugin] = {}
    refused: dict[str, str] = {}
    claimed: dict[str, EntryPoint] = {}
    for entry_point in sorted(entry_points(group=GROUP), key=lambda ep: (ep.name, *_seniority(ep))):
        name = entry_point.name
        if name in claimed:
            first, newcomer = package(claimed[name]), package(entry_point)
            refused[name] = (refused[name] + "; " if name in refused else "") + (
                f"the package '{newcomer}' registers the connector '{name}', which '{first}' registered first: "
                f"'{newcomer}' is refused and '{first}' keeps the name (uninstall one, or give the newcomer's "
                "connector another key)"
            )
            continue
        claimed[name] = entry_point
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
        log_once(logging.ERROR, f"connector '{name}' refused: {reason}")
    return found, refused


def said_elsewhere() -> None:
    """This process logs nothing about connectors: another process of the
    same start says it (gunicorn's first worker, for the ones beside it and
    those that replace it)."""
    os.environ[LOGGED] = SAID_ELSEWHERE


def package(entry_point: EntryPoint) -> str:
    """The distribution that registers ``entry_point`` (its value when unknown)."""
    return entry_point.dist.name if entry_point.dist else entry_point.value


def _seniority(entry_point: EntryPoint) -> tuple[int, float, str]:
    """Sorts the packages that register one name: the hub's own first, then
    by when each was installed (its metadata file's time; unknown: last)."""
    dist = entry_point.dist
    if dist is None:
        return (1, float("inf"), entry_point.value)
    own = dist.name.lower().replace("_", "-") == HUB_DISTRIBUTION
    return (0 if own else 1, _installed_at(dist), dist.name)


def _installed_at(dist: Distribution) -> float:
    for file in dist.files or ():
        if file.name in ("METADATA", "PKG-INFO"):
            try:
                return os.stat(file.locate()).st_mtime
            except OSError:
                break
    return float("inf")


def log_once(level: int, line: str) -> None:
    """Log ``line`` unless this process or its parent already did (``LOGGED``)."""
    digest = hashlib.sha256(line.encode()).hexdigest()[:16]
    logged = os.environ.get(LOGGED, "").split()
    if digest in logged or SAID_ELSEWHERE in logged:
        return
    os.environ[LOGGED] = " ".join([*logged, digest])
    log.log(level, line)


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
    for name in app.extensions["hub_connectors"]["disabled"]:
        log_once(logging.INFO, f"connector '{name}' not mounted: disabled by HUB_CONNECTORS_ENABLED/_DISABLED")
    for name, plugin in list(active.items()):
        try:
            with api.schema_names_prefixed(name.title().replace("_", "")):
                plugin.init_app(app, api)
        except Exception as error:  # e.g. its setup raised (before its routes exist): the hub starts without it
            del active[name]
            refused[name] = f"could not be mounted: {type(error).__name__}: {error}"
            log_once(logging.ERROR, f"connector '{name}' refused: {refused[name]}")
            continue
        about = plugin.summary()
        log_once(logging.INFO, f"connector '{name}' {about.get('version', '')} mounted at /connectors/{name}/")


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
