"""The A2A connector, registered under the entry point ``a2a``."""

from connectors.a2a.declarations import connector

__all__ = ["connector"]
