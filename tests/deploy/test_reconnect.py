"""A database server that dropped the hub's pooled connections (a restart,
an idle timeout) costs no request: a connection that sat idle is checked
before use and replaced."""

import sys

import pytest
import sqlalchemy as sa
from support import TEST_DATABASE

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="SQLite has no server to drop connections")


def drop_connections(app):
    """Terminate every server session of the hub's database but this one."""
    with app.app_context():
        from hub.db import db

        url = db.engine.url
    admin = sa.create_engine(url)
    with admin.connect() as conn:
        dropped = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    admin.dispose()
    return dropped


def test_requests_survive_dropped_connections(alice, app, monkeypatch):
    assert alice.get("/api/v1/me").status_code == 200  # a connection is now pooled
    monkeypatch.setattr(sys.modules["hub.db"], "IDLE_PING_SECONDS", 0.0)  # every checkout counts as idle
    assert drop_connections(app) >= 1
    me = alice.get("/api/v1/me")
    assert me.status_code == 200 and me.json["username"] == "alice"
    created = alice.post("/api/v1/tasks", json={"title": "After the restart", "prompt": "p"})
    assert created.status_code == 201
