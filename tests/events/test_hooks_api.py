"""The REST-hook API: subscribe, list, unsubscribe (200, idempotent), and
bad input refused with the field named and nothing stored."""
import pytest

from events.fixtures import *  # noqa: F401,F403


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
    for response in (bob.get(f"/api/v1/hooks/{hook['id']}"), bob.delete(f"/api/v1/hooks/{hook['id']}"),
                     bob.get(f"/api/v1/hooks/{hook['id']}/deliveries")):
        assert response.status_code == 404
    assert alice.get(f"/api/v1/hooks/{hook['id']}").json["status"] == "active"
    assert alice.delete("/api/v1/hooks/hook_nope").status_code == 404


@pytest.mark.parametrize("fields, field", [
    ({"event": "task.exploded"}, "event"),
    ({"event": None}, "event"),
    ({"target_url": "ftp://127.0.0.1/x"}, "target_url"),
    ({"target_url": "not a url"}, "target_url"),
    ({"target_url": "http://user:pw@127.0.0.1/x"}, "target_url"),
    ({"target_url": ""}, "target_url"),
    ({"agent_type": "wizard"}, "agent_type"),
    ({"codebase_id": "no-such-codebase"}, "codebase_id"),
    ({"format": "carrier-pigeon"}, "format"),
])
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


def test_a_connector_can_register_a_formatter(alice, receiver):
    from hub.events import formatters

    formatters.register("flat-test", lambda event: {"id": event["id"], **event["data"]})
    hook = alice.post("/api/v1/hooks", json=hook_body(receiver, format="flat-test"))
    assert hook.status_code == 201 and hook.json["format"] == "flat-test"
