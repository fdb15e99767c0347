"""The public connector API: declare a manifest, triggers, actions and
searches; register the Connector under the entry-point group
``codetether_hub.connectors``. See README.md beside this file."""

from connectors.base.declarations import Action, Manifest, Search, SearchOrCreate, Trigger
from connectors.base.plugin import Connector
from connectors.base.validation import InvalidConnector, validate

__all__ = ["Action", "Connector", "InvalidConnector", "Manifest", "Search", "SearchOrCreate", "Trigger", "validate"]
