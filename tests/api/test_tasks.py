import pytest

from hub.models import Task

SEED_FIELDS = {
    "task_id",
    "title",
    "prompt",
    "status",
    "codebase_id",
    "agent_type",
    "model",
    "priority",
    "result",
    "error",
    "retry_count",
    "duration_seconds",
    "created_at",
    "started_at",
    "completed_at",
    "failed_at",
    "cancelled_at",
    "url",
}


def task_count(app):
    from hub.db import db

    with app.app_context():
        return db.session.query(Task).count()


def test_create_then_read_back_by_id_and_in_list(alice):
    created = alice.create_task(
        title="Fix login", prompt="The login page 500s", agent_type="plan", model="gpt-5", priority=7
    )
    assert created.keys() >= SEED_FIELDS
    assert created["status"] == "pending"
    assert created["codebase_id"] == "global"
    assert created["agent_type"] == "plan" and created["priority"] == 7 and created["model"] == "gpt-5"
    assert created["id"] == created["task_id"] and created["task_id"].startswith("task_")
    assert created["created_at"].endswith("Z")
    assert created["url"] == f"http://hub.test/tasks/{created['task_id']}"

    got = alice.get(f"/api/v1/tasks/{created['task_id']}")
    assert got.status_code == 200 and got.json == created

    listed = alice.get("/api/v1/tasks")
    assert listed.status_code == 200 and listed.json == [created]
    assert "Link" not in listed.headers and "X-Total-Count" not in listed.headers


def test_defaults(alice):
    task = alice.create_task()
    assert (task["agent_type"], task["priority"], task["model"]) == ("build", 0, None)


def test_list_is_newest_first_and_pages(alice):
    ids = [alice.create_task(title=f"t{i}")["task_id"] for i in range(5)]
    first = alice.get("/api/v1/tasks?limit=2&page=0")
    second = alice.get("/api/v1/tasks?limit=2&page=1")
    last = alice.get("/api/v1/tasks?limit=2&page=2")
    assert [t["task_id"] for t in first.json] == ids[::-1][:2]
    assert [t["task_id"] for t in second.json] == ids[::-1][2:4]
    assert [t["task_id"] for t in last.json] == ids[:1]
    # Link names the next page with the caller's own query; the last page has none.
    assert first.headers["Link"] == '<http://hub.test/api/v1/tasks?limit=2&page=1>; rel="next"'
    assert second.headers["Link"] == '<http://hub.test/api/v1/tasks?limit=2&page=2>; rel="next"'
    assert "Link" not in last.headers
    # The query is rebuilt from the parameters as understood: unknown ones are left out.
    spelled = alice.get("/api/v1/tasks?page=0&search=%74&pag%65=0&limit=2")
    assert spelled.headers["Link"] == '<http://hub.test/api/v1/tasks?limit=2&page=1>; rel="next"'


def test_list_counts_the_total_only_when_asked(alice):
    for i in range(3):
        alice.create_task(title=f"t{i}")
    alice.post(f"/api/v1/tasks/{alice.create_task()['task_id']}/cancel")
    assert "X-Total-Count" not in alice.get("/api/v1/tasks?limit=1").headers
    counted = alice.get("/api/v1/tasks?limit=1&status=pending&include_total=true")
    assert counted.headers["X-Total-Count"] == "3" and len(counted.json) == 1
    assert counted.headers["Link"] == (
        '<http://hub.test/api/v1/tasks?status=pending&limit=1&include_total=true&page=1>; rel="next"'
    )


