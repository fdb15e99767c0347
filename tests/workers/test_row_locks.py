"""PostgreSQL's row locks in the worker rules: a claim or a lease sweep
skips a task another transaction holds (FOR UPDATE SKIP LOCKED) instead of
waiting for it or taking it twice. SQLite has one writer at a time instead
(tests/workers/test_worker_write_locks.py)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from support import TEST_DATABASE, wait_for

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="PostgreSQL's row locks")


@contextmanager
def held(database_url: str, task_id: str):
    """Another transaction holding the task's row (as a concurrent claim or sweep does), and a way to
    see whether anyone waits for a lock meanwhile."""
    engine = create_engine(database_url)
    try:
        # The watcher in autocommit: each look a fresh statistics snapshot.
        with engine.connect() as holder, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            holder.execute(text("SELECT pk FROM tasks WHERE id = :id FOR UPDATE"), {"id": task_id})

            def waiting() -> int:
                query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = :name"
                return watcher.execute(text(query), {"name": engine.url.database}).scalar_one()

            yield waiting
            holder.rollback()
    finally:
        engine.dispose()


def without_waiting(waiting, operation):
    """``operation()`` in a thread: its result, or a failure if it waits for the held row."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", operation()), daemon=True)
    thread.start()
    wait_for(lambda: "value" in result or waiting(), timeout=60, message="the operation to end or wait")
    assert "value" in result, "it waits for the row another transaction holds"
    return result["value"]


def test_a_claim_skips_a_task_another_transaction_holds(app, alice, worker, hub_env):
    first, second = alice.create_task(title="first"), alice.create_task(title="second")
    wid = worker.register()
    with held(hub_env["DATABASE_URL"], first["id"]) as waiting:
        claimed = without_waiting(waiting, lambda: worker.claim(wid))
    assert claimed["id"] == second["id"]
    assert worker.claim(wid)["id"] == first["id"]  # free again: the next claim takes it


def test_the_sweeper_leaves_a_lapsed_task_another_transaction_holds(app, alice, worker, hub_env):
    from hub.db import begin_write, db, utcnow
    from hub.models import Task
    from hub.services import workers

    task = alice.create_task()
    worker.claim(worker.register())
    with app.app_context():
        begin_write()
        db.session.scalar(db.select(Task).where(Task.id == task["id"])).lease_expires_at = utcnow() - timedelta(
            seconds=1
        )
        db.session.commit()

    def sweep() -> int:
        with app.app_context():
            return workers.expire_leases()

    with held(hub_env["DATABASE_URL"], task["id"]) as waiting:
        assert without_waiting(waiting, sweep) == 0  # another sweeper's to take back
    assert sweep() == 1
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["retry_count"] == 1
