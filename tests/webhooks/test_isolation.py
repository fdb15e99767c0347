"""One slow receiver never delays the others, and a worker's claims last as
long as the worker does: a hung endpoint holds up only its own deliveries,
a delivery whose worker was SIGKILLed mid-send is retried within seconds,
and a receiver slower than the lease still gets each delivery once."""

import threading
import time
from datetime import timedelta

import pytest
from redis import Redis
from rq import Worker as RQWorker
from support import wait_for
from support.delivery import deliveries, subscribe, wait_delivery
from support.receiver import Answer

from hub.db import db, utcnow
from hub.models import Delivery, DeliveryAttempt

# The real timeout: a hung receiver holds a send for 15 s, as in production.
SLOW = {"HUB_WEBHOOK_TIMEOUT": "15"}


@pytest.fixture
def hold(receiver):
    """Set at the end of the test: the held requests are answered then."""
    event = threading.Event()
    yield event
    event.set()


def task_of(captured):
    return captured.json()["data"]["task_id"]


def test_a_hung_endpoint_does_not_delay_the_others(alice, receiver, start_delivery_worker, hold):
    receiver.plan("/hung", *[Answer(hold=hold)] * 50)  # every request hangs until the test ends
    subscribe(alice, receiver, path="/hung")
    subscribe(alice, receiver, path="/ok")
    start_delivery_worker(**SLOW)
    alice.create_task(title="warm-up")
    receiver.wait_for(1, "/ok", timeout=30)  # the worker is up

    created = {}
    for i in range(30):
        before = time.time()
        created[alice.create_task(title=f"t{i}")["task_id"]] = before
        time.sleep(0.05)  # a steady trickle of events, not one batch
    arrived = {task_of(c): c.at for c in receiver.wait_for(31, "/ok", timeout=60)}
    delays = sorted(arrived[task] - at for task, at in created.items())
    print(f"healthy endpoint: create -> delivery p50 {delays[15]:.3f} s, max {delays[-1]:.3f} s")
    # Before lanes a batch waited on its slowest send: 15 s here.
    assert delays[-1] < 2.0, f"healthy endpoint delayed up to {delays[-1]:.1f} s"
    assert len(receiver.received("/hung")) >= 1  # the other one really hangs meanwhile


def rq_workers(hub_env) -> int:
    return len(RQWorker.all(connection=Redis.from_url(hub_env["REDIS_URL"])))


def test_a_send_cut_by_sigkill_is_retried_within_seconds(alice, receiver, start_delivery_worker, hold, hub_env):
    receiver.plan("/slow", Answer(hold=hold))
    hook = subscribe(alice, receiver, path="/slow")
    doomed = start_delivery_worker(**SLOW)
    wait_for(lambda: rq_workers(hub_env) == 1, 30, message="the first worker to listen")
    alice.create_task()
    receiver.wait_for(1, "/slow", timeout=30)
    start_delivery_worker(**SLOW)  # the one left to retry it, already listening when the first dies
    wait_for(lambda: rq_workers(hub_env) == 2, 30, message="the second worker to listen")

    killed_at = time.time()
    doomed.kill()
    hold.set()
    _first, again = receiver.wait_for(2, "/slow", timeout=30)
    # Before, the claim's lease was five timeouts (76 s); now a live worker
    # renews it, and it lapses within HUB_WEBHOOK_LEASE_SECONDS (10 s).
    print(f"retried {again.at - killed_at:.1f} s after the kill")
    assert again.at - killed_at < 15, f"retried {again.at - killed_at:.1f} s after the kill"
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert "worker stopped" in delivery["attempt_log"][0]["error"]
    assert delivery["attempt_log"][-1]["status_code"] == 200


def test_a_receiver_slower_than_the_lease_gets_each_delivery_once(alice, receiver, start_delivery_worker):
    receiver.plan("/slow", Answer(delay=3), Answer(delay=3))
    hook = subscribe(alice, receiver, path="/slow")
    start_delivery_worker(HUB_WEBHOOK_LEASE_SECONDS="1", **SLOW)  # the worker renews every third of a second
    alice.create_task()
    alice.create_task()
    found = wait_delivery(
        alice, hook["id"], lambda d: len(d) == 2 and all(x["status"] == "delivered" for x in d), timeout=30
    )
    assert [x["attempts"] for x in found] == [1, 1]
    assert len(receiver.received("/slow")) == 2


def test_a_stalled_lane_puts_what_it_cannot_hold_back_unsent(app, alice, receiver, hold, monkeypatch, caplog):
    from hub.webhooks import lanes
    from hub.webhooks.delivery import dispatch_pending

    monkeypatch.setattr(lanes, "PARKED", 2)
    monkeypatch.setattr(lanes, "STALL_SECONDS", 0.2)
    app.config.update(HUB_WEBHOOK_TIMEOUT=15.0, HUB_WEBHOOK_CONCURRENCY=4)
    receiver.plan("/hung", *[Answer(hold=hold)] * 20)
    hook = subscribe(alice, receiver, path="/hung")
    for i in range(4):
        alice.create_task(title=f"first {i}")
    with app.app_context():
        dispatch_pending()
    receiver.wait_for(4, "/hung")  # its four slots are taken, and nothing comes back
    for i in range(5):
        alice.create_task(title=f"then {i}")
    sending = lanes.lanes(app)
    wait_for(
        lambda: sending.lanes[receiver.url("/hung")].stalled(time.monotonic(), 4),
        message="the lane to stall (no answer for STALL_SECONDS, every slot busy)",
    )
    with app.app_context():
        dispatch_pending()

    with app.app_context():
        put_back = db.session.query(Delivery).filter_by(status="retrying").all()
        assert len(put_back) == 3  # two wait in the lane, three go back
        assert {d.attempts for d in put_back} == {0}  # not an attempt: nothing logged, no retry used
        assert (
            db.session.query(DeliveryAttempt).filter(DeliveryAttempt.delivery_pk.in_([d.pk for d in put_back])).count()
            == 0
        )
        assert all(d.next_attempt_at > utcnow() + timedelta(seconds=10) for d in put_back)  # not at once
    assert [r.getMessage() for r in caplog.records if "stalls" in r.getMessage()] == [
        f"{receiver.url('/hung')} stalls: delivery attempts put back in the database: 3 more, due again in about 30 s"
    ]
    hold.set()
    wait_delivery(alice, hook["id"], lambda d: sum(x["status"] == "delivered" for x in d) == 6)
    wait_for(lambda: lanes.lanes(app).holding() == 0, message="the lanes to let go")
    assert len(deliveries(alice, hook["id"])) == 9
