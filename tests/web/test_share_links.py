"""Share links: a member with the 'work' role makes a read-only link to one
of the org's tasks on its page (CSRF, expiry 1, 7 or 30 days); anyone holding
it reads the task without signing in; a revoked or expired link is a 404 like
an unknown token; a link opens its own task alone, and never the prompts of
the conversation's other tasks; viewers cannot make or revoke links."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from support.pages import csrf_token
from support.teams import org_with

from hub.db import db

# The SQLite pass is enough: one indexed lookup by hash, the same on either database.
pytestmark = pytest.mark.sqlite_only

SHARE_URL = re.compile(r'id="new-share-url">(http://[^<]+)<')


def org_key(app, client, username: str, org_pk: int):
    """``username``'s API key acting in the org."""
    from support.users import ApiUser

    from hub.services import accounts

    with app.app_context():
        key, plain = accounts.create_api_key(username, space_pk=org_pk)
    return ApiUser(client, username, plain, key.id)


def finish(app, task_id: str, result: str) -> None:
    """The agent's work done, as the worker API's complete records it."""
    from hub.db import begin_write
    from hub.models import Task
    from hub.services import conversations, tasks

    with app.app_context():
        begin_write()
        task = db.session.scalar(db.select(Task).where(Task.id == task_id))
        tasks.transition(task, "running")
        tasks.transition(task, "completed", result=result)
        if task.conversation_pk:
            conversations.append_reply(task)
        db.session.commit()


def share(client, task_id: str, days: str = "7") -> str:
    """Make a link on the task page as its form does; the URL shown once."""
    page = client.get(f"/tasks/{task_id}")
    made = client.post(f"/tasks/{task_id}/share-links", data={"days": days, "csrf_token": csrf_token(page)})
    assert made.status_code == 200, made.get_data(as_text=True)
    found = SHARE_URL.search(made.get_data(as_text=True))
    assert found, "the new link is shown on the page"
    return found.group(1)


def path_of(url: str) -> str:
    return url.removeprefix("http://hub.test")  # HUB_BASE_URL in the tests


@pytest.fixture
def team(app, client, make_user):
    """alice (owner), bob (member), vera (viewer) of one org; eve of none."""
    for name in ("alice", "bob", "vera", "eve"):
        make_user(name, tier="enterprise")
    org = org_with(app, "alice", bob="member", vera="viewer")
    return org, org_key(app, client, "alice", org)


def test_a_member_shares_a_task_that_anyone_with_the_link_reads_without_signing_in(app, team, sign_in):
    from hub.models import AuditEntry, ShareLink

    org, alice = team
    task = alice.create_task(title="Fix the login bug", prompt="The <login> form drops the password")
    finish(app, task["id"], "Fixed: the form posts the password again.")
    bob = sign_in("bob")
    page = bob.get(f"/tasks/{task['id']}")
    assert 'id="create-share-link"' in page.get_data(as_text=True)
    assert bob.post(f"/tasks/{task['id']}/share-links", data={"days": "7"}).status_code == 400  # no CSRF token

    url = share(bob, task["id"])
    token = url.rsplit("/", 1)[1]
    anonymous = app.test_client()
    shared = anonymous.get(path_of(url))
    html = shared.get_data(as_text=True)
    assert shared.status_code == 200
    assert "Fix the login bug" in html and "completed" in html
    assert "Fixed: the form posts the password again." in html
    assert "The &lt;login&gt; form drops the password" in html  # the task's own prompt, escaped
    assert "<form" not in html and "<button" not in html and "Sign out" not in html  # read-only, nobody's session
    assert shared.headers["Cache-Control"] == "no-store"
    assert shared.headers["Referrer-Policy"] == "no-referrer"  # the token never leaves in a Referer
    assert "noindex" in shared.headers["X-Robots-Tag"]

    with app.app_context():
        (link,) = db.session.scalars(db.select(ShareLink)).all()
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept
        assert timedelta(days=6, hours=23) < link.expires_at - link.created_at <= timedelta(days=7)
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "share_link.created"))
        assert (entry.space_pk, entry.actor, entry.target) == (org, "bob", task["id"])
    again = bob.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert link.id in again and token not in again  # listed on the page, the token shown once only


