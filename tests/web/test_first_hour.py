"""A newcomer's first pages (issue 20 items 6-8): the hub's address sends a
browser somewhere useful, and a pending task can be cancelled and says when
no agent worker is there to take it."""

import json
from datetime import timedelta

import pytest
from support.pages import csrf_token

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_the_hubs_address_sends_a_browser_to_sign_in_then_to_the_dashboard(alice, client, sign_in):
    signed_out = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == "/login"
    signed_in = sign_in("alice").get("/", headers={"Accept": BROWSER_ACCEPT})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/dashboard"
    assert "Accept" in signed_in.headers["Vary"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_the_hubs_address_answers_api_clients_in_json(client, accept):
    response = client.get("/", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.json["api"] == "/api/v1"
    assert response.json["openapi"] == "/openapi.json" and response.json["docs"] == "/docs"


def test_brand_link_goes_to_the_dashboard_once_signed_in(alice, client, sign_in):
    assert 'class="brand" href="/login"' in client.get("/login").get_data(as_text=True)
    assert 'class="brand" href="/dashboard"' in sign_in("alice").get("/dashboard").get_data(as_text=True)


def cancel_form(html, task_id):
    return f'action="/tasks/{task_id}/cancel"' in html


def test_cancel_button_on_a_pending_or_running_task(alice, bob, sign_in):
    task = alice.create_task(title="Deploy staging")
    client = sign_in("alice")
    page = client.get(f"/tasks/{task['id']}")
    assert cancel_form(page.get_data(as_text=True), task["id"])
    assert client.post(f"/tasks/{task['id']}/cancel").status_code == 400  # no CSRF token
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "pending"

    other = sign_in("bob")
    refused = other.post(f"/tasks/{task['id']}/cancel", data={"csrf_token": csrf_token(other.get("/dashboard"))})
    assert refused.status_code == 404 and alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "pending"

    client = sign_in("alice")
    done = client.post(f"/tasks/{task['id']}/cancel", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.request.path == f"/tasks/{task['id']}" and "Task cancelled." in html
    assert 'id="task-status">cancelled<' in html and not cancel_form(html, task["id"])
    api = alice.get(f"/api/v1/tasks/{task['id']}").json
    assert api["status"] == "cancelled" and api["cancelled_at"]  # the same rule as the API's cancel


def test_cancelling_a_finished_task_says_so_and_changes_nothing(alice, sign_in, app):
    from hub.db import begin_write, db
    from hub.models import Task
    from hub.services import tasks

    task = alice.create_task()
    client = sign_in("alice")
    token = csrf_token(client.get(f"/tasks/{task['id']}"))
    with app.app_context():
        begin_write()
        found = db.session.scalar(db.select(Task).where(Task.id == task["id"]))
        tasks.transition(found, "running")
        tasks.transition(found, "completed", result="done")
        db.session.commit()
    html = client.post(f"/tasks/{task['id']}/cancel", data={"csrf_token": token}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "is completed; it cannot become cancelled" in html and not cancel_form(html, task["id"])
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "completed"


def worker(client, token, **body):
    response = client.post(
        "/api/v1/worker/register", json={"name": "runner", **body}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 201), response.json
    return response.json


def test_pending_task_says_it_waits_for_an_agent_worker_until_one_is_seen(alice, sign_in, run, client):
    task = alice.create_task(agent_type="build")
    page = sign_in("alice")

    def waiting():
        html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
        return 'id="no-worker"' in html and "Waiting for an agent worker" in html and 'href="/help/workers"' in html

    assert waiting()
    help_page = page.get("/help/workers").get_data(as_text=True)
    assert "worker-tokens create" in help_page and "agent-worker --hub http://hub.test" in help_page

    token = json.loads(run("worker-tokens", "create", "farm", "--space", "alice", "--json").output)["token"]
    worker(client, token, agent_types=["plan"])  # alive, but runs other tasks than this one
    assert waiting()
    builder = worker(client, token, name="builder", agent_types=["build"])
    assert not waiting()

    from hub.db import begin_write, db
    from hub.models import Worker
    from hub.services import workers

    with page.application.app_context():  # the builder went quiet longer than a live worker ever does
        begin_write()
        found = db.session.scalar(db.select(Worker).where(Worker.id == builder["worker_id"]))
        found.last_seen_at -= timedelta(seconds=workers.alive_seconds() + 1)
        db.session.commit()
    assert waiting()


def test_no_waiting_notice_once_a_worker_holds_the_task(alice, sign_in, run, client):
    task = alice.create_task()
    token = json.loads(run("worker-tokens", "create", "farm", "--space", "alice", "--json").output)["token"]
    registered = worker(client, token)
    claimed = client.post(
        f"/api/v1/worker/{registered['worker_id']}/claim", json={}, headers={"Authorization": f"Bearer {token}"}
    ).json
    assert claimed["task"]["id"] == task["id"]
    html = sign_in("alice").get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="task-status">running<' in html and 'id="no-worker"' not in html and cancel_form(html, task["id"])
