"""The input_required state in-process: a worker's agent asks, the task waits
off any worker, the owner's reply (on the task, or to its conversation)
resumes the same task with the conversation as context; cancel, isolation
and bad input."""

import pytest

from hub.db import db
from hub.models import Event

QUESTION = "Which branch should I use?"


def asked(alice, worker, **fields):
    """A task whose agent asked QUESTION; (task as created, worker id)."""
    created = alice.create_task(title="Deploy", prompt="Deploy the app", **fields)
    wid = worker.register()
    assert worker.claim(wid)["id"] == created["id"]
    answer = worker.post(f"/tasks/{created['id']}/ask", {"question": QUESTION})
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "input_required"
    return created, wid


def events_of(app, task_id):
    with app.app_context():
        return [(e.type, e.data) for e in db.session.query(Event).filter_by(task_id=task_id).order_by(Event.pk)]


def test_asking_parks_the_task_with_its_question_in_a_conversation(app, alice, worker):
    created, wid = asked(alice, worker)
    shown = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert shown["status"] == "input_required" and shown["conversation_id"]
    messages = alice.get(f"/api/v1/conversations/{shown['conversation_id']}/messages").json
    assert [(m["role"], m["content"], m["task_id"]) for m in messages] == [
        ("user", "Deploy the app", created["id"]),
        ("assistant", QUESTION, created["id"]),
    ]
    (kind, data) = events_of(app, created["id"])[-1]
    assert kind == "task.input_required"
    assert data["status"] == "input_required" and data["question"] == QUESTION
    assert data["question_message_id"] == messages[1]["message_id"]
    assert data["conversation_id"] == shown["conversation_id"]
    # Off the worker: nobody can claim it, and its old worker holds it no more (no heartbeat, no outcome).
    assert worker.claim(wid) is None
    assert worker.post(f"/tasks/{created['id']}/heartbeat").status_code == 404
    assert worker.post(f"/tasks/{created['id']}/complete", {"result": "done anyway"}).status_code == 404
    assert alice.get("/api/v1/tasks?status=input_required").json[0]["id"] == created["id"]


def test_a_reply_resumes_the_same_task_which_sees_the_conversation(app, alice, worker):
    created, wid = asked(alice, worker)
    sent = alice.post(f"/api/v1/tasks/{created['id']}/messages", json={"message": "main, please"})
    assert sent.status_code == 201, sent.json
    assert sent.json["role"] == "user" and sent.json["task_id"] == created["id"]
    assert alice.get(f"/api/v1/tasks/{created['id']}").json["status"] == "pending"

    again = worker.claim(wid)
    assert again["id"] == created["id"]
    assert [(m["role"], m["content"]) for m in again["messages"]] == [
        ("user", "Deploy the app"),
        ("assistant", QUESTION),
        ("user", "main, please"),
    ]
    assert worker.post(f"/tasks/{created['id']}/complete", {"result": "Deployed main"}).status_code == 200
    done = alice.get(f"/api/v1/tasks/{created['id']}").json
    assert done["status"] == "completed" and done["result"] == "Deployed main"
    assert len(alice.get("/api/v1/tasks").json) == 1  # no second task
    assert [kind for kind, _ in events_of(app, created["id"])] == [
        "task.created",
        "task.started",
        "task.input_required",
        "task.started",
        "task.completed",
        "message.created",  # the agent's reply in the conversation
    ]
    # Answered: a second reply is refused and adds nothing.
    late = alice.post(f"/api/v1/tasks/{created['id']}/messages", json={"message": "also"})
    assert late.status_code == 409 and late.json["code"] == "task_not_waiting"
    messages = alice.get(f"/api/v1/conversations/{done['conversation_id']}/messages").json
    assert [m["content"] for m in messages][-2:] == ["main, please", "Deployed main"]


def test_send_message_to_the_conversation_resumes_the_waiting_task(alice, worker):
    first = alice.post("/api/v1/messages", json={"message": "Ship it", "conversation_id": "T-1"}).json
    wid = worker.register()
    assert worker.claim(wid)["id"] == first["task_id"]
    worker.post(f"/tasks/{first['task_id']}/ask", {"question": "Today or tomorrow?"})

    reply = alice.post("/api/v1/messages", json={"message": "today", "conversation_id": "T-1"})
    assert reply.status_code == 201 and reply.json["task_id"] == first["task_id"]
    assert alice.get(f"/api/v1/tasks/{first['task_id']}").json["status"] == "pending"
    assert len(alice.get("/api/v1/tasks").json) == 1
    again = worker.claim(wid)
    assert again["id"] == first["task_id"]
    assert [m["content"] for m in again["messages"]] == ["Ship it", "Today or tomorrow?", "today"]
    worker.post(f"/tasks/{first['task_id']}/complete", {"result": "Shipped"})
    # Nothing waits now: the next message is a new turn, a new task.
    later = alice.post("/api/v1/messages", json={"message": "thanks", "conversation_id": "T-1"}).json
    assert later["task_id"] != first["task_id"]


