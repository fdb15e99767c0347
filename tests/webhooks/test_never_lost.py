"""At least once, never lost: a worker killed with SIGKILL mid-delivery, or
Redis stopped while tasks are created and then restarted, still ends with
every event delivered."""

import threading

from standardwebhooks import Webhook, WebhookVerificationError
from support import wait_for
from support.delivery import subscribe, undispatched, wait_delivery
from support.receiver import Answer


def delivered_task_ids(receiver, path, secret):
    ids = set()
    for captured in receiver.received(path):
        if len(captured.body) < int(captured.headers.get("content-length") or 0):
            continue  # cut off mid-body when the worker was killed: a receiver refuses it too
        try:
            ids.add(Webhook(secret).verify(captured.body, captured.headers)["data"]["task_id"])
        except WebhookVerificationError as error:  # fail now, with the reason, not after the wait
            raise AssertionError(
                f"a whole request at {path} failed verification: {error}; headers {captured.headers}"
            ) from error
    return ids


def test_a_worker_killed_mid_delivery_loses_nothing(alice, receiver, start_delivery_worker):
    hold = threading.Event()
    receiver.plan("/a", Answer(hold=hold))  # the first request hangs until the worker is dead
    a = subscribe(alice, receiver, path="/a")
    b = subscribe(alice, receiver, path="/b")
    # All 20 first attempts go out at once, so the dead worker's lease (one
    # round of sends) runs out in seconds rather than five rounds.
    wide = {"HUB_WEBHOOK_CONCURRENCY": "20"}
    doomed = start_delivery_worker(**wide)
    task_ids = {alice.create_task(title=f"task {i}")["task_id"] for i in range(10)}

    receiver.wait_for(1, "/a")
    doomed.kill()  # SIGKILL, worker and anything it started
    hold.set()
    start_delivery_worker(**wide)

    for hook, path in ((a, "/a"), (b, "/b")):
        wait_for(
            lambda path=path, secret=hook["secret"]: delivered_task_ids(receiver, path, secret) >= task_ids,
            30,
            message=f"every task at {path}",
        )
        wait_delivery(
            alice,
            hook["id"],
            lambda d: len(d) == 10 and all(x["status"] == "delivered" for x in d),
            message=f"{path} deliveries recorded",
        )
    # The held send is whichever of the 20 at once reached the receiver first, not
    # necessarily the oldest delivery: find the ones the kill cut.
    deliveries = alice.get(f"/api/v1/hooks/{a['id']}/deliveries").json
    cut = [d for d in deliveries if "worker stopped" in (d["attempt_log"][0]["error"] or "")]
    assert cut, deliveries
    assert all(d["attempt_log"][-1]["status_code"] == 200 for d in cut)
    # Retried with the same id: a receiver that dedupes on webhook-id sees each event once.
    held = receiver.received("/a")[0].headers["webhook-id"]
    assert [r.headers["webhook-id"] for r in receiver.received("/a")].count(held) == 2


def test_redis_stopped_while_tasks_are_created(own_redis, app, alice, receiver, start_delivery_worker, caplog):
    hook = subscribe(alice, receiver)
    start_delivery_worker()
    before = {alice.create_task(title="before")["task_id"]}
    wait_for(lambda: delivered_task_ids(receiver, "/hook", hook["secret"]) >= before, 15, message="the first task")

    own_redis.stop()
    during = {alice.create_task(title=f"during {i}")["task_id"] for i in range(5)}  # still 201s
    assert undispatched(app) == 5
    assert "left for the sweeper" in caplog.text
    own_redis.start()

    after = {alice.create_task(title="after")["task_id"]}
    everything = before | during | after
    wait_for(
        lambda: delivered_task_ids(receiver, "/hook", hook["secret"]) >= everything,
        30,
        message="every task created around the outage",
    )
    wait_for(lambda: undispatched(app) == 0, 10, message="the outbox to drain")
