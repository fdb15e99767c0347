"""The MCP connector, registered under the entry point ``mcp``."""

from connectors.mcp.declarations import connector

__all__ = ["connector"]
