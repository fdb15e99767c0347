"""Per-task callbacks: a task created (or a message sent) with a
``callback_url`` is POSTed to that URL once, signed with its own secret,
when it ends; a Send Message turn when the agent replies. Real processes:
the hub's test client, a delivery worker, an agent worker on the worker API,
a receiver on 127.0.0.1."""

import logging
import socket

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook
from support import wait_for
from support.delivery import wait_dispatched
from support.receiver import Answer

from hub.db import db
from hub.models import Task

# The receiver's path carries what makes a callback URL a secret (Zapier's
# are a token in the path); it must never show again after the create.
SECRET_PATH = "/resume/s3cr3t-run-token"
SECRET_QUERY = "sig=q7Zk9"


def callback_url(receiver):
    return receiver.url(f"{SECRET_PATH}?{SECRET_QUERY}")


def create(user, receiver, **fields):
    response = user.post(
        "/api/v1/tasks",
        json={"title": "Fix the build", "prompt": "Make CI green", "callback_url": callback_url(receiver), **fields},
    )
    assert response.status_code == 201, response.json
    return response.json


def callback_of(user, task_id):
    response = user.get(f"/api/v1/tasks/{task_id}/callback")
    assert response.status_code == 200, response.json
    return response.json


def wait_callback(user, task_id, status):
    return wait_for(
        lambda: (c := callback_of(user, task_id))["delivery"] and c["delivery"]["status"] == status and c,
        15,
        interval=0.05,
        message=f"the callback {status}",
    )


def at_receiver(receiver, count=1):
    return receiver.wait_for(count, f"{SECRET_PATH}?{SECRET_QUERY}")


def test_a_completed_task_calls_back_once_signed_with_its_own_secret(app, alice, receiver, agent, delivery_worker):
    task = create(alice, receiver)
    assert task["callback_secret"].startswith("whsec_")
    assert task["callback_url"] == f"http://127.0.0.1:{receiver.port}/…"
    agent.complete(task["id"], "All green")

    [captured] = at_receiver(receiver)
    payload = Webhook(task["callback_secret"]).verify(captured.body, captured.headers)
    assert payload["type"] == "task.completed"
    assert payload["data"]["id"] == task["id"] and payload["data"]["status"] == "completed"
    assert payload["data"]["result"] == "All green"
    callback = wait_callback(alice, task["id"], "delivered")
    assert callback["delivery"]["webhook_id"] == payload["id"] and callback["delivery"]["attempts"] == 1
    assert callback["url"] == task["callback_url"] and callback["format"] == "standard"

    # The task's final state recorded a second time (a bug, a replayed job):
    # the callback has fired, so nothing more is sent.
    from hub.db import begin_write, db
    from hub.models import Task
    from hub.schemas import dump_task
    from hub.services import events

    with app.app_context():
        begin_write()
        row = db.session.query(Task).filter_by(id=task["id"]).one()
        events.record(row.user_pk, row.space_pk, "task.completed", dump_task(row), task_id=row.id)
        db.session.commit()
    wait_dispatched(app)
    assert len(receiver.received()) == 1
    assert callback_of(alice, task["id"])["delivery"]["id"] == callback["delivery"]["id"]


def test_a_callback_gets_one_delivery_at_most(app, alice, receiver):
    """The database holds it to once, whatever code runs twice."""
    from sqlalchemy.exc import IntegrityError

    from hub.db import begin_write, db, new_id, utcnow
    from hub.models import Delivery, Event, Subscription
    from hub.webhooks import states

    task = create(alice, receiver)
    with app.app_context():
        begin_write()
        callback = db.session.query(Subscription).filter_by(task_id=task["id"]).one()
        event = db.session.query(Event).filter_by(task_id=task["id"]).one()

        def row():
            values = {"id": new_id("dlv_"), "event_pk": event.pk, "subscription_pk": callback.pk, "callback": True}
            return Delivery(**states.created(utcnow(), **values))

        db.session.add(row())
        db.session.commit()
        begin_write()
        db.session.add(row())
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_failed_task_calls_back_with_its_error(alice, receiver, agent, delivery_worker):
    task = create(alice, receiver)
    agent.fail(task["id"], "The tests did not pass.")
    payload = Webhook(task["callback_secret"]).verify(*_raw(at_receiver(receiver)[0]))
    assert payload["type"] == "task.failed"
    assert payload["data"]["status"] == "failed" and payload["data"]["error"] == "The tests did not pass."


