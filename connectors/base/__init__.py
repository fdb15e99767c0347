"""The public connector API: declare a manifest, triggers, actions and
searches; register the Connector under the entry-point group
``codetether_hub.connectors``. See README.md beside this file."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base.declarations import Action, Manifest, Search, SearchOrCreate, Trigger
    from connectors.base.fields import FIELD_TYPES, field_type
    from connectors.base.generator import describe
    from connectors.base.inputs import BlankIsMissing
    from connectors.base.plugin import Connector
    from connectors.base.validation import InvalidConnector, validate

__all__ = [
    "FIELD_TYPES",
    "Action",
    "BlankIsMissing",
    "Connector",
    "InvalidConnector",
    "Manifest",
    "Search",
    "SearchOrCreate",
    "Trigger",
    "describe",
    "field_type",
    "validate",
]

# Each name's module, imported on first use: the conformance kit's pytest
# plugin (connectors.base.testing.plugin) loads in every pytest run where the
# hub is installed, and must not import the hub (nor fail with it) to do so.
_HOMES = {
    **dict.fromkeys(("Action", "Manifest", "Search", "SearchOrCreate", "Trigger"), "connectors.base.declarations"),
    "Connector": "connectors.base.plugin",
    **dict.fromkeys(("InvalidConnector", "validate"), "connectors.base.validation"),
    # For a platform's generator: the plain field types, and every declaration walked into them.
    **dict.fromkeys(("FIELD_TYPES", "field_type"), "connectors.base.fields"),
    "describe": "connectors.base.generator",
    "BlankIsMissing": "connectors.base.inputs",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
