"""A write that reads first takes SQLite's write lock up front (``begin_write``:
BEGIN IMMEDIATE), so it waits for another writer and then succeeds. Without
it, the deferred transaction reads a snapshot, and its write fails at once
with "database is locked" (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT once the
other writer has committed): a user would get an error for a cancel, or a
reserved Idempotency-Key left unusable, whenever another writer was busy.

Each test holds a write transaction open on a second connection, runs the
operation in a thread, and lets the writer commit (a real change, so the
operation's snapshot is stale) once the operation is seen to reach its
BEGIN IMMEDIATE or its first write. PostgreSQL locks rows, not the database:
there this means nothing."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, make_url, select
from support import TEST_DATABASE

pytestmark = [
    pytest.mark.sqlite_only,
    pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="SQLite's database-wide write lock"),
]

DEADLINE = 30.0  # seconds: far more than any step takes on a busy machine
WRITES = ("BEGIN IMMEDIATE", "INSERT", "UPDATE", "DELETE")


@contextmanager
def another_writer(app):
    """A write transaction on a second connection to the test's database,
    open until the block ends; it then commits a change."""
    connection = sqlite3.connect(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE users SET username = username")
        yield
        connection.execute("COMMIT")
    finally:
        connection.close()


def run_while_another_writes(app, operation):
    """Run ``operation()`` in a thread (its own app context and session)
    while another connection holds the write lock; the writer commits once
    the operation reaches its write. Returns what the operation returned."""
    from hub.db import db

    with app.app_context():
        engine = db.engine
    changed = threading.Condition()
    state: dict = {}

    def statement(_connection, _cursor, sql, *_args):
        if threading.get_ident() == state.get("thread") and sql.lstrip().upper().startswith(WRITES):
            with changed:
                state.setdefault("reached", sql.split(None, 2)[:2])
                changed.notify_all()

    def work():
        state["thread"] = threading.get_ident()
        try:
            with app.app_context():
                state["value"] = operation()
                db.session.remove()
        except Exception as error:  # reported by the test
            state["error"] = error
        with changed:
            state["done"] = True
            changed.notify_all()

    event.listen(engine, "before_cursor_execute", statement)
    try:
        with another_writer(app):
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            with changed:
                assert changed.wait_for(lambda: "reached" in state or "done" in state, DEADLINE), (
                    "the operation neither reached its write nor finished"
                )
                assert "done" not in state, f"the operation did not wait for the other writer: {state.get('error')!r}"
        with changed:
            assert changed.wait_for(lambda: "done" in state, DEADLINE), "the operation never finished"
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert "error" not in state, f"failed while another writer held the database: {state['error']!r}"
    return state.get("value")


def user(name: str):
    from hub.db import db
    from hub.models import User

    return db.session.scalar(select(User).where(User.username == name))


def test_a_cancel_waits_for_another_writer_and_succeeds(app, alice):
    from hub.services import tasks

    task = alice.create_task()
    run_while_another_writes(app, lambda: tasks.cancel_task(user("alice"), task["id"]).status)
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "cancelled"


def test_an_idempotent_response_is_kept_while_another_writer_is_busy(app, alice):
    from hub.services import idempotency

    with app.app_context():
        assert idempotency.reserve(user("alice"), "key-1", "request") is None
    run_while_another_writes(
        app, lambda: idempotency.complete(user("alice"), "key-1", 201, b'{"id": "task_1"}', "application/json")
    )
    with app.app_context():
        kept = idempotency.reserve(user("alice"), "key-1", "request")
        assert (kept.response_status, idempotency.replay_body(kept)) == (201, b'{"id": "task_1"}')


def test_a_failed_requests_key_is_freed_while_another_writer_is_busy(app, alice):
    from hub.services import idempotency

    with app.app_context():
        assert idempotency.reserve(user("alice"), "key-1", "request") is None
    run_while_another_writes(app, lambda: idempotency.release(user("alice"), "key-1"))
    with app.app_context():
        assert idempotency.reserve(user("alice"), "key-1", "corrected request") is None  # free for the retry


def test_an_outcome_is_recorded_while_another_writer_is_busy(webhook_settings, app, alice, receiver):
    from support.delivery import deliveries, subscribe

    from hub.db import utcnow
    from hub.webhooks import delivery, outcomes
    from hub.webhooks.sender import Outcome

    hook = subscribe(alice, receiver)
    alice.create_task()
    with app.app_context():
        _, planned = delivery.fan_out(app.config)
    started = [utcnow()]
    run_while_another_writes(app, lambda: outcomes.record(planned, [Outcome(200, 1.0)], started, app.config))
    assert deliveries(alice, hook["id"])[0]["status"] == "delivered"