def test_a_cancelled_task_calls_back(alice, receiver, delivery_worker):
    task = create(alice, receiver)
    assert alice.post(f"/api/v1/tasks/{task['id']}/cancel").status_code == 200
    payload = Webhook(task["callback_secret"]).verify(*_raw(at_receiver(receiver)[0]))
    assert payload["type"] == "task.cancelled" and payload["data"]["status"] == "cancelled"
    assert alice.post(f"/api/v1/tasks/{task['id']}/cancel").status_code == 200  # a no-op: no second callback
    wait_callback(alice, task["id"], "delivered")
    assert len(receiver.received()) == 1


def _raw(captured):
    return captured.body, captured.headers


def test_send_message_calls_back_with_the_agents_reply(app, alice, receiver, agent, delivery_worker):
    sent = alice.post(
        "/api/v1/messages",
        json={
            "message": "What changed this week?",
            "conversation_id": "1701.0002",
            "callback_url": callback_url(receiver),
        },
    )
    assert sent.status_code == 201, sent.json
    message = sent.json
    assert message["callback_secret"].startswith("whsec_")
    agent.complete(message["task_id"], "Three fixes and a release.")

    [captured] = at_receiver(receiver)
    payload = Webhook(message["callback_secret"]).verify(captured.body, captured.headers)
    assert payload["type"] == "message.created"
    reply = payload["data"]
    assert reply["role"] == "assistant" and reply["content"] == "Three fixes and a release."
    assert reply["conversation_id"] == "1701.0002" and reply["task_id"] == message["task_id"]
    assert reply["message_id"] != message["message_id"]
    assert callback_of(alice, message["task_id"])["event"] == "message.created"
    wait_callback(alice, message["task_id"], "delivered")
    wait_dispatched(app)
    assert len(receiver.received()) == 1  # not the task's completion too


def test_send_message_calls_back_when_its_task_fails(alice, receiver, agent, delivery_worker):
    message = alice.post("/api/v1/messages", json={"message": "Hello", "callback_url": callback_url(receiver)}).json
    agent.fail(message["task_id"], "No model available.")
    payload = Webhook(message["callback_secret"]).verify(*_raw(at_receiver(receiver)[0]))
    assert payload["type"] == "task.failed" and payload["data"]["error"] == "No model available."
    assert payload["data"]["id"] == message["task_id"]


def test_a_failing_receiver_is_retried_with_the_same_id_and_body(alice, receiver, agent, delivery_worker):
    receiver.plan(f"{SECRET_PATH}?{SECRET_QUERY}", Answer(503))
    task = create(alice, receiver)
    agent.complete(task["id"], "Done")
    first, second = at_receiver(receiver, 2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body
    Webhook(task["callback_secret"]).verify(second.body, second.headers)
    delivery = wait_callback(alice, task["id"], "delivered")["delivery"]
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 200]


def test_a_connector_format_shapes_the_body(alice, receiver, agent, delivery_worker):
    """As a hook's `format`: the Zapier connector's flat fields, say."""
    task = create(alice, receiver, callback_format="zapier")
    agent.complete(task["id"], "Done")
    body = Webhook(task["callback_secret"]).verify(*_raw(at_receiver(receiver)[0]))
    assert body["task_id"] == task["id"] and body["result"] == "Done" and body["id"].startswith("evt_")
    assert "data" not in body


