from typing import ClassVar

import pytest

from connectors.base.testing import ConnectorConformance


# The kit runs its own hub on SQLite (connectors.base.testing.plugin): nothing for the PostgreSQL pass.
@pytest.mark.sqlite_only
class TestMcpConformance(ConnectorConformance):
    """The MCP connector's REST routes (/connectors/mcp/...) pass the kit as any connector's do."""

    connector_key = "mcp"
    inputs: ClassVar[dict] = {
        "create_task": {"title": "Fix the build", "prompt": "Make CI green"},
        "send_message": {"message": "Summarise the repo", "conversation_id": "1701.0002"},
        "find_tasks": {"status": "pending"},
    }

    def valid_input(self, user, operation):
        """Cancel and get need a task of the user's own."""
        if operation.key in ("cancel_task", "get_task"):
            return {"task_id": user.create_task()["id"]}
        return super().valid_input(user, operation)
