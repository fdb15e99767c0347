"""Events reach subscribers as signed POSTs, sent by a real worker process
to a real receiver on loopback."""

import json

from standardwebhooks import Webhook
from support.delivery import subscribe, wait_delivery


def verify(secret, captured):
    """The receiver's side: the standardwebhooks package must accept it."""
    return Webhook(secret).verify(captured.body, captured.headers)


def complete(app, task_id, result="All green"):
    from hub.db import begin_write, db
    from hub.models import Task
    from hub.services import tasks

    with app.app_context():
        begin_write()
        task = db.session.query(Task).filter_by(id=task_id).one()
        tasks.transition(task, "running")
        db.session.commit()
        begin_write()
        tasks.transition(task, "completed", result=result)
        db.session.commit()


def test_task_created_is_delivered_signed(alice, receiver, delivery_worker):
    hook = subscribe(alice, receiver, "task.created")
    assert hook["secret"].startswith("whsec_")
    task = alice.create_task(title="Ship it")

    [captured] = receiver.wait_for(1)
    payload = verify(hook["secret"], captured)
    assert payload["type"] == "task.created"
    assert payload["data"]["task_id"] == task["task_id"] and payload["data"]["title"] == "Ship it"
    assert payload["id"] == captured.headers["webhook-id"] and payload["id"].startswith("evt_")
    assert set(payload) == {"id", "type", "timestamp", "data"}
    assert captured.headers["content-type"] == "application/json"

    [delivery] = wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert delivery["webhook_id"] == payload["id"] and delivery["attempts"] == 1
    assert delivery["attempt_log"][0]["status_code"] == 200
    assert delivery["attempt_log"][0]["latency_ms"] > 0


def test_each_lifecycle_event_goes_to_its_own_subscribers(app, alice, bob, receiver, delivery_worker):
    completed = subscribe(alice, receiver, "task.completed", path="/completed")
    started = subscribe(alice, receiver, "task.started", path="/started")
    subscribe(bob, receiver, "task.completed", path="/bob")
    task = alice.create_task()
    complete(app, task["task_id"], result="Done: 3 files")

    [done] = receiver.wait_for(1, "/completed")
    payload = verify(completed["secret"], done)
    assert payload["type"] == "task.completed"
    assert payload["data"]["status"] == "completed" and payload["data"]["result"] == "Done: 3 files"
    assert verify(started["secret"], receiver.wait_for(1, "/started")[0])["data"]["status"] == "running"
    wait_delivery(alice, completed["id"], lambda d: d[0]["status"] == "delivered")
    assert receiver.received("/bob") == []


def test_filters_pick_codebase_and_agent_type(alice, receiver, delivery_worker):
    subscribe(alice, receiver, "task.created", path="/plan", agent_type="plan")
    subscribe(alice, receiver, "task.created", path="/global", codebase_id="global")
    alice.create_task(agent_type="build", title="build one")
    alice.create_task(agent_type="plan", title="plan one")

    receiver.wait_for(2, "/global")
    [plan] = receiver.wait_for(1, "/plan")
    assert plan.json()["data"]["title"] == "plan one"
    assert len(receiver.received("/plan")) == 1


def test_message_created_is_delivered(alice, receiver, delivery_worker):
    hook = subscribe(alice, receiver, "message.created")
    alice.post("/api/v1/messages", json={"message": "Summarise the repo", "conversation_id": "t-1"})
    payload = verify(hook["secret"], receiver.wait_for(1)[0])
    assert payload["type"] == "message.created"
    assert payload["data"]["content"] == "Summarise the repo" and payload["data"]["conversation_id"] == "t-1"


def test_body_is_the_exact_signed_bytes(alice, receiver, delivery_worker):
    hook = subscribe(alice, receiver, "task.created")
    alice.create_task(title="Ünïcode ✓", prompt='quotes " and \\ slashes')
    [captured] = receiver.wait_for(1)
    verify(hook["secret"], captured)
    assert json.loads(captured.body)["data"]["title"] == "Ünïcode ✓"
