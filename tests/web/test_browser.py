"""What a person does in a browser: sign in, make an API key and see it once,
watch a task page change from running to completed, see webhook deliveries
and replay a failed one (as its owner, as an admin), and an admin-only page
refused to someone who is not an admin."""

import pytest
from playwright.sync_api import expect
from support import wait_for
from support.chromium import browser_sign_in
from support.receiver import Answer

# The SQLite pass is enough: a browser asks nothing more of the database.
pytestmark = pytest.mark.sqlite_only

PASSWORD = "correct horse battery"


def move_task(hub, task_id, to, **fields):
    """Stand in for the agent worker: change the task through the service."""
    from hub.db import begin_write, db
    from hub.models import Task
    from hub.services import tasks

    with hub.app.app_context():
        begin_write()
        task = db.session.scalar(db.select(Task).where(Task.id == task_id))
        tasks.transition(task, to, **fields)
        db.session.commit()


def test_sign_in_and_create_an_api_key_shown_once(hub, page):
    hub.create_user("alice", password="correct horse battery")
    browser_sign_in(page, hub, "alice", "correct horse battery")
    page.shot("signed-in")
    page.goto(hub.url("/dashboard"))
    page.fill("#key-name", "my script")
    page.click("text=Create API key")
    key = page.locator("#new-key-value")
    expect(key).to_contain_text("ct_")
    plain = key.inner_text()
    page.shot("key-shown-once")
    assert hub.api("/api/v1/me", plain).json()["username"] == "alice"
    page.goto(hub.url("/dashboard"))
    expect(page.locator("#api-keys")).to_contain_text("my script")
    assert plain not in page.content()
    page.shot("key-gone-on-reload")


def test_task_page_changes_from_running_to_completed(hub, page):
    hub.create_user("alice", password="correct horse battery")
    key = hub.cli("api-keys", "create", "alice", "--json")["key"]
    task = hub.api("/api/v1/tasks", key, "POST", json={"title": "Fix the build", "prompt": "Make CI green"}).json()
    move_task(hub, task["id"], "running")
    page.goto(task["url"])  # the link Zapier posts: sign in first, then back to the task
    sign_in_form = page.locator("#username")
    expect(sign_in_form).to_be_visible()
    page.fill("#username", "alice")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    expect(page.locator("#task-status")).to_have_text("running")
    expect(page.locator("h1")).to_have_text("Fix the build")
    page.shot("running")
    move_task(hub, task["id"], "completed", result="All green: 42 tests pass.")
    # No reload from the test: the page follows its task's live stream.
    expect(page.locator("#task-status")).to_have_text("completed", timeout=15000)
    expect(page.locator("#task-result")).to_have_text("All green: 42 tests pass.")
    expect(page.locator(".timeline")).to_contain_text("task.completed")
    page.shot("completed")


def test_non_admin_is_refused_the_admin_pages(hub, page):
    hub.create_user("bob", password="correct horse battery")
    browser_sign_in(page, hub, "bob", "correct horse battery")
    response = page.goto(hub.url("/admin/"))
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Admins only")
    expect(page.locator("nav.pages")).not_to_contain_text("Admin")
    page.shot("refused")


def test_admin_sees_users_clients_and_connectors(hub, page):
    hub.create_user("root", password="correct horse battery", is_admin=True)
    hub.create_user("alice", password="correct horse battery")
    browser_sign_in(page, hub, "root", "correct horse battery")
    page.goto(hub.url("/admin/"))
    expect(page.locator("#users")).to_contain_text("alice")
    page.select_option("#users tr:has-text('alice') select", "pro")
    page.click("#users tr:has-text('alice') button")
    expect(page.locator(".flash")).to_contain_text("alice is now on the pro tier")
    page.fill("#client-name", "Zapier")
    page.fill("#client-uris", "https://zapier.com/dashboard/auth/oauth/return/App1/")
    page.click("text=Create client")
    expect(page.locator("#new-client-secret")).to_be_visible()
    page.shot("client-secret-once")
    expect(page.locator("#connectors")).to_contain_text("zapier")


@pytest.fixture
def delivering_hub(webhook_settings, start_hub, receiver, delivery_worker):
    """A hub that may post webhooks to loopback, a real delivery worker
    (`codetether-hub delivery-worker`) beside it, and a receiver to post to. Short
    retry delays: a failing delivery fails for good within a second."""
    return start_hub(), receiver


def failed_delivery(hub, receiver, username):
    """``username``'s hook whose receiver answers 500 to the first attempt and
    every retry, then 200 to whatever comes next."""
    hub.create_user(username, password=PASSWORD, tier="enterprise")
    key = hub.cli("api-keys", "create", username, "--json")["key"]
    receiver.plan("/hook", *[Answer(500)] * 4)
    hook = hub.api("/api/v1/hooks", key, "POST", json={"event": "task.created", "target_url": receiver.url("/hook")})
    hook = hook.json()
    hub.api("/api/v1/tasks", key, "POST", json={"title": "Fix the build", "prompt": "Make CI green"})

    def failed():
        found = hub.api(f"/api/v1/hooks/{hook['id']}/deliveries", key).json()
        return found and found[0]["status"] == "failed" and found[0]

    return hook, wait_for(failed, 20, interval=0.05, message="the delivery to fail for good")


