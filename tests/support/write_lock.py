"""Another writer holding SQLite's database-wide write lock while an
operation runs (tests/services/test_write_locks.py explains why a write
that reads first must take the lock up front: ``begin_write``)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

from sqlalchemy import event, make_url

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
