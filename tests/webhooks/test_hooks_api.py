"""The REST-hook API: subscribe, list, unsubscribe (200, idempotent), and
bad input refused with the field named and nothing stored."""

import pytest
from support.delivery import deliveries, wait_delivery


def hook_body(receiver, **fields):
    return {"event": "task.completed", "target_url": receiver.url(), **fields}


def test_subscribe_list_and_unsubscribe(alice, receiver):
    created = alice.post("/api/v1/hooks", json=hook_body(receiver, codebase_id="global", agent_type="plan"))
    assert created.status_code == 201
    hook = created.json
    assert hook["id"].startswith("hook_") and hook["secret"].startswith("whsec_")
    assert hook["status"] == "active" and hook["format"] == "standard"
    assert (hook["codebase_id"], hook["agent_type"]) == ("global", "plan")

    listed = alice.get("/api/v1/hooks").json
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in alice.get(f"/api/v1/hooks/{hook['id']}").json

    for _ in range(2):  # idempotent, always a JSON body (Zapier reads it)
        deleted = alice.delete(f"/api/v1/hooks/{hook['id']}")
        assert deleted.status_code == 200 and deleted.json["status"] == "deleted"
    assert alice.get("/api/v1/hooks").json == []


def test_the_secret_is_not_stored_in_clear(app, alice, receiver):
    hook = alice.post("/api/v1/hooks", json=hook_body(receiver)).json
    from hub.db import db
    from hub.models import Subscription

    with app.app_context():
        stored = db.session.query(Subscription).filter_by(id=hook["id"]).one().secret_sealed
    assert hook["secret"] not in stored and hook["secret"][6:] not in stored


