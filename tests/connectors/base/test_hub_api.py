"""connectors.base.hub, the hub API a connector imports: each function
against the real hub answers what the core REST API answers for the same
object (its JSON, compared with the matching GET /api/v1/... route), another
user's object is NotFound, and bad input is the hub's ValidationFailed naming
the field, changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from connectors.base import choices, hub

pytestmark = pytest.mark.usefixtures("webhook_settings")


@pytest.fixture
def as_user(app):
    """``as_user("alice")``: the hub's user a connector's function is handed, in an app context."""
    from hub.db import db
    from hub.models import User

    with app.app_context():

        def user(username):
            return db.session.scalar(select(User).where(User.username == username))

        yield user
        db.session.remove()


def test_the_version_is_published():
    major, minor = hub.API_VERSION.split(".")
    assert (int(major), int(minor)) >= (1, 0)


def test_create_and_get_task_answer_the_rest_apis_task(as_user, alice):
    created = hub.create_task(
        as_user("alice"),
        title="Fix the login bug",
        prompt="500 on /login",
        external_id="octo/app#42",
        metadata={"a": "b"},
    )
    assert created == alice.get(f"/api/v1/tasks/{created['id']}").json
    assert created["status"] == "pending" and created["metadata"] == {"a": "b"} and "callback_secret" not in created
    assert hub.get_task(as_user("alice"), created["id"]) == created
    made_by_rest = alice.create_task(title="Another")
    assert hub.get_task(as_user("alice"), made_by_rest["id"]) == made_by_rest


def test_list_and_count_tasks_answer_the_rest_apis_list(as_user, alice):
    first, second, third = (alice.create_task(title=f"Task {n}", external_id="ref") for n in range(3))
    alice.post(f"/api/v1/tasks/{second['id']}/cancel")
    page = hub.list_tasks(as_user("alice"), limit=2)
    assert page.items == alice.get("/api/v1/tasks?limit=2").json and page.more
    assert [t["id"] for t in page.items] == [third["id"], second["id"]]
    assert hub.list_tasks(as_user("alice"), page=1, limit=2) == hub.Page(
        alice.get("/api/v1/tasks?limit=2&page=1").json, False
    )
    active = hub.list_tasks(as_user("alice"), status=hub.ACTIVE_STATUSES, external_id="ref")
    assert [t["id"] for t in active.items] == [third["id"], first["id"]]
    assert (
        hub.list_tasks(as_user("alice"), status="cancelled").items == alice.get("/api/v1/tasks?status=cancelled").json
    )
    assert hub.count_tasks(as_user("alice"), external_id="ref") == 3
    assert hub.count_tasks(as_user("alice"), status="cancelled") == 1


def test_cancel_task_answers_the_cancelled_task(as_user, alice):
    task = alice.create_task()
    cancelled = hub.cancel_task(as_user("alice"), task["id"])
    assert cancelled["status"] == "cancelled" and cancelled == alice.get(f"/api/v1/tasks/{task['id']}").json
    assert hub.cancel_task(as_user("alice"), task["id"]) == cancelled  # a retry is safe


def test_another_users_task_is_not_found(as_user, alice, bob):
    task = alice.create_task()
    for call in (hub.get_task, hub.cancel_task):
        with pytest.raises(hub.NotFound):
            call(as_user("bob"), task["id"])
    assert hub.list_tasks(as_user("bob")).items == [] and hub.count_tasks(as_user("bob")) == 0
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "pending"
    with pytest.raises(hub.NotFound):
        hub.add_callback(as_user("bob"), task["id"], "http://127.0.0.1:9/")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"prompt": ""}, "prompt"),
        ({"agent_type": "wizard"}, "agent_type"),
        ({"priority": 10**9}, "priority"),
        ({"codebase_id": "nope"}, "codebase_id"),
        ({"metadata": {"channel": 5}}, "metadata.channel"),
        ({"external_id": "x" * (hub.EXTERNAL_ID_MAX + 1)}, "external_id"),
        ({"callback_format": "standard"}, "callback_format"),  # a format without a URL
    ],
)
def test_bad_task_input_names_the_field_and_creates_nothing(as_user, alice, fields, field):
    with pytest.raises(hub.ValidationFailed) as refused:
        hub.create_task(as_user("alice"), **{"title": "T", "prompt": "P", **fields})
    assert field in refused.value.errors and refused.value.status == 422
    assert alice.get("/api/v1/tasks").json == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda user: hub.list_tasks(user, status="done"), "status"),
        (lambda user: hub.list_tasks(user, limit=0), "limit"),
        (lambda user: hub.list_tasks(user, page=-1), "page"),
        (lambda user: hub.list_tasks(user, codebase_id="nope"), "codebase_id"),
        (lambda user: hub.list_tasks(user, finished_after=None), "finished_after"),
        (lambda user: hub.list_codebases(user, limit=101), "limit"),
        (lambda user: hub.send_message(user, message=" "), "message"),
    ],
)
def test_bad_filters_and_messages_name_the_field(as_user, alice, call, field):
    with pytest.raises(hub.ValidationFailed) as refused:
        call(as_user("alice"))
    assert field in refused.value.errors


def test_send_and_list_messages_answer_the_rest_apis_messages(as_user, alice, bob):
    sent = hub.send_message(as_user("alice"), message="Summarise the week", conversation_id="thread-1")
    listed = alice.get("/api/v1/conversations/thread-1/messages").json
    assert [sent] == listed and sent["role"] == "user" and sent["task_id"]
    assert hub.get_task(as_user("alice"), sent["task_id"])["conversation_id"] == "thread-1"
    again = hub.send_message(as_user("alice"), message="And last week?", conversation_id="thread-1")
    page = hub.list_messages(as_user("alice"), "thread-1", limit=1)
    assert page == hub.Page([sent], True)
    assert hub.list_messages(as_user("alice"), "thread-1", page=1, limit=1) == hub.Page([again], False)
    with pytest.raises(hub.NotFound):
        hub.list_messages(as_user("bob"), "thread-1")


def test_list_codebases_answers_the_rest_apis_list(as_user, alice):
    alice.post("/api/v1/codebases", json={"name": "App"})
    page = hub.list_codebases(as_user("alice"))
    assert page == hub.Page(alice.get("/api/v1/codebases").json, False)
    assert [cb["id"] for cb in page.items] == ["global", page.items[1]["id"]]


def test_output_schemas_answer_the_plain_data_as_it_is(as_user, alice):
    """An action returning the plain data keeps the REST API's JSON, and the
    output schema still dumps a model (the core API's way) the same."""
    from hub.models import Task
    from hub.schemas import TaskSchema

    task = hub.create_task(as_user("alice"), title="T", prompt="P")
    assert hub.TaskOutput().dump(task) == task and hub.TaskOutput(many=True).dump([task]) == [task]
    row = select(Task).where(Task.id == task["id"])
    from hub.db import db

    assert hub.TaskOutput().dump(db.session.scalar(row)) == TaskSchema().dump(db.session.scalar(row)) == task
    assert hub.TaskOutput(many=True).dump(db.session.scalars(row)) == [task]  # rows as a service yields them
    message = hub.send_message(as_user("alice"), message="Hi")
    assert hub.MessageOutput().dump(message) == message
    codebases = hub.list_codebases(as_user("alice")).items
    assert hub.CodebaseOutput(many=True).dump(codebases) == codebases


def test_dropdown_choices_list_codebases_and_cancellable_tasks(as_user, alice):
    done = alice.create_task(title="Done")
    alice.post(f"/api/v1/tasks/{done['id']}/cancel")
    waiting = alice.create_task(title="Waiting")
    assert choices.codebase_choices(as_user("alice")) == hub.Page([{"id": "global", "name": "Global"}], False)
    assert choices.cancellable_task_choices(as_user("alice")).items == [
        {"id": waiting["id"], "title": "Waiting", "status": "pending", "label": "Waiting (pending)"}
    ]


def test_add_callback_calls_back_once_when_the_task_ends(as_user, alice, receiver, delivery_worker):
    task = alice.create_task()
    url = receiver.url("/resume/token-1")
    answer = hub.add_callback(as_user("alice"), task["id"], url)
    assert answer["callback_secret"].startswith("whsec_")
    assert answer["callback_url"] == f"http://127.0.0.1:{receiver.port}/…"  # the URL is a secret: its host only
    assert answer["callback_id"].startswith("cb_")
    assert {**answer, "callback_secret": None, "callback_id": None} == {
        **alice.get(f"/api/v1/tasks/{task['id']}").json,
        "callback_secret": None,
        "callback_id": None,
    }
    again = hub.add_callback(as_user("alice"), task["id"], receiver.url("/resume/token-2"))  # a second, its own
    alice.post(f"/api/v1/tasks/{task['id']}/cancel")
    [captured] = receiver.wait_for(1, "/resume/token-1")
    payload = Webhook(answer["callback_secret"]).verify(captured.body, captured.headers)
    assert payload["type"] == "task.cancelled" and payload["data"]["id"] == task["id"]
    [other] = receiver.wait_for(1, "/resume/token-2")
    assert Webhook(again["callback_secret"]).verify(other.body, other.headers)["id"] == payload["id"]
    with pytest.raises(hub.Conflict):  # it has ended: nothing would ever call back
        hub.add_callback(as_user("alice"), task["id"], receiver.url("/other"))


def test_add_callback_refuses_bad_input_naming_the_field(as_user, alice, make_user):
    task = alice.create_task()
    for url, format, field in (
        ("", None, "callback_url"),
        ("x" * 3000, None, "callback_url"),
        ("http://127.0.0.1:9/", "nope", "callback_format"),
    ):
        with pytest.raises(hub.ValidationFailed) as refused:
            hub.add_callback(as_user("alice"), task["id"], url, format=format)
        assert field in refused.value.errors
    with pytest.raises(hub.Forbidden):  # a write-only credential may not read what the callback carries
        hub.add_callback(as_user("alice"), task["id"], "http://127.0.0.1:9/", scopes=["tasks:write"])
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["callback_url"] is None
    assert alice.get(f"/api/v1/tasks/{task['id']}/callback").status_code == 404
