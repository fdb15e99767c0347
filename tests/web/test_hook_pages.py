"""Webhook subscriptions and their deliveries on the dashboard; failed
deliveries and agent workers on the admin page. Deliveries go through the
real path: a `codetether-hub delivery-worker` process posting to a loopback receiver."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import update
from support.delivery import deliveries, subscribe, wait_delivery
from support.pages import csrf_token
from support.receiver import Answer

pytestmark = pytest.mark.usefixtures("webhook_settings")


def failed_delivery(user, receiver, path="/hook", title="Fix the build"):
    """A hook whose receiver answers 500 to the first attempt and its three
    retries: the delivery fails for good."""
    receiver.plan(path, *[Answer(500)] * 4)
    hook = subscribe(user, receiver, path=path)
    user.create_task(title=title)
    [delivery] = wait_delivery(user, hook["id"], lambda d: d[0]["status"] == "failed", message="a failed delivery")
    return hook, delivery


def row(html, delivery_id) -> str:
    return re.search(rf'<tr id="delivery-{delivery_id}">(.*?)</tr>', html, re.S).group(1)


def text(html) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def cells(html, delivery_id) -> list[str]:
    return [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row(html, delivery_id), re.S)]


def test_dashboard_shows_hooks_with_recent_deliveries_and_replays_them(alice, bob, receiver, delivery_worker, sign_in):
    hook, failed = failed_delivery(alice, receiver)
    alice.create_task(title="Second")  # the receiver answers 200 from now on
    delivered, _ = wait_delivery(alice, hook["id"], lambda d: len(d) == 2 and d[0]["status"] == "delivered")
    client = sign_in("alice")
    html = client.get("/dashboard").get_data(as_text=True)
    section = html[html.index('id="hooks"') :]
    assert receiver.url("/hook") in section and "task.created" in section and "active" in section
    assert section.index(delivered["id"]) < section.index(failed["id"])  # newest first
    assert cells(section, delivered["id"])[:3] == ["delivered", "200", "1"]
    outcome, status, attempts, event, _when, _replay = cells(section, failed["id"])
    assert outcome.startswith("failed") and "No retries left" in outcome
    assert (status, attempts, event) == ("500", "4", failed["webhook_id"])
    assert hook["secret"] not in html  # the signing secret is shown once, at subscribe, never here
    assert receiver.url("/hook") not in sign_in("bob").get("/dashboard").get_data(as_text=True)

    replay = f"/dashboard/deliveries/{failed['id']}/replay"
    bob_token = csrf_token(sign_in("bob").get("/dashboard"))
    assert client.post(replay, data={"csrf_token": bob_token}).status_code == 404  # bob's session
    client = sign_in("alice")
    assert client.post(replay).status_code == 400  # no CSRF token
    sent = len(receiver.received("/hook"))
    assert deliveries(alice, hook["id"])[1]["status"] == "failed"  # neither changed anything

    answer = client.post(replay, data={"csrf_token": csrf_token(client.get("/dashboard"))}, follow_redirects=True)
    assert answer.status_code == 200 and f"Sending task.created {failed['webhook_id']}" in answer.get_data(as_text=True)
    again = receiver.wait_for(sent + 1, "/hook")[-1]
    assert again.headers["webhook-id"] == failed["webhook_id"]
    wait_delivery(alice, hook["id"], lambda d: d[1]["status"] == "delivered", message="the replay delivered")
    page = client.get("/dashboard").get_data(as_text=True)
    assert cells(page, failed["id"])[:3] == ["delivered", "200", "5"]


def test_admin_lists_failed_deliveries_across_users_and_replays_them(
    alice, bob, make_user, receiver, delivery_worker, sign_in
):
    hook, failed = failed_delivery(alice, receiver)
    receiver.plan("/gone", Answer(410))  # the receiver says the hook is gone: it is deleted
    gone_hook = subscribe(bob, receiver, path="/gone")
    bob.create_task(title="Bob's")
    [gone] = wait_delivery(bob, gone_hook["id"], lambda d: d[0]["status"] == "failed")
    delivered_hook = subscribe(bob, receiver, path="/fine")
    bob.create_task(title="Bob's second")
    wait_delivery(bob, delivered_hook["id"], lambda d: d[0]["status"] == "delivered")

    make_user("root", is_admin=True)
    admin = sign_in("root")
    html = admin.get("/admin/").get_data(as_text=True)
    section = html[html.index('id="deliveries"') : html.index('id="workers"')]
    assert section.count('<tr id="delivery-') == 2  # the delivered one is not listed
    what, outcome, attempts, _when, replay_button = cells(section, failed["id"])
    assert what.startswith("alice · task.created") and receiver.url("/hook") in what and failed["webhook_id"] in what
    assert outcome.startswith("HTTP 500") and "No retries left" in outcome
    assert attempts == "4" and replay_button == "Replay"
    assert "bob" in text(row(section, gone["id"])) and "deleted" in row(section, gone["id"])
    assert "Replay" not in row(section, gone["id"])  # a deleted hook's delivery cannot be sent again
    assert hook["secret"] not in html and gone_hook["secret"] not in html

    replay = f"/admin/deliveries/{failed['id']}/replay"
    token = csrf_token(admin.get("/admin/"))
    alice_client = sign_in("alice")
    assert alice_client.post(replay, data={"csrf_token": csrf_token(alice_client.get("/dashboard"))}).status_code == 403
    admin = sign_in("root")
    assert admin.post(replay).status_code == 400  # no CSRF token
    assert admin.post("/admin/deliveries/dlv_nope/replay", data={"csrf_token": token}).status_code == 404
    assert admin.get("/admin/deliveries/dlv_nope").status_code == 404
    assert sign_in("alice").get(f"/admin/deliveries/{failed['id']}").status_code == 403
    admin = sign_in("root")
    assert deliveries(alice, hook["id"])[0]["status"] == "failed"

    answer = admin.post(replay, data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/admin/deliveries/{failed['id']}"
    wait_delivery(alice, hook["id"], lambda d: d[0]["status"] == "delivered", message="the replay delivered")
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="delivery-status">delivered<' in page and 'http-equiv="refresh"' not in page
    log = page[page.index('id="attempts"') :]
    attempts = [
        (cols[0], cols[2])
        for cols in (
            [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", log, re.S)
        )
        if cols
    ]
    assert attempts == [("1", "500"), ("2", "500"), ("3", "500"), ("4", "500"), ("5", "200")]
    section = admin.get("/admin/").get_data(as_text=True)
    assert failed["id"] not in section and gone["id"] in section

    answer = admin.post(f"/admin/deliveries/{gone['id']}/replay", data={"csrf_token": token}, follow_redirects=True)
    assert "was deleted" in answer.get_data(as_text=True)
    assert deliveries(bob, gone_hook["id"])[0]["status"] == "failed"


def test_admin_sees_workers_the_task_each_holds_and_which_stopped(app, alice, client, make_user, sign_in):
    from hub.db import db, utcnow
    from hub.models import Worker
    from hub.services import workers

    with app.app_context():
        _token, plain = workers.create_token("build farm")
    headers = {"Authorization": f"Bearer {plain}"}
    busy = client.post(
        "/api/v1/worker/register", headers=headers, json={"name": "runner-1", "agent_types": ["build", "plan"]}
    ).json["worker_id"]
    gone = client.post("/api/v1/worker/register", headers=headers, json={"name": "runner-2"}).json["worker_id"]
    task = alice.create_task(title="Fix the flaky test")
    assert client.post(f"/api/v1/worker/{busy}/claim", headers=headers, json={}).json["task"]["id"] == task["id"]
    with app.app_context():  # runner-2 last called in two minutes ago (the lease is 60 s)
        db.session.execute(update(Worker).where(Worker.id == gone).values(last_seen_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()

    make_user("root", is_admin=True)
    html = sign_in("root").get("/admin/").get_data(as_text=True)
    section = html[html.index('id="workers"') :]
    busy_row = text(re.search(rf'<tr id="worker-{busy}">(.*?)</tr>', section, re.S).group(1))
    gone_row = text(re.search(rf'<tr id="worker-{gone}">(.*?)</tr>', section, re.S).group(1))
    assert "runner-1" in busy_row and "token build farm" in busy_row and "build, plan" in busy_row
    assert task["id"] in busy_row and "Fix the flaky test" in busy_row and "alive" in busy_row
    assert "any codebase" in gone_row and "any agent type" in gone_row and "idle" in gone_row
    assert "not seen" in gone_row and "2 min ago" in gone_row
    assert section.index("runner-1") < section.index("runner-2")  # most recently seen first
    assert plain not in html


def test_admin_workers_section_says_when_there_are_none(make_user, sign_in):
    make_user("root", is_admin=True)
    html = sign_in("root").get("/admin/").get_data(as_text=True)
    assert "No workers registered" in html and "No failed deliveries" in html
