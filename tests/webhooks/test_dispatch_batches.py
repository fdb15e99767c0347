"""One dispatch job takes the waiting events in batches: a batch holds at
most SEND_BATCH deliveries (one event's own fan-out may exceed it), the rest
wait for the next batch, and no event is ever taken twice."""

from support.delivery import subscribe

from hub.db import db
from hub.models import Delivery, Event
from hub.webhooks import delivery


def test_batches_stop_at_the_send_cap_and_take_each_event_once(app, alice, receiver, monkeypatch):
    for path in ("/a", "/b", "/c"):
        subscribe(alice, receiver, path=path)
    created = [alice.create_task(title=f"t{i}")["id"] for i in range(5)]  # 5 events x 3 hooks
    monkeypatch.setattr(delivery, "SEND_BATCH", 7)

    with app.app_context():
        batches = []
        more = True
        while more:
            more, planned = delivery.fan_out(app.config)
            batches.append(planned)
        sizes = [len(batch) for batch in batches]
        assert sizes == [6, 6, 3]  # two events (6 deliveries) fit under 7; a third would not
        taken = [(p.event.data["task_id"], p.target_url) for batch in batches for p in batch]
        assert len(taken) == len(set(taken)) == 15
        assert [task_id for task_id, _ in taken[::3]] == created  # oldest first
        assert db.session.query(Event).filter(Event.dispatched_at.is_(None)).count() == 0
        assert db.session.query(Delivery).filter_by(status="sending").count() == 15
        assert delivery.fan_out(app.config) == (False, [])  # nothing left to take


def test_one_events_fan_out_is_never_split(app, alice, receiver, monkeypatch):
    for i in range(4):
        subscribe(alice, receiver, path=f"/{i}")
    alice.create_task()
    monkeypatch.setattr(delivery, "SEND_BATCH", 2)

    with app.app_context():
        more, planned = delivery.fan_out(app.config)
        assert (more, len(planned)) == (False, 4)