def test_list_filters(alice):
    a = alice.create_task(title="a")
    b = alice.create_task(title="b")
    codebase = alice.post("/api/v1/codebases", json={"name": "web"}).json
    c = alice.create_task(title="c", codebase_id=codebase["codebase_id"])
    alice.post(f"/api/v1/tasks/{b['task_id']}/cancel")

    def ids(query):
        response = alice.get(f"/api/v1/tasks?{query}")
        assert response.status_code == 200, response.json
        return [t["task_id"] for t in response.json]

    assert ids("status=cancelled") == [b["task_id"]]
    assert ids("status=pending") == [c["task_id"], a["task_id"]]
    assert ids(f"codebase_id={codebase['codebase_id']}") == [c["task_id"]]
    assert ids("codebase_id=global") == [b["task_id"], a["task_id"]]
    assert ids(f"created_after={b['created_at']}") == [c["task_id"], b["task_id"]]
    assert ids(f"created_before={b['created_at']}") == [a["task_id"]]
    assert ids("completed_after=2000-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "p"}, "title"),
        ({"title": "t"}, "prompt"),
        ({"title": "  ", "prompt": "p"}, "title"),
        ({"title": "t", "prompt": "p", "agent_type": "deploy"}, "agent_type"),
        ({"title": "t", "prompt": "p", "priority": "high"}, "priority"),
        ({"title": "t", "prompt": "p", "priority": 1.5}, "priority"),
        ({"title": "t", "prompt": "p", "priority": 10**12}, "priority"),
        ({"title": "t", "prompt": "p", "codebase_id": "nope"}, "codebase_id"),
        ({"title": "t" * 501, "prompt": "p"}, "title"),
        ({"title": "t", "prompt": "p", "priorty": 1}, "priorty"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_creates_nothing(app, alice, body, field):
    before = task_count(app)
    response = alice.post("/api/v1/tasks", json=body)
    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert field in response.json["errors"]
    assert field in response.json["message"]
    assert task_count(app) == before


def test_not_json_is_a_clear_error(alice):
    response = alice.post("/api/v1/tasks", data="title=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415, response.json
    assert response.json["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in response.json["message"]  # says what to send


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("created_after=yesterday", "created_after"),
        ("completed_before=2026-13-01", "completed_before"),
        ("status=done", "status"),
        ("page=-1", "page"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
    ],
)
def test_bad_list_filters_are_422(alice, query, field):
    response = alice.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 422 and field in response.json["errors"]


def test_unknown_codebase_filter_is_422(alice):
    response = alice.get("/api/v1/tasks?codebase_id=cb_nope")
    assert response.status_code == 422 and "codebase_id" in response.json["errors"]


def test_empty_optional_fields_mean_defaults(alice):
    task = alice.create_task(codebase_id="", model="")
    assert task["codebase_id"] == "global" and task["model"] is None


def test_other_users_tasks_are_404(alice, bob):
    task = alice.create_task()
    for response in (bob.get(f"/api/v1/tasks/{task['task_id']}"), bob.post(f"/api/v1/tasks/{task['task_id']}/cancel")):
        assert response.status_code == 404 and response.json["code"] == "not_found"
    assert bob.get("/api/v1/tasks").json == []
    assert alice.get(f"/api/v1/tasks/{task['task_id']}").json["status"] == "pending"


def test_other_users_codebase_is_unknown(alice, bob):
    codebase = alice.post("/api/v1/codebases", json={"name": "secret"}).json
    response = bob.post("/api/v1/tasks", json={"title": "t", "prompt": "p", "codebase_id": codebase["codebase_id"]})
    assert response.status_code == 422 and "codebase_id" in response.json["errors"]


def test_unknown_task_is_404(alice):
    assert alice.get("/api/v1/tasks/task_nope").status_code == 404


def test_cancel_pending_task(alice):
    task = alice.create_task()
    response = alice.post(f"/api/v1/tasks/{task['task_id']}/cancel")
    assert response.status_code == 200
    assert response.json["status"] == "cancelled" and response.json["cancelled_at"]
    again = alice.post(f"/api/v1/tasks/{task['task_id']}/cancel")
    assert again.status_code == 200 and again.json["cancelled_at"] == response.json["cancelled_at"]


def test_cancel_completed_task_is_409(app_ctx, alice):
    from hub.db import db
    from hub.services import tasks as service

    task = alice.create_task()
    row = db.session.query(Task).filter_by(id=task["task_id"]).one()
    service.transition(row, "running")
    service.transition(row, "completed", result="done")
    db.session.commit()
    response = alice.post(f"/api/v1/tasks/{task['task_id']}/cancel")
    assert response.status_code == 409
    assert response.json["code"] == "invalid_transition"
    assert "completed" in response.json["message"]
    assert alice.get(f"/api/v1/tasks/{task['task_id']}").json["status"] == "completed"


def test_unauthenticated_and_bad_keys_are_401(client, alice):
    for headers in ({}, {"Authorization": "Bearer ct_wrong"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(app, alice):
    from hub.services import accounts

    with app.app_context():
        accounts.revoke_api_key(alice.key_id)
    response = alice.get("/api/v1/me")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
