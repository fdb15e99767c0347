"""The hub's protected resources, as OAuth names them (RFC 9728, RFC 8707).

The REST API is one resource, ``HUB_BASE_URL``; each mounted connector is
another, ``HUB_BASE_URL/connectors/<key>`` (the MCP endpoint is exactly that
URL). A request belongs to the connector whose path it is under, else to the
API. Each resource's metadata is at the well-known path RFC 9728 §3.1 builds
from it: ``/.well-known/oauth-protected-resource`` + the resource's path.

Only Flask here: the error module (every 401) and the request-time auth read it.
"""

from __future__ import annotations

from flask import current_app

METADATA_PATH = "/.well-known/oauth-protected-resource"
CONNECTORS = "/connectors/"


def mounted_keys() -> list[str]:
    return sorted(current_app.extensions.get("hub_connectors", {}).get("enabled", {}))


def base_url() -> str:
    return str(current_app.config["HUB_BASE_URL"])


def connector_key(path: str) -> str | None:
    """The mounted connector whose routes ``path`` is under, if any."""
    if not path.startswith(CONNECTORS):
        return None
    key = path[len(CONNECTORS) :].split("/", 1)[0]
    return key if key in mounted_keys() else None


def connector_resource(key: str) -> str:
    return f"{base_url()}{CONNECTORS}{key}"


def resource_for_path(path: str) -> str:
    """The resource a request to ``path`` is for."""
    key = connector_key(path)
    return connector_resource(key) if key else base_url()


def metadata_url(resource: str) -> str:
    """Where ``resource``'s RFC 9728 metadata is served."""
    return base_url() + METADATA_PATH + resource.removeprefix(base_url())


def known_resources() -> list[str]:
    """What a client may name as ``resource`` (RFC 8707)."""
    return [base_url(), *(connector_resource(key) for key in mounted_keys())]
