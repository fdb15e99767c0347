"""A caller's references on tasks: ``external_id`` and ``metadata`` given on
create task and send message come back everywhere a task is shown, and
``external_id=`` finds the tasks again."""

import pytest

from hub.models import Event, Task

REFS = {"external_id": "octo/app#42", "metadata": {"channel": "C024BE91L", "thread": "1701234567.000200"}}


def refs(task):
    return {"external_id": task["external_id"], "metadata": task["metadata"]}


def test_create_task_keeps_them_and_every_view_of_the_task_shows_them(app, alice, worker_token, client):
    created = alice.create_task(**REFS)
    assert refs(created) == REFS
    assert refs(alice.get(f"/api/v1/tasks/{created['id']}").json) == REFS
    assert [refs(t) for t in alice.get("/api/v1/tasks").json] == [REFS]
    with app.app_context():
        event = Event.query.filter_by(task_id=created["id"], type="task.created").one()
        assert refs(event.data) == REFS  # webhook deliveries carry what the API shows
    # The agent's worker sees them too (a reply can go back to the caller's thread).
    headers = {"Authorization": f"Bearer {worker_token}"}
    worker_id = client.post("/api/v1/worker/register", json={"name": "w"}, headers=headers).json["worker_id"]
    claimed = client.post(f"/api/v1/worker/{worker_id}/claim", json={"wait": 0}, headers=headers).json["task"]
    assert claimed["id"] == created["id"] and refs(claimed) == REFS


def test_a_task_without_them_shows_none_and_an_empty_object(alice):
    plain = alice.create_task()
    assert refs(plain) == {"external_id": None, "metadata": {}}
    blank = alice.create_task(external_id="", metadata={})
    assert refs(blank) == {"external_id": None, "metadata": {}}


def test_zapiers_create_task_takes_and_gives_the_same(alice):
    response = alice.post("/connectors/zapier/actions/create_task", json={"title": "t", "prompt": "p", **REFS})
    assert response.status_code == 201, response.json
    assert refs(response.json) == REFS


def test_external_id_filters_the_list_and_the_count(alice, bob):
    first = alice.create_task(external_id="ticket-7")
    alice.create_task(external_id="ticket-8")
    alice.create_task()
    again = alice.create_task(external_id="ticket-7")  # not unique: a re-run makes another
    bob.create_task(external_id="ticket-7")

    response = alice.get("/api/v1/tasks?external_id=ticket-7&include_total=true")
    assert response.status_code == 200, response.json
    assert [t["id"] for t in response.json] == [again["id"], first["id"]]
    assert response.headers["X-Total-Count"] == "2"
    assert alice.get("/api/v1/tasks?external_id=ticket-7&status=cancelled").json == []
    assert alice.get("/api/v1/tasks?external_id=ticket-9").json == []
    assert [t["external_id"] for t in bob.get("/api/v1/tasks?external_id=ticket-7").json] == ["ticket-7"]


def test_send_message_gives_them_to_its_task_and_external_id_to_a_new_conversation(alice):
    started = alice.post("/api/v1/messages", json={"message": "Summarise the repo", "conversation_id": "t-1", **REFS})
    assert started.status_code == 201, started.json
    assert started.json["conversation_external_id"] == REFS["external_id"]
    assert refs(alice.get(f"/api/v1/tasks/{started.json['task_id']}").json) == REFS

    # A later message's task carries its own; the conversation keeps the first.
    later = alice.post(
        "/api/v1/messages", json={"message": "And the tests?", "conversation_id": "t-1", "external_id": "msg-2"}
    )
    assert later.status_code == 201, later.json
    assert later.json["conversation_external_id"] == REFS["external_id"]
    assert refs(alice.get(f"/api/v1/tasks/{later.json['task_id']}").json) == {"external_id": "msg-2", "metadata": {}}
    listed = alice.get("/api/v1/conversations/t-1/messages").json
    assert {m["conversation_external_id"] for m in listed} == {REFS["external_id"]}

    plain = alice.post("/api/v1/messages", json={"message": "Hi"}).json
    assert plain["conversation_external_id"] is None


def task_and_event_count(app):
    with app.app_context():
        return Task.query.count(), Event.query.count()


@pytest.mark.parametrize("url", ["/api/v1/tasks", "/api/v1/messages", "/connectors/zapier/actions/create_task"])
@pytest.mark.parametrize(
    ("refs_given", "field"),
    [
        ({"external_id": "x" * 256}, "external_id"),
        ({"external_id": 42}, "external_id"),
        ({"metadata": "channel=C1"}, "metadata"),
        ({"metadata": ["C1"]}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
        ({"metadata": {"channel": "v" * 501}}, "metadata.channel"),
        ({"metadata": {"channel": 7}}, "metadata.channel"),
        ({"metadata": {"channel": None}}, "metadata.channel"),
        ({"metadata": {"channel": {"id": "C1"}}}, "metadata.channel"),
        ({"metadata": {"k" * 41: "v"}}, "metadata." + "k" * 40 + "…"),
        ({"metadata": {" ": "v"}}, "metadata. "),
    ],
)
def test_bad_references_are_422_naming_the_field_and_change_nothing(app, alice, url, refs_given, field):
    body = {"message": "hi"} if url.endswith("messages") else {"title": "t", "prompt": "p"}
    before = task_and_event_count(app)
    response = alice.post(url, json={**body, **refs_given})
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field], response.json
    assert field in response.json["message"]
    assert task_and_event_count(app) == before


def test_metadata_at_its_bounds_is_taken(alice):
    full = {f"key-{i:02}".ljust(40, "x"): "v" * 500 for i in range(20)}
    task = alice.create_task(external_id="x" * 255, metadata=full)
    assert task["metadata"] == full and task["external_id"] == "x" * 255


@pytest.mark.parametrize("query", ["external_id=", "external_id=" + "x" * 256])
def test_bad_external_id_filter_is_422(alice, query):
    response = alice.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 422 and list(response.json["errors"]) == ["external_id"], response.json


def test_openapi_documents_the_fields_and_their_bounds(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    create = schemas["TaskCreate"]["properties"]
    assert create["external_id"]["maxLength"] == 255
    assert create["metadata"]["maxProperties"] == 20
    assert create["metadata"]["additionalProperties"] == {"type": "string", "maxLength": 500}
    assert {"external_id", "metadata"} <= set(schemas["Task"]["properties"])
    assert {"external_id", "metadata"} <= set(schemas["MessageCreate"]["properties"])
