"""Several callbacks on one task, each its own: fired once on its own end,
signed with its own secret, sent with the headers its caller gave (sealed,
never shown or logged); one made for status updates tells of each question
too; a connector lists, reads and deletes a task's callbacks. Real
processes: the hub's test client, a delivery worker, the worker API, a
receiver on 127.0.0.1."""

import logging

import pytest
from standardwebhooks import Webhook
from support import wait_for
from support.delivery import wait_dispatched

from connectors.base import hub
from hub.services.accounts import get_user

pytestmark = pytest.mark.usefixtures("webhook_settings")

CREDENTIAL = "Bearer pz-9-credential"


def create(alice, receiver, path="/first"):
    response = alice.post(
        "/api/v1/tasks", json={"title": "Ship", "prompt": "Ship it", "callback_url": receiver.url(path)}
    )
    assert response.status_code == 201, response.json
    return response.json


def test_each_callback_of_a_task_fires_once_with_its_own_secret_and_headers(
    app, alice, receiver, agent, delivery_worker, caplog
):
    caplog.set_level(logging.DEBUG)
    task = create(alice, receiver)
    with app.app_context():
        second = hub.add_callback(
            get_user("alice"), task["id"], receiver.url("/second"), headers={"Authorization": CREDENTIAL}
        )
    assert second["callback_id"].startswith("cb_") and second["callback_secret"] != task["callback_secret"]
    agent.complete(task["id"], "Shipped")

    [first] = receiver.wait_for(1, "/first")
    [other] = receiver.wait_for(1, "/second")
    assert Webhook(task["callback_secret"]).verify(first.body, first.headers)["type"] == "task.completed"
    assert Webhook(second["callback_secret"]).verify(other.body, other.headers)["data"]["result"] == "Shipped"
    assert other.headers["authorization"] == CREDENTIAL and "authorization" not in first.headers
    with app.app_context():
        listed = hub.list_callbacks(get_user("alice"), task["id"])
    assert [c["id"] for c in listed] == [
        alice.get(f"/api/v1/tasks/{task['id']}/callback").json["id"],
        second["callback_id"],
    ]
    wait_dispatched(app)
    wait_for(
        lambda: alice.get(f"/api/v1/tasks/{task['id']}/callback").json["delivery"]["status"] == "delivered",
        15,
        interval=0.05,
        message="the first callback delivered",
    )
    assert len(receiver.received("/first")) == len(receiver.received("/second")) == 1
    shown = " ".join(
        (str(second), str(listed), alice.get(f"/api/v1/tasks/{task['id']}").get_data(as_text=True), caplog.text)
    )
    assert "pz-9-credential" not in shown


def test_a_status_updates_callback_tells_of_each_question_then_the_end(app, alice, receiver, agent, delivery_worker):
    task = alice.post("/api/v1/tasks", json={"title": "Deploy", "prompt": "Deploy it"}).json
    with app.app_context():
        updates = hub.add_callback(get_user("alice"), task["id"], receiver.url("/updates"), status_updates=True)
    agent.ask(task["id"], "Which branch?")
    [asked] = receiver.wait_for(1, "/updates")
    asked = Webhook(updates["callback_secret"]).verify(asked.body, asked.headers)
    assert (asked["type"], asked["data"]["question"]) == ("task.input_required", "Which branch?")
    assert alice.post(f"/api/v1/tasks/{task['id']}/messages", json={"message": "main"}).status_code == 201
    agent.ask(task["id"], "Which region?")
    assert alice.post(f"/api/v1/tasks/{task['id']}/messages", json={"message": "eu"}).status_code == 201
    agent.complete(task["id"], "Deployed main to eu")
    sent = receiver.wait_for(3, "/updates")
    types = [Webhook(updates["callback_secret"]).verify(one.body, one.headers)["type"] for one in sent]
    assert types == ["task.input_required", "task.input_required", "task.completed"]
    wait_dispatched(app)
    assert len(receiver.received("/updates")) == 3