def test_each_expiry_choice_and_a_bad_one(app, team, sign_in):
    from hub.models import ShareLink

    _, alice = team
    task = alice.create_task()
    bob = sign_in("bob")
    for days in ("1", "30"):
        share(bob, task["id"], days)
    page = bob.get(f"/tasks/{task['id']}")
    refused = bob.post(
        f"/tasks/{task['id']}/share-links", data={"days": "365", "csrf_token": csrf_token(page)}, follow_redirects=True
    )
    assert "days: Must be one of 1, 7, 30." in refused.get_data(as_text=True)
    with app.app_context():
        lives = sorted(link.expires_at - link.created_at for link in db.session.scalars(db.select(ShareLink)))
    assert lives == [timedelta(days=1), timedelta(days=30)]  # nothing made for the bad choice


def test_revoked_and_expired_links_answer_as_an_unknown_token_does(app, team, sign_in):
    from hub.db import begin_write
    from hub.models import AuditEntry, ShareLink

    org, alice = team
    task = alice.create_task(title="Secret roadmap")
    bob = sign_in("bob")
    revoked, expired = share(bob, task["id"]), share(bob, task["id"])
    anonymous = app.test_client()
    assert anonymous.get(path_of(revoked)).status_code == 200 and anonymous.get(path_of(expired)).status_code == 200

    with app.app_context():
        link_id = db.session.scalar(
            db.select(ShareLink.id).where(ShareLink.token_hash == _hash(revoked)),
        )
    page = bob.get(f"/tasks/{task['id']}")
    assert bob.post(f"/tasks/{task['id']}/share-links/{link_id}/revoke", data={}).status_code == 400  # no CSRF
    gone = bob.post(
        f"/tasks/{task['id']}/share-links/{link_id}/revoke",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert f'id="share-{link_id}"' not in gone.get_data(as_text=True)  # no longer listed
    with app.app_context():
        begin_write()
        link = db.session.scalar(db.select(ShareLink).where(ShareLink.token_hash == _hash(expired)))
        link.expires_at = link.created_at - timedelta(seconds=1)
        db.session.commit()
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "share_link.revoked"))
        assert (entry.space_pk, entry.actor, entry.detail) == (org, "bob", {"link": link_id})

    unknown = anonymous.get("/share/cts_" + "x" * 43)
    assert unknown.status_code == 404
    for url in (revoked, expired):
        answer = anonymous.get(path_of(url))
        assert answer.status_code == 404
        assert answer.get_data() == unknown.get_data()  # the same page: no telling a dead link from a made-up one
        assert "Secret roadmap" not in answer.get_data(as_text=True)


def test_a_link_opens_its_own_task_and_never_the_conversations_other_tasks(app, team, sign_in):
    _, alice = team
    first = alice.post("/api/v1/messages", json={"message": "Rotate the staging password hunter2"}).json
    finish(app, first["task_id"], "Rotated.")
    second = alice.post(
        "/api/v1/messages", json={"message": "Now write the release notes", "conversation_id": first["conversation_id"]}
    ).json
    finish(app, second["task_id"], "Release notes written.")
    assert "hunter2" in alice.get(f"/api/v1/tasks/{second['task_id']}").json["prompt"]  # the history rides along

    bob = sign_in("bob")
    anonymous = app.test_client()
    html = anonymous.get(path_of(share(bob, second["task_id"]))).get_data(as_text=True)
    assert "Now write the release notes" in html and "Release notes written." in html
    assert "hunter2" not in html and "Rotated." not in html
    html = anonymous.get(path_of(share(bob, first["task_id"]))).get_data(as_text=True)
    assert "hunter2" in html and "Rotated." in html
    assert "release notes" not in html.lower()


