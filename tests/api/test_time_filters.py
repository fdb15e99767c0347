"""Time filters for every final state: ``completed_*``, ``failed_*`` and
``cancelled_*`` each read their own timestamp (``*_after`` inclusive,
``*_before`` exclusive), so "every hour, find the tasks that failed since the
last run" finds each failure once."""

from datetime import UTC, datetime

import pytest

FAR_PAST, FAR_FUTURE = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"


@pytest.fixture
def agent(client, worker_token):
    """An agent worker on the worker API: ``agent(task, "complete"|"fail")``
    claims the one pending task and finishes it so."""
    headers = {"Authorization": f"Bearer {worker_token}"}
    worker_id = client.post("/api/v1/worker/register", json={"name": "w"}, headers=headers).json["worker_id"]

    def finish(task, outcome):
        claimed = client.post(f"/api/v1/worker/{worker_id}/claim", json={"wait": 0}, headers=headers).json["task"]
        assert claimed["id"] == task["id"]
        body = {"result": "done"} if outcome == "complete" else {"error": "boom"}
        done = client.post(f"/api/v1/worker/tasks/{task['id']}/{outcome}", json=body, headers=headers)
        assert done.status_code == 200, done.json
        return done.json

    return finish


@pytest.fixture
def ended(alice, agent):
    """One task in each final state, and one still pending."""
    completed = agent(alice.create_task(title="completed"), "complete")
    failed = agent(alice.create_task(title="failed"), "fail")
    cancelled = alice.post(f"/api/v1/tasks/{alice.create_task(title='cancelled')['id']}/cancel").json
    pending = alice.create_task(title="pending")
    return {"completed": completed, "failed": failed, "cancelled": cancelled, "pending": pending}


def titles(user, query):
    response = user.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 200, response.json
    return [t["title"] for t in response.json]


@pytest.mark.parametrize("state", ["completed", "failed", "cancelled"])
def test_each_final_state_is_found_by_its_own_timestamp(alice, ended, state):
    at = ended[state][f"{state}_at"]
    assert titles(alice, f"{state}_after={FAR_PAST}") == [state]
    assert titles(alice, f"{state}_before={FAR_FUTURE}") == [state]
    assert titles(alice, f"{state}_after={at}") == [state]  # at or after
    assert titles(alice, f"{state}_before={at}") == []  # strictly before
    assert titles(alice, f"{state}_after={FAR_FUTURE}") == []
    assert titles(alice, f"{state}_after={FAR_PAST}&{state}_before={FAR_FUTURE}&status={state}") == [state]


def test_created_filters_still_take_every_state(alice, ended):
    everything = ["pending", "cancelled", "failed", "completed"]
    assert titles(alice, f"created_after={FAR_PAST}") == everything
    assert titles(alice, f"created_before={ended['failed']['created_at']}") == ["completed"]


def test_the_count_follows_the_time_filters(alice, ended):
    for query, total in (
        (f"failed_after={FAR_PAST}", "1"),
        (f"cancelled_before={FAR_FUTURE}", "1"),
        (f"completed_after={FAR_PAST}&failed_after={FAR_PAST}", "0"),  # one task cannot end twice
        (f"created_after={FAR_PAST}", "4"),
    ):
        response = alice.get(f"/api/v1/tasks?{query}&include_total=true&limit=1")
        assert response.headers["X-Total-Count"] == total, query


def test_an_hourly_poll_for_failures_finds_each_failure_once(alice, agent):
    """The seed's "every hour, find failed tasks": each run asks for failures
    since the previous run, and an old failure does not come back."""
    agent(alice.create_task(title="old failure"), "fail")
    agent(alice.create_task(title="finished fine"), "complete")
    last_run = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    new = agent(alice.create_task(title="new failure"), "fail")

    assert titles(alice, f"failed_after={last_run}") == ["new failure"]
    assert titles(alice, f"failed_after={last_run}&failed_before={new['failed_at']}") == []
    assert titles(alice, f"failed_before={last_run}") == ["old failure"]
    assert titles(alice, f"completed_after={FAR_PAST}") == ["finished fine"]


def test_other_users_tasks_stay_out(alice, bob, ended):
    assert titles(bob, f"failed_after={FAR_PAST}") == []


@pytest.mark.parametrize(
    "field",
    ["failed_after", "failed_before", "cancelled_after", "cancelled_before", "completed_after", "created_before"],
)
@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "1"])
def test_bad_times_are_422_naming_the_filter(alice, field, value):
    response = alice.get(f"/api/v1/tasks?{field}={value}")
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field]


def test_openapi_lists_every_time_filter(client):
    parameters = client.get("/openapi.json").json["paths"]["/api/v1/tasks"]["get"]["parameters"]
    names = {p["name"] for p in parameters}
    for state in ("created", "completed", "failed", "cancelled"):
        assert {f"{state}_after", f"{state}_before"} <= names