def test_a_connector_lists_reads_and_deletes_a_tasks_callbacks(app, alice, bob, receiver, agent, delivery_worker):
    task = create(alice, receiver)
    with app.app_context():
        user, other = get_user("alice"), get_user("bob")
        second = hub.add_callback(user, task["id"], receiver.url("/second"), status_updates=True)
        [first, found] = hub.list_callbacks(user, task["id"])
        assert found == hub.get_callback(user, task["id"], second["callback_id"])
        assert (found["url"], found["event"], found["status_updates"]) == (
            f"http://127.0.0.1:{receiver.port}/…",
            "task.completed",
            True,
        )
        assert (first["status_updates"], first["format"]) == (False, "standard")
        assert found["created_at"].endswith("Z") and set(found) == {*first}
        for call in (
            lambda: hub.list_callbacks(other, task["id"]),
            lambda: hub.get_callback(other, task["id"], first["id"]),
            lambda: hub.delete_callback(other, task["id"], first["id"]),
            lambda: hub.get_callback(user, task["id"], "cb_none"),
        ):
            with pytest.raises(hub.NotFound):
                call()
        hub.delete_callback(user, task["id"], first["id"])
        with pytest.raises(hub.NotFound):
            hub.delete_callback(user, task["id"], first["id"])
        assert [c["id"] for c in hub.list_callbacks(user, task["id"])] == [found["id"]]
    assert alice.get(f"/api/v1/tasks/{task['id']}/callback").json["id"] == found["id"]

    agent.complete(task["id"], "Done")
    receiver.wait_for(1, "/second")
    wait_dispatched(app)
    assert receiver.received("/first") == []  # deleted: never sent


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-signature": "v1,forged"},
        {"Authorization": "Bearer a\r\nX-Injected: 1"},
        {"Authorization": "Bearer café"},  # httpx could never send it: every try would fail
        {"Bad Name": "x"},
        {f"X-{n}": "v" for n in range(5)},
    ],
)
def test_bad_callback_headers_are_refused_and_change_nothing(app, alice, receiver, headers):
    task = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}).json
    with app.app_context():
        user = get_user("alice")
        with pytest.raises(hub.ValidationFailed) as refused:
            hub.add_callback(user, task["id"], receiver.url("/x"), headers=headers)
        assert "callback_headers" in refused.value.errors
        assert hub.list_callbacks(user, task["id"]) == []


def test_a_callback_of_the_same_external_id_replaces_the_earlier(app, alice, receiver):
    task = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}).json
    with app.app_context():
        user = get_user("alice")
        hub.add_callback(user, task["id"], receiver.url("/old"), external_id="their-hook")
        kept = hub.add_callback(user, task["id"], receiver.url("/new"), external_id="their-hook")
        other = hub.add_callback(user, task["id"], receiver.url("/other"), external_id="another")
        listed = hub.list_callbacks(user, task["id"])
        assert [(c["id"], c["external_id"]) for c in listed] == [
            (kept["callback_id"], "their-hook"),
            (other["callback_id"], "another"),
        ]
        with pytest.raises(hub.ValidationFailed) as refused:
            hub.add_callback(user, task["id"], receiver.url("/x"), external_id="x" * 256)
        assert "external_id" in refused.value.errors


def test_a_task_has_at_most_ten_callbacks(app, alice, receiver):
    task = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}).json
    with app.app_context():
        user = get_user("alice")
        for n in range(10):
            hub.add_callback(user, task["id"], receiver.url(f"/{n}"), external_id=f"hook-{n}")
        with pytest.raises(hub.Conflict) as refused:
            hub.add_callback(user, task["id"], receiver.url("/eleventh"))
        assert "too many callbacks" in refused.value.message
        hub.add_callback(user, task["id"], receiver.url("/again"), external_id="hook-0")  # a replacement fits
        assert len(hub.list_callbacks(user, task["id"])) == 10
