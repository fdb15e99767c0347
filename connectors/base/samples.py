"""Sample objects for declarations: what the hub's REST API gives, so a
connector's samples (which platforms show before any real data exists) are
the real shape. Never change one in place; copy it: ``{**samples.TASK, "status": "pending"}``."""

from __future__ import annotations

from typing import Any

# A task as GET /api/v1/tasks/<id> gives it (hub.schemas.TaskSchema), finished.
TASK: dict[str, Any] = {
    "id": "task_8f2k3j4h5g6d7s8a",
    "task_id": "task_8f2k3j4h5g6d7s8a",
    "title": "Fix the login bug",
    "prompt": "Users get a 500 error on /login after the last deploy. Find the cause and fix it.",
    "status": "completed",
    "codebase_id": "global",
    "conversation_id": None,
    "external_id": "octo/app#42",
    "metadata": {"channel": "C024BE91L"},
    "agent_type": "build",
    "model": None,
    "priority": 0,
    "result": "Fixed a missing null check in login.py; tests pass.",
    "error": None,
    "retry_count": 0,
    "max_retries": 3,
    "duration_seconds": 142.5,
    "created_at": "2026-01-15T09:00:00.000Z",
    "updated_at": "2026-01-15T09:02:24.000Z",
    "started_at": "2026-01-15T09:00:01.500Z",
    "completed_at": "2026-01-15T09:02:24.000Z",
    "failed_at": None,
    "cancelled_at": None,
    "url": "https://hub.example.com/tasks/task_8f2k3j4h5g6d7s8a",
    "callback_url": None,
}
