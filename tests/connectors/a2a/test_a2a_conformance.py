import pytest

from connectors.base.testing import ConnectorConformance


# The kit runs its own hub on SQLite (connectors.base.testing.plugin): nothing for the PostgreSQL pass.
@pytest.mark.sqlite_only
class TestA2aConformance(ConnectorConformance):
    """The A2A connector is mounted and passes the kit as any connector does (its operations are its
    JSON-RPC methods, which the kit does not know: its REST side is its README and agent card)."""

    connector_key = "a2a"
