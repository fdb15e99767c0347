"""The Zapier connector, registered under the entry point ``zapier``."""

from connectors.zapier.declarations import connector

__all__ = ["connector"]
