"""What happens when a receiver fails: retries with the same webhook-id and
body, Retry-After, 410 deletes the hook, redirects are not followed,
timeouts, auto-disable, replay."""

from standardwebhooks import Webhook
from support.delivery import subscribe, wait_delivery, wait_dispatched
from support.receiver import Answer


def statuses(delivery):
    return [a["status_code"] for a in delivery["attempt_log"]]


def test_failed_attempts_are_retried_with_the_same_id_and_body(alice, receiver, delivery_worker):
    receiver.plan("/hook", Answer(500), Answer(503))
    hook = subscribe(alice, receiver)
    alice.create_task()

    first, second, third = receiver.wait_for(3)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    assert first.body == second.body == third.body
    for captured in (first, second, third):
        Webhook(hook["secret"]).verify(captured.body, captured.headers)
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert statuses(delivery) == [500, 503, 200] and delivery["attempts"] == 3
    assert alice.get(f"/api/v1/hooks/{hook['id']}").json["failure_count"] == 0  # one success resets


def test_retry_after_is_honoured(alice, receiver, start_delivery_worker):
    # Retry-After is honoured up to the schedule's longest step (1.5 s here).
    start_delivery_worker(HUB_WEBHOOK_RETRY_SCHEDULE="0.2,0.2,1.5")
    receiver.plan("/hook", Answer(429, headers={"Retry-After": "1"}))
    subscribe(alice, receiver)
    alice.create_task()
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 0.95  # the schedule alone would retry after ~0.2 s


def test_retries_end_and_the_delivery_fails(alice, receiver, delivery_worker):
    receiver.plan("/hook", *[Answer(500)] * 4)
    hook = subscribe(alice, receiver)
    alice.create_task()
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "failed")
    assert statuses(delivery) == [500] * 4  # the first attempt and the 3 scheduled retries
    assert "No retries left" in delivery["last_error"]


def test_410_deletes_the_subscription(alice, receiver, delivery_worker):
    receiver.plan("/hook", Answer(410))
    hook = subscribe(alice, receiver)
    alice.create_task()
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "failed")
    assert statuses(delivery) == [410]
    assert alice.get(f"/api/v1/hooks/{hook['id']}").json["status"] == "deleted"
    assert alice.get("/api/v1/hooks").json == []
    # Zapier unsubscribing afterwards still gets its 200 + JSON.
    assert alice.delete(f"/api/v1/hooks/{hook['id']}").status_code == 200

    other = subscribe(alice, receiver, path="/other")
    alice.create_task()
    receiver.wait_for(1, "/other")
    assert len(receiver.received("/hook")) == 1  # nothing more to the deleted hook
    wait_delivery(alice, other["id"], lambda d: d[0]["status"] == "delivered")


def test_redirects_are_failures_and_not_followed(alice, receiver, delivery_worker):
    receiver.plan("/hook", Answer(302, headers={"Location": receiver.url("/elsewhere")}))
    hook = subscribe(alice, receiver)
    alice.create_task()
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert statuses(delivery) == [302, 200]
    assert "not followed" in delivery["attempt_log"][0]["error"]
    assert receiver.received("/elsewhere") == []


def test_a_slow_receiver_times_out_and_is_retried(alice, receiver, delivery_worker):
    receiver.plan("/hook", Answer(delay=2.5))  # HUB_WEBHOOK_TIMEOUT is 1 s here
    hook = subscribe(alice, receiver)
    alice.create_task()
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert statuses(delivery) == [None, 200]
    assert "Timed out" in delivery["attempt_log"][0]["error"]
    assert 900 <= delivery["attempt_log"][0]["latency_ms"] < 2400


def test_sustained_failure_disables_and_replay_enables(app, alice, receiver, start_delivery_worker):
    start_delivery_worker(HUB_WEBHOOK_DISABLE_AFTER="0.3")
    receiver.plan("/hook", *[Answer(500)] * 20)
    hook = subscribe(alice, receiver)
    alice.create_task()
    alice.create_task()
    hook_url = f"/api/v1/hooks/{hook['id']}"
    from support import wait_for

    wait_for(lambda: alice.get(hook_url).json["status"] == "disabled", 15, message="the hook to be disabled")
    failing = alice.get(hook_url).json["failure_count"]
    assert failing >= 2
    wait_delivery(alice, hook["id"], lambda d: all(x["status"] == "failed" for x in d), message="both failed")

    alice.create_task()  # not sent: the hook is disabled
    wait_dispatched(app)
    receiver.plans["/hook"].clear()
    sent_before = len(receiver.received("/hook"))
    delivery = alice.get(f"/api/v1/hooks/{hook['id']}/deliveries").json[-1]
    replay = alice.post(f"/api/v1/deliveries/{delivery['id']}/replay")
    assert replay.status_code == 202, replay.json
    captured = receiver.wait_for(sent_before + 1, "/hook")[-1]
    assert captured.headers["webhook-id"] == delivery["webhook_id"]
    wait_for(lambda: alice.get(hook_url).json["status"] == "active", 10, message="the hook to be enabled")
    assert alice.get(hook_url).json["failure_count"] == 0
    assert len(alice.get(f"/api/v1/hooks/{hook['id']}/deliveries").json) == 2  # the third task was not delivered


def test_replay_of_a_running_or_foreign_delivery_is_refused(alice, bob, receiver, delivery_worker):
    hook = subscribe(alice, receiver)
    alice.create_task()
    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert bob.post(f"/api/v1/deliveries/{delivery['id']}/replay").status_code == 404
    assert alice.post(f"/api/v1/deliveries/{delivery['id']}/replay").status_code == 202
    receiver.wait_for(2)
    # The replayed attempt's outcome before the hook goes: the receiver runs in
    # this busy process, and an answer past the 1 s timeout leaves a retry
    # that deleting the hook would cancel.
    wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    alice.delete(f"/api/v1/hooks/{hook['id']}")
    assert alice.post(f"/api/v1/deliveries/{delivery['id']}/replay").status_code == 409
