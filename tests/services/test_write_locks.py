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

import pytest
from sqlalchemy import select
from support import TEST_DATABASE
from support.write_lock import run_while_another_writes

pytestmark = [
    pytest.mark.sqlite_only,
    pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="SQLite's database-wide write lock"),
]


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