def test_cancel_works_while_waiting_and_then_a_reply_is_refused(alice, worker):
    created, _ = asked(alice, worker)
    cancelled = alice.post(f"/api/v1/tasks/{created['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    refused = alice.post(f"/api/v1/tasks/{created['id']}/messages", json={"message": "main"})
    assert refused.status_code == 409 and refused.json["code"] == "task_not_waiting"
    assert alice.get(f"/api/v1/tasks/{created['id']}").json["status"] == "cancelled"


def test_only_the_owner_can_reply(alice, bob, worker):
    created, _ = asked(alice, worker)
    response = bob.post(f"/api/v1/tasks/{created['id']}/messages", json={"message": "mine now"})
    assert response.status_code == 404
    conversation = alice.get(f"/api/v1/tasks/{created['id']}").json["conversation_id"]
    # Bob's message under the same conversation id is his own conversation: Alice's task still waits.
    bob.post("/api/v1/messages", json={"message": "hi", "conversation_id": conversation})
    assert alice.get(f"/api/v1/tasks/{created['id']}").json["status"] == "input_required"
    assert len(alice.get(f"/api/v1/conversations/{conversation}/messages").json) == 2


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "   "}, {"message": "x" * 100_001}])
def test_a_bad_reply_is_422_and_changes_nothing(alice, worker, body):
    created, _ = asked(alice, worker)
    response = alice.post(f"/api/v1/tasks/{created['id']}/messages", json=body)
    assert response.status_code == 422 and "message" in response.json["errors"]
    assert alice.get(f"/api/v1/tasks/{created['id']}").json["status"] == "input_required"


def test_a_running_task_takes_no_reply_and_a_blank_question_is_refused(alice, worker):
    created = alice.create_task()
    wid = worker.register()
    worker.claim(wid)
    refused = alice.post(f"/api/v1/tasks/{created['id']}/messages", json={"message": "hello?"})
    assert refused.status_code == 409 and refused.json["task_status"] == "running"
    blank = worker.post(f"/tasks/{created['id']}/ask", {"question": " "})
    assert blank.status_code == 422 and "question" in blank.json["errors"]
    assert alice.get(f"/api/v1/tasks/{created['id']}").json["status"] == "running"


def test_a_waiting_task_keeps_its_concurrency_slot(app, make_user, worker):
    limit = app.config["HUB_TIER_CONCURRENT_TASKS"]["free"]
    carol = make_user("carol")
    first = carol.create_task()
    wid = worker.register()
    worker.claim(wid)
    worker.post(f"/tasks/{first['id']}/ask", {"question": "?"})
    for _ in range(limit - 1):
        carol.create_task()
    refused = carol.post("/api/v1/tasks", json={"title": "one more", "prompt": "p"})
    assert refused.status_code == 429 and refused.json["code"] == "concurrency_limit"
    # Its reply is never refused for want of a slot.
    assert carol.post(f"/api/v1/tasks/{first['id']}/messages", json={"message": "go"}).status_code == 201


def test_connectors_reply_through_the_hub_api(app, alice, bob, worker):
    from connectors.base import hub
    from hub.services.accounts import get_user

    created, _ = asked(alice, worker)
    with app.app_context():
        user = get_user("alice")
        with pytest.raises(hub.ValidationFailed) as blank:
            hub.reply_to_task(user, created["id"], " ")
        assert "message" in blank.value.errors
        with pytest.raises(hub.NotFound):
            hub.reply_to_task(get_user("bob"), created["id"], "mine")
        sent = hub.reply_to_task(user, created["id"], "main")
        assert (sent["role"], sent["content"], sent["task_id"]) == ("user", "main", created["id"])
        assert hub.get_task(user, created["id"])["status"] == "pending"
        with pytest.raises(hub.Conflict):
            hub.reply_to_task(user, created["id"], "again")


@pytest.mark.usefixtures("webhook_settings")
def test_a_reply_sent_with_a_callback_gives_the_waiting_task_that_callback_once(alice, worker):
    first = alice.post("/api/v1/messages", json={"message": "Ship it", "conversation_id": "T-2"}).json
    wid = worker.register()
    worker.claim(wid)
    worker.post(f"/tasks/{first['task_id']}/ask", {"question": "Today?"})
    callback = {"conversation_id": "T-2", "callback_url": "http://127.0.0.1:9/resume"}
    reply = alice.post("/api/v1/messages", json={"message": "yes", **callback})
    assert reply.status_code == 201 and reply.json["task_id"] == first["task_id"]
    assert reply.json["callback_secret"].startswith("whsec_")
    shown = alice.get(f"/api/v1/tasks/{first['task_id']}/callback").json
    assert (shown["event"], shown["url"], shown["delivery"]) == ("message.created", "http://127.0.0.1:9/…", None)
    # It asks again; a second reply with a callback gives the task a second one, beside the first.
    worker.claim(wid)
    worker.post(f"/tasks/{first['task_id']}/ask", {"question": "Which region?"})
    again = alice.post("/api/v1/messages", json={"message": "eu", **callback})
    assert again.status_code == 201 and again.json["task_id"] == first["task_id"]
    assert again.json["callback_secret"] != reply.json["callback_secret"]
    assert alice.get(f"/api/v1/tasks/{first['task_id']}").json["status"] == "pending"
    assert alice.get(f"/api/v1/tasks/{first['task_id']}/callback").json["id"] == shown["id"]  # the first
