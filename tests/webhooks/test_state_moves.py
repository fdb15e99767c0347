"""A delivery's move (hub/webhooks/states.py ``transition``) is stamped with
the time it happened: the caller's ``now`` when it gives one (so the move and
the times it sets are one instant), else the current time."""

from datetime import timedelta

from sqlalchemy import select
from support.delivery import subscribe

from hub.db import db, utcnow
from hub.models import Delivery
from hub.webhooks import delivery, outcomes, states
from hub.webhooks.sender import Outcome


def test_a_move_is_stamped_with_its_time(app, alice, receiver):
    subscribe(alice, receiver)
    alice.create_task()
    with app.app_context():
        _, [planned] = delivery.fan_out(app.config)
        outcomes.record([planned], [Outcome(500, 1.0, "HTTP 500")], [utcnow()], app.config)  # now `retrying`

    with app.app_context():
        row = db.session.scalar(select(Delivery).where(Delivery.id == planned.delivery_id))
        given = utcnow() - timedelta(minutes=1)
        states.transition(row, "sending", now=given, attempts=2, next_attempt_at=given)
        db.session.commit()
        assert (row.status, row.updated_at, row.next_attempt_at) == ("sending", given, given)

    with app.app_context():
        row = db.session.scalar(select(Delivery).where(Delivery.id == planned.delivery_id))
        before = utcnow()
        states.transition(row, "retrying", next_attempt_at=before)
        db.session.commit()
        after = utcnow()
        assert row.status == "retrying" and before <= row.updated_at <= after
