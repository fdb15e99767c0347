"""The worker API in-process: claim order and filters, leases, cancel,
complete/fail, and what a worker token may (not) see."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from support import wait_for


def test_claim_takes_priority_first_then_age(alice, worker):
    low = alice.create_task(title="low")
    high = alice.create_task(title="high", priority=5)
    older = alice.create_task(title="older-normal")
    wid = worker.register()
    claimed = [worker.claim(wid)["id"] for _ in range(3)]
    assert claimed == [high["id"], low["id"], older["id"]]
    assert worker.claim(wid) is None


def test_claim_filters_by_codebase_and_agent_type(alice, worker):
    codebase = alice.post("/api/v1/codebases", json={"name": "api", "path": "/srv/api"}).json["codebase_id"]
    alice.create_task(title="global build")
    planned = alice.create_task(title="api plan", codebase_id=codebase, agent_type="plan")
    wid = worker.register(codebases=[codebase], agent_types=["plan", "explore"])
    task = worker.claim(wid)
    assert task["id"] == planned["id"] and task["codebase_path"] == "/srv/api"
    assert worker.claim(wid) is None  # the global build task is not for this worker


def test_run_completes_with_result_timestamps_and_events(app, alice, worker):
    created = alice.create_task()
    wid = worker.register()
    task = worker.claim(wid)
    assert task["status"] == "running" and task["started_at"] and task["lease_expires_at"]
    beat = worker.post(f"/tasks/{task['id']}/heartbeat", {"output": "step 1\n"})
    assert beat.status_code == 200 and beat.json["cancel"] is False
    worker.post(f"/tasks/{task['id']}/heartbeat", {"output": "step 2\n"})
    done = worker.post(f"/tasks/{task['id']}/complete", {"result": "All green"})
    assert done.status_code == 200
    shown = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert shown["status"] == "completed" and shown["result"] == "All green"
    assert shown["completed_at"] and shown["duration_seconds"] >= 0
    output = alice.get(f"/api/v1/tasks/{created['id']}/output").json
    assert [c["text"] for c in output] == ["step 1\n", "step 2\n"]
    assert alice.get(f"/api/v1/tasks/{created['id']}/output?after={output[0]['seq']}").json[0]["text"] == "step 2\n"
    # Finished: a second outcome is refused and changes nothing.
    again = worker.post(f"/tasks/{task['id']}/fail", {"error": "late"})
    assert again.status_code == 409 and again.json["code"] == "task_not_running"
    from hub.models import Event

    with app.app_context():
        types = [e.type for e in Event.query.filter_by(task_id=created["id"]).order_by(Event.pk)]
    assert types == ["task.created", "task.started", "task.completed"]


def test_fail_records_the_error(alice, worker):
    created = alice.create_task()
    wid = worker.register()
    worker.claim(wid)
    assert worker.post(f"/tasks/{created['id']}/fail", {"error": "exit 2: boom"}).status_code == 200
    shown = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert shown["status"] == "failed" and shown["error"] == "exit 2: boom" and shown["failed_at"]


def test_cancel_reaches_the_worker_on_its_next_heartbeat(alice, worker):
    created = alice.create_task()
    wid = worker.register()
    worker.claim(wid)
    assert alice.post(f"/api/v1/tasks/{created['id']}/cancel").json["status"] == "cancelled"
    beat = worker.post(f"/tasks/{created['id']}/heartbeat", {"output": "late output"})
    assert beat.json["cancel"] is True and beat.json["status"] == "cancelled"
    assert worker.post(f"/tasks/{created['id']}/complete", {"result": "x"}).status_code == 409
    shown = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert shown["status"] == "cancelled" and shown["result"] is None


def test_lapsed_lease_retries_then_fails(app, alice, worker):
    app.config["HUB_WORKER_LEASE_SECONDS"] = 0.2
    created = alice.create_task()
    wid = worker.register()
    max_retries = created["max_retries"]
    for attempt in range(max_retries + 1):
        task = wait_for(lambda: worker.claim(wid, wait=2), timeout=5, message="the task back in pending")
        assert task["id"] == created["id"] and task["retry_count"] == attempt
    # The last lease lapses; a waiting claim notices and fails the task.
    assert worker.claim(wid, wait=1) is None
    shown = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert shown["status"] == "failed" and shown["retry_count"] == max_retries
    assert "lease" in shown["error"]


def lease_end(answer) -> datetime:
    return datetime.fromisoformat(answer["lease_expires_at"].replace("Z", "+00:00"))


def test_heartbeats_keep_the_lease(app, alice, worker):
    """A worker that beats every half lease keeps its task past the lease
    it was first given; each beat moves the lease on by a whole lease."""
    app.config["HUB_WORKER_LEASE_SECONDS"] = 2
    created = alice.create_task()
    wid = worker.register()
    first = lease_end(worker.claim(wid))
    other = worker.register("w2")
    beat = None
    while beat is None or lease_end(beat) - first < timedelta(seconds=1):
        beat_at = datetime.now(UTC)
        beat = worker.post(f"/tasks/{created['id']}/heartbeat").json
        assert beat["cancel"] is False and beat["status"] == "running"
        assert beat_at + timedelta(seconds=2) <= lease_end(beat) + timedelta(milliseconds=1)
        half = beat_at + timedelta(seconds=1)
        wait_for(lambda half=half: datetime.now(UTC) > half, message="half a lease")
        assert worker.claim(other) is None
    wait_for(lambda: datetime.now(UTC) > first, message="the first lease to pass")
    assert worker.claim(other) is None  # held by the beats alone
    shown = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert shown["status"] == "running" and shown["retry_count"] == 0


def test_a_waiting_claim_wakes_when_a_task_is_created(app, alice, worker):
    import redis

    from hub.wakeups import CHANNEL

    wid = worker.register()
    store = redis.Redis.from_url(app.config["REDIS_URL"])
    waiting_before = dict(store.pubsub_numsub(CHANNEL))[CHANNEL.encode()]
    got = {}

    def wait():
        got["task"] = worker.claim(wid, wait=10)
        got["at"] = time.monotonic()

    waiting = threading.Thread(target=wait)
    waiting.start()
    # The claim subscribes before it looks for work, so from then on a new
    # task wakes it; the point is that it waits.
    wait_for(
        lambda: dict(store.pubsub_numsub(CHANNEL))[CHANNEL.encode()] > waiting_before,
        message="the claim to listen for new tasks",
    )
    assert "task" not in got
    created = alice.create_task()
    answered = time.monotonic()
    waiting.join(10)
    assert got["task"]["id"] == created["id"]
    assert got["at"] - answered < 2  # woken, not timed out (bench/ measures the latency)


def test_worker_tokens_and_user_keys_stay_apart(alice, bob, worker, make_worker):
    created = alice.create_task()
    # A worker token is not a user's credential.
    for path in ("/api/v1/me", "/api/v1/tasks", f"/api/v1/tasks/{created['id']}"):
        response = worker.client.get(path, headers=worker.headers)
        assert response.status_code == 403 and response.json["code"] == "wrong_credential"
    # A user's key does not reach the worker API.
    response = alice.post("/api/v1/worker/register", json={"name": "sneaky"})
    assert response.status_code == 403
    # A worker sees only tasks its token's workers claimed.
    wid = worker.register()
    other = make_worker("other")
    other_wid = other.register()
    assert other.post(f"/{wid}/claim").status_code == 404
    worker.claim(wid)
    for path, body in (("heartbeat", {}), ("complete", {"result": "x"}), ("fail", {"error": "x"})):
        response = other.post(f"/tasks/{created['id']}/{path}", body)
        assert response.status_code == 404
    assert other.claim(other_wid) is None
    assert (
        worker.client.post(
            "/api/v1/worker/register", json={"name": "x"}, headers={"Authorization": "Bearer ctw_wrong"}
        ).status_code
        == 401
    )


def test_revoked_token_is_refused(app, worker):
    from hub.services import workers

    wid = worker.register()
    with app.app_context():
        workers.revoke_token(workers.list_tokens()[0].id)
    assert worker.post(f"/{wid}/claim").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "w", "agent_types": ["bogus"]}, "agent_types"),
        ({"name": "w", "codebases": "global"}, "codebases"),
    ],
)
def test_bad_registration_is_422(worker, body, field):
    response = worker.post("/register", body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_send_message_starts_a_task_and_the_reply_joins_the_conversation(app, alice, worker):
    first = alice.post("/api/v1/messages", json={"message": "What does the repo do?", "conversation_id": "T1"})
    assert first.status_code == 201
    body = first.json
    assert body["message_id"].startswith("msg_") and body["conversation_id"] == "T1"
    assert body["task_id"].startswith("task_")
    wid = worker.register()
    task = worker.claim(wid)
    assert task["id"] == body["task_id"] and task["conversation_id"] == "T1"
    assert task["messages"] == [{"role": "user", "content": "What does the repo do?"}]
    assert task["priority"] == 0 and task["agent_type"] == "general"
    from hub.models import Event

    with app.app_context():  # the agent's task is announced like any other, with the task as created
        [created] = Event.query.filter_by(task_id=body["task_id"], type="task.created").all()
    assert created.data["task_id"] == body["task_id"] and created.data["status"] == "pending"
    assert created.data["conversation_id"] == "T1"
    worker.post(f"/tasks/{task['id']}/complete", {"result": "It drives agents."})

    second = alice.post("/api/v1/messages", json={"message": "And how?", "conversation_id": "T1"}).json
    task = worker.claim(wid)
    assert task["id"] == second["task_id"]
    assert [m["content"] for m in task["messages"]] == ["What does the repo do?", "It drives agents.", "And how?"]
    assert "It drives agents." in task["prompt"] and task["prompt"].rstrip().endswith("And how?")
    worker.post(f"/tasks/{task['id']}/complete", {"result": "Over HTTP."})

    listed = alice.get("/api/v1/conversations/T1/messages").json
    assert [(m["role"], m["content"]) for m in listed] == [
        ("user", "What does the repo do?"),
        ("assistant", "It drives agents."),
        ("user", "And how?"),
        ("assistant", "Over HTTP."),
    ]
    assert listed[1]["task_id"] == body["task_id"]
    from hub.models import Event

    with app.app_context():
        replies = [e for e in Event.query.filter_by(type="message.created") if e.data["role"] == "assistant"]
    assert [e.data["content"] for e in replies] == ["It drives agents.", "Over HTTP."]
