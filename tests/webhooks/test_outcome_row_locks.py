"""PostgreSQL: an attempt's outcome is recorded only while its claim is
still held (hub/webhooks/outcomes.py locks the deliveries it records): a
delivery the sweeper is taking back meanwhile is left to the sweeper, not
written over. SQLite has one writer at a time instead
(tests/services/test_write_locks.py)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from support import TEST_DATABASE, wait_for
from support.delivery import deliveries, subscribe

from hub.db import utcnow
from hub.webhooks.sender import Outcome

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="PostgreSQL's row locks")


def test_an_outcome_waits_for_a_sweeper_holding_its_delivery_and_then_leaves_it(app, alice, receiver):
    from hub.webhooks import delivery, outcomes

    hook = subscribe(alice, receiver)
    alice.create_task()
    with app.app_context():
        _, [planned] = delivery.fan_out(app.config)  # claimed: sending

    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        # The watcher in autocommit: each look a fresh statistics snapshot.
        with engine.connect() as sweeper, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            # What the sweeper does to a lapsed claim, in a transaction still open.
            sweeper.execute(sa.text("SELECT pk FROM deliveries WHERE pk = :pk FOR UPDATE"), {"pk": planned.delivery_pk})
            sweeper.execute(
                sa.text("UPDATE deliveries SET status = 'retrying' WHERE pk = :pk"), {"pk": planned.delivery_pk}
            )

            def record() -> None:
                with app.app_context():
                    outcomes.record([planned], [Outcome(200, 1.0)], [utcnow()], app.config)

            recording = threading.Thread(target=record, daemon=True)
            recording.start()
            query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = :name"
            wait_for(
                lambda: watcher.execute(sa.text(query), {"name": engine.url.database}).scalar_one(),
                timeout=60,
                message="the outcome to wait for the sweeper's row",
            )
            sweeper.commit()
            recording.join(60)
    finally:
        engine.dispose()
    [left] = deliveries(alice, hook["id"])
    assert left["status"] == "retrying" and left["attempt_log"] == []  # the sweeper's, not written over