def test_other_users_hooks_are_not_found(alice, bob, receiver):
    hook = alice.post("/api/v1/hooks", json=hook_body(receiver)).json
    assert bob.get("/api/v1/hooks").json == []
    for response in (
        bob.get(f"/api/v1/hooks/{hook['id']}"),
        bob.delete(f"/api/v1/hooks/{hook['id']}"),
        bob.get(f"/api/v1/hooks/{hook['id']}/deliveries"),
    ):
        assert response.status_code == 404
    assert alice.get(f"/api/v1/hooks/{hook['id']}").json["status"] == "active"
    assert alice.delete("/api/v1/hooks/hook_nope").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"event": "task.exploded"}, "event"),
        ({"event": None}, "event"),
        ({"target_url": "ftp://127.0.0.1/x"}, "target_url"),
        ({"target_url": "not a url"}, "target_url"),
        ({"target_url": "http://user:pw@127.0.0.1/x"}, "target_url"),
        ({"target_url": ""}, "target_url"),
        ({"agent_type": "wizard"}, "agent_type"),
        ({"codebase_id": "no-such-codebase"}, "codebase_id"),
        ({"format": "carrier-pigeon"}, "format"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(alice, receiver, fields, field):
    response = alice.post("/api/v1/hooks", json=hook_body(receiver, **fields))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert alice.get("/api/v1/hooks").json == []


def test_hooks_need_the_tasks_read_scope(make_user, receiver):
    writer = make_user("writer", scopes="tasks:write")
    assert writer.post("/api/v1/hooks", json=hook_body(receiver)).status_code == 403
    assert writer.get("/api/v1/hooks").status_code == 403
    reader = make_user("reader", scopes="tasks:read")
    assert reader.post("/api/v1/hooks", json=hook_body(receiver)).status_code == 201


def another_key(app, user, scopes):
    """The same person with a second API key, holding only ``scopes``."""
    from support.users import ApiUser

    from hub.services import accounts

    with app.app_context():
        key, plain = accounts.create_api_key(user.username, scopes=scopes)
    return ApiUser(user.client, user.username, plain, key.id)


def refused_for_lack_of(response, scope):
    assert response.status_code == 403, response.json
    assert response.json["code"] == "insufficient_scope" and f"'{scope}'" in response.json["message"]
    assert f'scope="{scope}"' in response.headers["WWW-Authenticate"]
    return True


def test_each_hook_needs_the_read_scope_of_its_event(app, alice, receiver):
    """A tasks:read key must not receive message bodies that
    GET /conversations/…/messages refuses it, nor see or touch such a hook."""
    messages_hook = alice.post("/api/v1/hooks", json=hook_body(receiver, event="message.created")).json
    tasks_hook = alice.post("/api/v1/hooks", json=hook_body(receiver)).json
    tasks_only = another_key(app, alice, "tasks:read tasks:write messages:write")
    assert tasks_only.get("/api/v1/conversations/c1/messages").status_code == 403  # the API's own rule

    assert refused_for_lack_of(
        tasks_only.post("/api/v1/hooks", json=hook_body(receiver, event="message.created")), "messages:read"
    )
    assert [h["id"] for h in tasks_only.get("/api/v1/hooks").json] == [tasks_hook["id"]]
    hook_url = f"/api/v1/hooks/{messages_hook['id']}"
    for response in (tasks_only.get(hook_url), tasks_only.get(hook_url + "/deliveries"), tasks_only.delete(hook_url)):
        assert refused_for_lack_of(response, "messages:read")
    # Nothing changed: one message hook, still active.
    listed = alice.get("/api/v1/hooks").json
    assert [h["id"] for h in listed] == [tasks_hook["id"], messages_hook["id"]]
    assert all(h["status"] == "active" for h in listed)

    messages_only = another_key(app, alice, "messages:read")
    assert [h["id"] for h in messages_only.get("/api/v1/hooks").json] == [messages_hook["id"]]
    assert refused_for_lack_of(messages_only.post("/api/v1/hooks", json=hook_body(receiver)), "tasks:read")
    assert refused_for_lack_of(messages_only.delete(f"/api/v1/hooks/{tasks_hook['id']}"), "tasks:read")
    assert messages_only.get(hook_url + "/deliveries").json == []
    assert messages_only.delete(hook_url).json["status"] == "deleted"
    assert [h["id"] for h in alice.get("/api/v1/hooks").json] == [tasks_hook["id"]]


def test_a_key_without_scopes_reaches_no_hook_route(app, alice, receiver):
    hook = alice.post("/api/v1/hooks", json=hook_body(receiver)).json
    bare = another_key(app, alice, [])
    for response in (
        bare.get("/api/v1/hooks"),
        bare.post("/api/v1/hooks", json=hook_body(receiver)),
        bare.get(f"/api/v1/hooks/{hook['id']}"),
        bare.delete(f"/api/v1/hooks/{hook['id']}"),
        bare.get(f"/api/v1/hooks/{hook['id']}/deliveries"),
        bare.post("/api/v1/deliveries/dlv_any/replay"),
    ):
        assert response.status_code == 403 and response.json["code"] == "insufficient_scope", response.json
    assert alice.get(f"/api/v1/hooks/{hook['id']}").json["status"] == "active"


def test_replaying_a_message_delivery_needs_messages_read(app, alice, receiver, delivery_worker):
    hook = alice.post("/api/v1/hooks", json=hook_body(receiver, event="message.created")).json
    alice.post("/api/v1/messages", json={"message": "private", "conversation_id": "t-1"})
    delivered = wait_delivery(alice, hook["id"], lambda items: items[0]["status"] == "delivered")[0]
    replay_url = f"/api/v1/deliveries/{delivered['id']}/replay"
    tasks_only = another_key(app, alice, "tasks:read")
    assert refused_for_lack_of(tasks_only.post(replay_url), "messages:read")
    assert deliveries(alice, hook["id"])[0]["attempts"] == 1 and len(receiver.requests) == 1
    assert another_key(app, alice, "messages:read").post(replay_url).status_code == 202
    wait_delivery(alice, hook["id"], lambda items: items[0]["attempts"] == 2 and items[0]["status"] == "delivered")


def test_a_connector_can_register_a_formatter(alice, receiver):
    from hub.webhooks import formatters

    formatters.register("flat-test", lambda event: {"id": event["id"], **event["data"]})
    hook = alice.post("/api/v1/hooks", json=hook_body(receiver, format="flat-test"))
    assert hook.status_code == 201 and hook.json["format"] == "flat-test"