def test_bad_callbacks_are_refused_and_create_nothing(alice, receiver):
    cases = [
        ({"callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"callback_url": "https://user:pw@example.com/x"}, "callback_url"),
        ({"callback_url": callback_url(receiver), "callback_format": "nope"}, "callback_format"),
        ({"callback_format": "standard"}, "callback_format"),
        ({"callback_url": "https://example.com/" + "x" * 2048}, "callback_url"),
    ]
    for fields, name in cases:
        response = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p", **fields})
        assert response.status_code == 422 and name in response.json["errors"], (fields, response.json)
        response = alice.post("/api/v1/messages", json={"message": "m", **fields})
        assert response.status_code == 422 and name in response.json["errors"], (fields, response.json)
    assert alice.get("/api/v1/tasks").json == []


def test_a_private_address_is_refused_at_create(alice, monkeypatch):
    """The hooks' SSRF guard, with a stubbed resolver: nothing leaves 127.0.0.1."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "internal.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]
        return real(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    alice.client.application.config["HUB_WEBHOOK_ALLOW_NETWORKS"] = ""
    for url, why in (
        ("https://internal.example/cb", "10.0.0.5, a private address"),
        ("http://127.0.0.1:9/cb", "loopback"),
    ):
        response = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p", "callback_url": url})
        assert response.status_code == 422 and why in response.json["errors"]["callback_url"][0], response.json
        response = alice.post("/api/v1/messages", json={"message": "m", "callback_url": url})
        assert response.status_code == 422 and why in response.json["errors"]["callback_url"][0], response.json
    assert alice.get("/api/v1/tasks").json == []


def test_the_credential_must_read_what_the_callback_carries(make_user, receiver):
    writer = make_user("writer", scopes=["tasks:write", "messages:write"])
    response = writer.post("/api/v1/tasks", json={"title": "t", "prompt": "p", "callback_url": callback_url(receiver)})
    assert response.status_code == 403 and "tasks:read" in response.json["message"], response.json
    response = writer.post("/api/v1/messages", json={"message": "m", "callback_url": callback_url(receiver)})
    assert response.status_code == 403 and "messages:read" in response.json["message"], response.json
    assert writer.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}).status_code == 201


@pytest.mark.parametrize(
    ("action", "body", "scope"),
    [
        ("create_task", {"title": "t", "prompt": "p"}, "tasks:read"),
        ("create_task_and_wait", {"title": "t", "prompt": "p"}, "tasks:read"),
        ("send_message", {"message": "m"}, "messages:read"),
        ("send_message_and_wait", {"message": "m"}, "messages:read"),
    ],
)
def test_a_connector_action_checks_the_callbacks_scope_too(app, make_user, receiver, action, body, scope):
    """The Zapier actions reach the same services: a write-only credential gets no callback through them either."""
    writer = make_user("writer", scopes=["tasks:write", "messages:write"])
    path = f"/connectors/zapier/actions/{action}"
    response = writer.post(path, json={**body, "callback_url": callback_url(receiver)})
    assert response.status_code == 403 and scope in response.json["message"], response.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_a_callback_is_the_tasks_alone(alice, bob, receiver):
    task = create(alice, receiver)
    callback = callback_of(alice, task["id"])
    assert callback["id"].startswith("cb_") and callback["delivery"] is None
    assert bob.get(f"/api/v1/tasks/{task['id']}/callback").status_code == 404
    assert alice.get(f"/api/v1/tasks/{alice.create_task()['id']}/callback").status_code == 404
    # Not a hook: not listed, nor readable or deletable as one.
    assert alice.get("/api/v1/hooks").json == []
    assert alice.get(f"/api/v1/hooks/{callback['id']}").status_code == 404
    assert alice.delete(f"/api/v1/hooks/{callback['id']}").status_code == 404


def test_the_url_never_shows_again(app, alice, client, make_user, receiver, agent, start_delivery_worker, caplog):
    caplog.set_level(logging.DEBUG)
    worker = start_delivery_worker()
    hook = alice.post("/api/v1/hooks", json={"event": "task.created", "target_url": receiver.url("/hook")}).json
    receiver.plan(f"{SECRET_PATH}?{SECRET_QUERY}", Answer(500))  # a failure, logged and shown in the delivery log
    task = create(alice, receiver)
    agent.complete(task["id"], "Done")
    delivery = wait_callback(alice, task["id"], "delivered")["delivery"]

    make_user("root", is_admin=True)
    seen = {
        "the create's answer": str(task),
        "the task": alice.get(f"/api/v1/tasks/{task['id']}").get_data(as_text=True),
        "the task list": alice.get("/api/v1/tasks").get_data(as_text=True),
        "the callback": alice.get(f"/api/v1/tasks/{task['id']}/callback").get_data(as_text=True),
        "the task.created hook's payload": receiver.received("/hook")[0].body.decode(),
        "the task page": _signed_in(app, client, "alice").get(f"/tasks/{task['id']}").get_data(as_text=True),
        "the admin page": _signed_in(app, client, "root").get("/admin/").get_data(as_text=True),
        "the admin's delivery page": client.get(f"/admin/deliveries/{delivery['id']}").get_data(as_text=True),
        "the hub's log": caplog.text,
        "the delivery worker's log": "\n".join(worker.lines()),
    }
    assert hook["id"]
    assert "127.0.0.1" in seen["the task page"] and "127.0.0.1" in seen["the admin's delivery page"]
    for where, text in seen.items():
        assert "s3cr3t-run-token" not in text and "q7Zk9" not in text, where


def _signed_in(app, client, username):
    from flask import session as signed

    from hub.db import db
    from hub.models import User
    from hub.web import session as web_session

    with app.test_request_context():
        web_session.sign_in(db.session.scalar(db.select(User).where(User.username == username)))
        values = dict(signed)
    with client.session_transaction() as session:
        session.update(values)
    return client
