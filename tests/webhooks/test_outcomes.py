"""What a delivery worker writes after it sends (hub/webhooks/outcomes.py),
driven step by step in this process against the test's database: each
attempt's outcome logged, timed and counted; the retry schedule (started over
by a replay); the hook's failure count, deletion (410) and disabling; the
leases of claims renewed; claims handed back unsent. No worker runs: the test
fans the event out and claims attempts itself, with the hub's own functions,
and reads the result as the owner does, through the API. Each step runs in
its own app context (so its session's commit is what the next step sees)."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.delivery import deliveries, subscribe

from hub.db import utcnow
from hub.webhooks.sender import Outcome


def fan_out(app) -> dict:
    """The attempts a worker would send now, by hook id."""
    from hub.db import db
    from hub.models import Subscription
    from hub.webhooks import delivery

    with app.app_context():
        _, planned = delivery.fan_out(app.config)
        return {db.session.get(Subscription, p.subscription_pk).id: p for p in planned}


def claim(app, planned):
    """Claim the delivery's next attempt, as the worker does when it is due."""
    from hub.webhooks import delivery

    with app.app_context():
        [again] = delivery.claim(planned.delivery_id, planned.number + 1, app.config)
        return again


def record(app, outcomes: list, config=None) -> None:
    """``[(planned, Outcome), ...]`` recorded as one batch."""
    from hub.webhooks import outcomes as recorder

    with app.app_context():
        started = [utcnow()] * len(outcomes)
        recorder.record([p for p, _ in outcomes], [o for _, o in outcomes], started, config or app.config)


def stored(app, planned) -> dict:
    """The delivery's row as the database now has it."""
    from hub.db import db
    from hub.models import Delivery

    with app.app_context():
        row = db.session.scalar(db.select(Delivery).where(Delivery.id == planned.delivery_id))
        return {"status": row.status, "attempts": row.attempts, "next_attempt_at": row.next_attempt_at}


def scrape(client) -> dict:
    samples = {}
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def hooks_and_attempts(app, alice, receiver, count: int):
    hooks = [subscribe(alice, receiver, path=f"/hook{n}") for n in range(count)]
    alice.create_task()
    planned = fan_out(app)
    return hooks, [planned[hook["id"]] for hook in hooks]


def test_each_outcome_is_logged_counted_and_timed(app, client, alice, receiver):
    (ok, gone, failing, _), (to_ok, to_gone, to_failing, also_failing) = hooks_and_attempts(app, alice, receiver, 4)
    before = scrape(client)
    record(
        app,
        [
            (to_ok, Outcome(200, 12.3456)),
            (to_gone, Outcome(410, 20.0, "HTTP 410")),
            (to_failing, Outcome(500, 1500.0, "HTTP 500")),
            (also_failing, Outcome(None, 1000.0, "Timed out.")),
        ],
    )
    after = scrape(client)

    [delivered] = deliveries(alice, ok["id"])
    assert (delivered["status"], delivered["attempts"], delivered["next_attempt_at"]) == ("delivered", 1, None)
    assert (delivered["last_status_code"], delivered["last_latency_ms"], delivered["last_error"]) == (200, 12.35, None)
    [attempt] = delivered["attempt_log"]
    assert (attempt["number"], attempt["status_code"], attempt["latency_ms"], attempt["error"]) == (1, 200, 12.35, None)

    [ended] = deliveries(alice, gone["id"])
    assert (ended["status"], ended["last_status_code"], ended["next_attempt_at"]) == ("failed", 410, None)
    assert alice.get(f"/api/v1/hooks/{gone['id']}").json["status"] == "deleted"

    [retrying] = deliveries(alice, failing["id"])
    assert (retrying["status"], retrying["last_error"]) == ("retrying", "HTTP 500")
    assert [(a["status_code"], a["latency_ms"]) for a in retrying["attempt_log"]] == [(500, 1500.0)]
    hook = alice.get(f"/api/v1/hooks/{failing['id']}").json
    assert (hook["status"], hook["failure_count"]) == ("active", 1)
    assert alice.get(f"/api/v1/hooks/{ok['id']}").json["failure_count"] == 0

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    counted = {name: delta("hub_delivery_attempts_total", outcome=name) for name in ("delivered", "gone", "failed")}
    assert counted == {"delivered": 1, "gone": 1, "failed": 2}
    assert delta("hub_delivery_duration_seconds_count") == 4
    assert delta("hub_delivery_duration_seconds_sum") == pytest.approx((12.3456 + 20 + 1500 + 1000) / 1000, rel=1e-9)


def test_a_hooks_counters_move_only_for_its_own_attempts(app, alice, receiver):
    """A success resets only its hook's failure count, a 410 deletes only its hook."""
    hooks, planned = hooks_and_attempts(app, alice, receiver, 3)
    record(app, [(p, Outcome(500, 1.0, "HTTP 500")) for p in planned])
    recovers, goes, keeps_failing = hooks
    second = [claim(app, p) for p in planned]
    assert all(p.failing for p in second)

    record(app, [(second[0], Outcome(200, 1.0))])
    counts = {h["id"]: h["failure_count"] for h in alice.get("/api/v1/hooks").json}
    assert counts == {recovers["id"]: 0, goes["id"]: 1, keeps_failing["id"]: 1}

    record(app, [(second[1], Outcome(410, 1.0, "HTTP 410"))])
    assert {h["id"] for h in alice.get("/api/v1/hooks").json} == {recovers["id"], keeps_failing["id"]}

    record(app, [(second[2], Outcome(500, 1.0, "HTTP 500"))])
    hook = alice.get(f"/api/v1/hooks/{keeps_failing['id']}").json
    assert (hook["status"], hook["failure_count"]) == ("active", 2)