def test_admin_replays_a_failed_delivery(delivering_hub, page):
    hub, receiver = delivering_hub
    _hook, delivery = failed_delivery(hub, receiver, "alice")
    hub.create_user("root", password=PASSWORD, is_admin=True)
    browser_sign_in(page, hub, "root", PASSWORD)
    page.goto(hub.url("/admin/#deliveries"))
    row = page.locator(f"#delivery-{delivery['id']}")
    expect(row).to_contain_text("alice")
    expect(row).to_contain_text("HTTP 500")
    expect(row).to_contain_text(receiver.url("/hook"))
    row.scroll_into_view_if_needed()
    page.shot("failed-delivery")
    row.get_by_role("button", name="Replay").click()
    expect(page.locator(".flash")).to_contain_text(f"Sending task.created {delivery['webhook_id']}")
    # The delivery's page refreshes itself until the replay is done; the receiver answers 200 now.
    expect(page.locator("#delivery-status")).to_have_text("delivered", timeout=20000)
    expect(page.locator("#attempts tbody tr").last).to_contain_text("200")
    assert receiver.received("/hook")[-1].headers["webhook-id"] == delivery["webhook_id"]
    page.shot("replayed-and-delivered")
    page.goto(hub.url("/admin/#deliveries"))
    expect(page.locator("#deliveries")).to_contain_text("No failed deliveries")
    page.shot("no-failed-deliveries")


def test_dashboard_shows_the_hooks_deliveries_and_replays_one(delivering_hub, page):
    hub, receiver = delivering_hub
    hook, delivery = failed_delivery(hub, receiver, "alice")
    browser_sign_in(page, hub, "alice", PASSWORD)
    page.goto(hub.url("/dashboard#hooks"))
    hooks = page.locator("#hooks")
    expect(hooks).to_contain_text(receiver.url("/hook"))
    expect(hooks).to_contain_text("task.created")
    row = page.locator(f"#delivery-{delivery['id']}")
    expect(row.locator(".status")).to_have_text("failed")
    expect(row).to_contain_text("500")
    assert hook["secret"] not in page.content()
    hooks.scroll_into_view_if_needed()
    page.shot("hook-and-failed-delivery")
    row.get_by_role("button", name="Replay").click()
    expect(page.locator(".flash")).to_contain_text(f"Sending task.created {delivery['webhook_id']}")

    def delivered():
        page.reload()
        return page.locator(f"#delivery-{delivery['id']} .status").inner_text() == "delivered"

    wait_for(delivered, 20, interval=0.2, message="the replay to show as delivered")
    page.locator("#hooks").scroll_into_view_if_needed()
    page.shot("replay-delivered")


def test_admin_sees_the_agent_workers_and_the_task_each_holds(hub, page):
    hub.create_user("root", password=PASSWORD, is_admin=True)
    hub.create_user("alice", password=PASSWORD)
    key = hub.cli("api-keys", "create", "alice", "--json")["key"]
    token = hub.cli("worker-tokens", "create", "build farm", "--hub-wide", "--json")["token"]
    busy = hub.api("/api/v1/worker/register", token, "POST", json={"name": "runner-1", "agent_types": ["build"]})
    hub.api("/api/v1/worker/register", token, "POST", json={"name": "runner-2"})
    task = hub.api("/api/v1/tasks", key, "POST", json={"title": "Fix the build", "prompt": "Make CI green"}).json()
    claimed = hub.api(f"/api/v1/worker/{busy.json()['worker_id']}/claim", token, "POST", json={}).json()
    assert claimed["task"]["id"] == task["id"]
    browser_sign_in(page, hub, "root", PASSWORD)
    page.goto(hub.url("/admin/#workers"))
    row = page.locator(f"#worker-{busy.json()['worker_id']}")
    expect(row).to_contain_text("runner-1")
    expect(row).to_contain_text(task["id"])
    expect(row).to_contain_text("alive")
    expect(page.locator("#workers")).to_contain_text("runner-2")
    page.locator("#workers").scroll_into_view_if_needed()
    page.shot("workers")


def test_a_pending_task_waits_for_a_worker_and_is_cancelled_from_its_page(hub, page):
    hub.create_user("alice", password=PASSWORD)
    key = hub.cli("api-keys", "create", "alice", "--json")["key"]
    task = hub.api("/api/v1/tasks", key, "POST", json={"title": "Deploy staging", "prompt": "Ship it"}).json()
    page.goto(hub.url("/"))  # the address `up` prints: sign in, then the dashboard
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your dashboard")
    page.click("text=Deploy staging")
    expect(page.locator("#task-status")).to_have_text("pending")
    expect(page.locator("#no-worker")).to_contain_text("Waiting for an agent worker")
    page.shot("waiting-for-a-worker")
    page.click("text=How to attach one")
    expect(page.locator("h1")).to_have_text("Attach an agent worker")
    page.go_back()
    page.click("#cancel-task")
    expect(page.locator("#task-status")).to_have_text("cancelled")
    expect(page.locator(".flash")).to_contain_text("Task cancelled.")
    expect(page.locator("#cancel-task")).to_have_count(0)
    page.shot("cancelled")
    assert hub.api(f"/api/v1/tasks/{task['id']}", key).json()["status"] == "cancelled"
    page.click(".brand")
    expect(page.locator("h1")).to_have_text("Your dashboard")