def test_viewers_cannot_make_or_revoke_links_and_outsiders_get_404(app, team, sign_in):
    from hub.models import ShareLink

    _, alice = team
    task = alice.create_task()
    share(sign_in("alice"), task["id"])  # a link to try to revoke
    with app.app_context():
        link_id = db.session.scalar(db.select(ShareLink.id))

    vera = sign_in("vera")
    page = vera.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and 'id="create-share-link"' not in page.get_data(as_text=True)
    token = csrf_token(page)
    assert vera.post(f"/tasks/{task['id']}/share-links", data={"csrf_token": token}).status_code == 403
    assert vera.post(f"/tasks/{task['id']}/share-links/{link_id}/revoke", data={"csrf_token": token}).status_code == 403

    eve = sign_in("eve")
    token = csrf_token(eve.get("/dashboard"))
    assert eve.post(f"/tasks/{task['id']}/share-links", data={"csrf_token": token}).status_code == 404
    assert eve.post(f"/tasks/{task['id']}/share-links/{link_id}/revoke", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.scalars(db.select(ShareLink.revoked_at)).all() == [None]
        assert db.session.scalar(db.select(db.func.count()).select_from(ShareLink)) == 1


def test_tokens_are_too_long_to_guess(app, team, sign_in):
    _, alice = team
    task = alice.create_task()
    bob = sign_in("bob")
    tokens = [share(bob, task["id"]).rsplit("/", 1)[1] for _ in range(3)]
    assert len(set(tokens)) == 3
    for token in tokens:
        digits = token.removeprefix("cts_")
        assert re.fullmatch(r"[0-9A-Za-z]{43}", digits)  # 43 base-62 digits: over 255 bits of randomness


def _hash(url: str) -> str:
    return hashlib.sha256(url.rsplit("/", 1)[1].encode()).hexdigest()


def test_the_rest_api_makes_lists_and_revokes_links_with_the_task_scopes(app, client, team, make_user):
    from support.users import ApiUser

    from hub.services import accounts

    org, alice = team
    task = alice.create_task(title="Fix the login bug")
    made = alice.post(f"/api/v1/tasks/{task['id']}/share-links", json={"days": 1})
    assert made.status_code == 201, made.json
    link = made.json
    assert link["url"].startswith("http://hub.test/share/cts_")
    assert "Fix the login bug" in app.test_client().get(path_of(link["url"])).get_data(as_text=True)
    listed = alice.get(f"/api/v1/tasks/{task['id']}/share-links").json
    assert [one["id"] for one in listed] == [link["id"]] and "url" not in listed[0]  # the URL was shown once
    bad = alice.post(f"/api/v1/tasks/{task['id']}/share-links", json={"days": 2})
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["days"]

    with app.app_context():
        viewer_key = accounts.create_api_key("vera", space_pk=org)[1]
        reader_key = accounts.create_api_key("bob", space_pk=org, scopes="tasks:read")[1]
    vera, reader = ApiUser(client, "vera", viewer_key, ""), ApiUser(client, "bob", reader_key, "")
    assert vera.get(f"/api/v1/tasks/{task['id']}/share-links").status_code == 200
    refused = vera.post(f"/api/v1/tasks/{task['id']}/share-links", json={})
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_role"
    assert vera.delete(f"/api/v1/tasks/{task['id']}/share-links/{link['id']}").status_code == 403
    assert reader.post(f"/api/v1/tasks/{task['id']}/share-links", json={}).status_code == 403  # no tasks:write
    eve = make_user("eve2")  # her personal space: not the task's
    assert eve.get(f"/api/v1/tasks/{task['id']}/share-links").status_code == 404
    assert eve.delete(f"/api/v1/tasks/{task['id']}/share-links/{link['id']}").status_code == 404

    other = alice.create_task(title="Another task")
    assert alice.delete(f"/api/v1/tasks/{other['id']}/share-links/{link['id']}").status_code == 404  # not its link
    revoked = alice.delete(f"/api/v1/tasks/{task['id']}/share-links/{link['id']}")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert alice.delete(f"/api/v1/tasks/{task['id']}/share-links/{link['id']}").status_code == 200  # again: safe
    assert app.test_client().get(path_of(link["url"])).status_code == 404
    assert alice.get(f"/api/v1/tasks/{task['id']}/share-links").json == []