def test_retries_follow_the_schedule_and_a_replay_starts_it_over(app, alice, receiver):
    config = dict(app.config, HUB_WEBHOOK_RETRY_SCHEDULE="60")  # one retry, a minute after the first failure
    [hook], [first] = hooks_and_attempts(app, alice, receiver, 1)

    def fails(planned):
        sent = utcnow()
        record(app, [(planned, Outcome(500, 1.0, "HTTP 500"))], config)
        return sent

    sent = fails(first)
    row = stored(app, first)
    assert row["status"] == "retrying"
    assert timedelta(seconds=48) <= row["next_attempt_at"] - sent <= timedelta(seconds=73)  # 60 s +-20% jitter

    second = claim(app, first)
    fails(second)
    [ended] = deliveries(alice, hook["id"])
    assert (ended["status"], ended["attempts"], ended["next_attempt_at"]) == ("failed", 2, None)
    assert ended["last_error"] == "HTTP 500 No retries left."

    assert alice.post(f"/api/v1/deliveries/{ended['id']}/replay").status_code == 202
    third = claim(app, second)  # the replay's attempt is number 3
    sent = fails(third)
    row = stored(app, third)
    assert (row["status"], row["attempts"]) == ("retrying", 3)  # the schedule started over at the replay
    assert timedelta(seconds=48) <= row["next_attempt_at"] - sent <= timedelta(seconds=73)


def test_sustained_failure_disables_the_hook_and_says_so(app, alice, receiver, caplog):
    config = dict(app.config, HUB_WEBHOOK_DISABLE_AFTER=0)  # the first failure is sustained enough
    [hook, other], [attempt, _] = hooks_and_attempts(app, alice, receiver, 2)
    with caplog.at_level("WARNING", logger="hub.webhooks.outcomes"):
        record(app, [(attempt, Outcome(500, 1.0, "HTTP 500"))], config)
    assert alice.get(f"/api/v1/hooks/{hook['id']}").json["status"] == "disabled"
    assert alice.get(f"/api/v1/hooks/{other['id']}").json["status"] == "active"
    assert f"webhook subscription {hook['id']} disabled" in caplog.text


def test_a_batch_records_only_the_attempts_still_held(app, alice, receiver):
    """The sweeper took one delivery back (its lease ran out): the late
    outcome of that attempt is not logged over it; the rest of the batch is."""
    from hub.webhooks import outcomes, sweeper

    (late, on_time), (taken_back, held) = hooks_and_attempts(app, alice, receiver, 2)
    kept = stored(app, held)["next_attempt_at"]
    with app.app_context():
        outcomes.renew([taken_back], utcnow() - timedelta(seconds=1))  # its lease runs out
    assert stored(app, held)["next_attempt_at"] == kept
    with app.app_context():
        assert sweeper.reclaim_expired() == 1
    record(app, [(taken_back, Outcome(200, 1.0)), (held, Outcome(200, 1.0))])

    [lost] = deliveries(alice, late["id"])
    assert lost["status"] == "retrying"
    assert [a["status_code"] for a in lost["attempt_log"]] == [None]  # the sweeper's entry only
    [delivered] = deliveries(alice, on_time["id"])
    assert delivered["status"] == "delivered"


def test_renewing_pushes_only_the_leases_of_claims_still_held(app, alice, receiver):
    from hub.webhooks import outcomes, sweeper

    _, (renewed, other) = hooks_and_attempts(app, alice, receiver, 2)
    other_lease = stored(app, other)["next_attempt_at"]
    lease_end = utcnow() + timedelta(hours=1)
    with app.app_context():
        outcomes.renew([renewed], lease_end)
    assert stored(app, renewed) == {"status": "sending", "attempts": 1, "next_attempt_at": lease_end}
    assert stored(app, other)["next_attempt_at"] == other_lease

    # Taken back by the sweeper and claimed again, the delivery is on its next
    # attempt: the old claim's worker (still sending) renews nothing.
    with app.app_context():
        outcomes.renew([renewed], utcnow() - timedelta(seconds=1))
    with app.app_context():
        assert sweeper.reclaim_expired() == 1
    due = stored(app, renewed)
    assert due["status"] == "retrying" and due["next_attempt_at"] <= utcnow()
    with app.app_context():  # before it is claimed again: the retry stays due now
        outcomes.renew([renewed], lease_end)
    assert stored(app, renewed) == due
    again = claim(app, renewed)
    again_lease = stored(app, again)["next_attempt_at"]
    with app.app_context():
        outcomes.renew([renewed], lease_end + timedelta(hours=1))
    assert stored(app, again)["next_attempt_at"] == again_lease


def test_an_attempt_handed_back_unsent_is_due_again_as_if_never_claimed(app, alice, receiver):
    from hub.webhooks import delivery, outcomes

    (hook, other_hook), (back, other) = hooks_and_attempts(app, alice, receiver, 2)
    due = utcnow() + timedelta(minutes=5)
    with app.app_context():
        outcomes.release([back], due)
    assert stored(app, back) == {"status": "retrying", "attempts": 0, "next_attempt_at": due}
    [waiting] = deliveries(alice, hook["id"])
    assert waiting["attempt_log"] == []  # nothing was sent, so nothing is logged
    assert deliveries(alice, other_hook["id"])[0]["status"] == "sending"

    with app.app_context():
        [claimed] = delivery.claim(back.delivery_id, 1, app.config)  # the same attempt, claimed again
    assert claimed.number == 1
    assert stored(app, back)["status"] == "sending"
    assert stored(app, other)["attempts"] == 1
