"""Task links for the team: the task's ``url`` (what the API, Zapier and
webhooks give, what lands in a GitHub comment or a Slack thread) opens for
every member of the task's organisation, whatever space they were working
in: a member may cancel or reply, a viewer only reads, someone outside gets
the 404 the API gives for another's task. The page names who created it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support.pages import csrf_token
from support.teams import org_with

from hub.db import db

# The SQLite pass is enough: the page reads the task and the reader's membership, as the API does.
pytestmark = pytest.mark.sqlite_only

PASSWORD = "correct horse battery"


def move_task(app, task_id: str, to: str, **fields) -> None:
    """Stand in for the agent worker: change the task through the service."""
    from hub.db import begin_write
    from hub.models import Task
    from hub.services import tasks

    with app.app_context():
        begin_write()
        task = db.session.scalar(db.select(Task).where(Task.id == task_id))
        tasks.transition(task, to, **fields)
        db.session.commit()


def ask(app, task_id: str, question: str) -> None:
    """The task's agent asks, as a worker's ask does."""
    from hub.db import begin_write
    from hub.models import Task
    from hub.services import questions, tasks

    with app.app_context():
        begin_write()
        task = db.session.scalar(db.select(Task).where(Task.id == task_id))
        tasks.transition(task, "running")
        questions.ask(task, question)
        db.session.commit()


@pytest.fixture
def team_task(app, client, make_user):
    """alice (owner) made a task in her org through an API key of the org;
    bob is a member, vera a viewer, eve in no org. The task as the API answered."""
    from support.users import ApiUser

    from hub.services import accounts

    for name in ("alice", "bob", "vera", "eve"):
        make_user(name, tier="enterprise")
    org = org_with(app, "alice", bob="member", vera="viewer")
    with app.app_context():
        key, plain = accounts.create_api_key("alice", space_pk=org)
    alice = ApiUser(client, "alice", plain, key.id)
    return alice.create_task(title="Fix issue #42", prompt="The login form drops the password")


def test_a_member_opens_the_task_link_and_may_act_on_it(app, team_task, sign_in):
    path = team_task["url"].removeprefix("http://hub.test")  # HUB_BASE_URL in the tests
    assert path == f"/tasks/{team_task['id']}"
    ask(app, team_task["id"], "Which branch?")
    bob = sign_in("bob")
    page = bob.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Fix issue #42" in html and "Which branch?" in html
    assert 'id="task-creator">Created by <strong>alice</strong>' in html
    assert 'id="cancel-task"' in html and 'id="send-reply"' in html
    sent = bob.post(f"{path}/reply", data={"message": "main", "csrf_token": csrf_token(page)})
    assert sent.status_code == 302
    assert "Reply sent" in bob.get(path).get_data(as_text=True)


def test_a_viewer_reads_the_task_without_cancel_or_reply(app, team_task, sign_in):
    path = f"/tasks/{team_task['id']}"
    ask(app, team_task["id"], "Which branch?")
    vera = sign_in("vera")
    page = vera.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Which branch?" in html and "Created by <strong>alice</strong>" in html
    assert 'id="cancel-task"' not in html and 'id="send-reply"' not in html
    token = csrf_token(page)  # the sign-out form's: the buttons are gone, the routes refuse too
    assert vera.post(f"{path}/cancel", data={"csrf_token": token}).status_code == 403
    assert vera.post(f"{path}/reply", data={"message": "main", "csrf_token": token}).status_code == 403
    assert 'id="task-status">input_required<' in vera.get(path).get_data(as_text=True)  # unchanged


def test_someone_outside_the_org_gets_404_on_the_page_and_its_stream(team_task, sign_in):
    eve = sign_in("eve")
    path = f"/tasks/{team_task['id']}"
    assert eve.get(path).status_code == 404
    assert eve.get(f"{path}/live").status_code == 404
    assert "Fix issue #42" not in eve.get(path).get_data(as_text=True)


def test_a_members_live_stream_follows_the_task_to_its_end(app, team_task, sign_in):
    move_task(app, team_task["id"], "running")
    move_task(app, team_task["id"], "completed", result="Fixed in #43.")
    bob = sign_in("bob")
    stream = bob.get(f"/tasks/{team_task['id']}/live")
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    body = stream.get_data(as_text=True)  # a finished task's stream: its state, then the end
    assert "event: state" in body and "Fixed in #43." in body and "event: end" in body


def test_a_teammate_follows_the_link_from_a_github_comment(hub, page):
    """In a real browser: the link posted in the issue leads to the sign-in
    page, then to the task (not a 404), which follows the task live."""
    from hub.services import accounts

    for name in ("alice", "bob"):
        hub.create_user(name, password=PASSWORD, tier="enterprise")
    org = org_with(hub.app, "alice", bob="member")
    with hub.app.app_context():
        plain = accounts.create_api_key("alice", space_pk=org)[1]
    task = hub.api("/api/v1/tasks", plain, "POST", json={"title": "Fix issue #42", "prompt": "Fix the login form"})
    assert task.status_code == 201, task.text
    task = task.json()
    move_task(hub.app, task["id"], "running")

    response = page.goto(task["url"])  # the link in alice's GitHub comment, bob not signed in yet
    assert response.status == 200
    expect(page.locator("#username")).to_be_visible()
    page.fill("#username", "bob")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Fix issue #42")
    expect(page.locator("#task-creator")).to_have_text("Created by alice")
    expect(page.locator("#task-status")).to_have_text("running")
    page.shot("teammate-on-the-task")
    move_task(hub.app, task["id"], "completed", result="Fixed in #43.")
    expect(page.locator("#task-status")).to_have_text("completed", timeout=15000)  # the live stream, no reload
    expect(page.locator("#task-result")).to_have_text("Fixed in #43.")
