"""The dashboard, task and admin pages over HTTP: who may see what, CSRF on
every form, keys and secrets shown once."""

import re

import pytest
from support.pages import csrf_token


@pytest.mark.parametrize("path", ["/dashboard", "/admin/", "/tasks/task_x"])
def test_pages_need_a_signed_in_session(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_admin_pages_need_the_admin_flag(alice, sign_in, make_user):
    client = sign_in("alice")
    assert client.get("/admin/").status_code == 403
    token = csrf_token(client.get("/dashboard"))
    response = client.post("/admin/users/alice/tier", data={"tier": "enterprise", "csrf_token": token})
    assert response.status_code == 403
    make_user("root", is_admin=True)
    admin = sign_in("root")
    page = admin.get("/admin/")
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)


def test_task_page_shows_the_task_and_refreshes_while_it_runs(alice, bob, sign_in):
    task = alice.create_task(title="Fix <b>the</b> build", prompt="Make CI green")
    client = sign_in("alice")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "Fix &lt;b&gt;the&lt;/b&gt; build" in html and "Make CI green" in html
    assert 'http-equiv="refresh"' in html and "task.created" in html
    alice.post(f"/api/v1/tasks/{task['id']}/cancel")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "cancelled" in html and "task.cancelled" in html and 'http-equiv="refresh"' not in html
    assert sign_in("bob").get(f"/tasks/{task['id']}").status_code == 404


def test_dashboard_filters_and_searches_tasks(alice, sign_in):
    first = alice.create_task(title="Deploy staging")
    alice.create_task(title="Write the 100% report")
    alice.post(f"/api/v1/tasks/{first['id']}/cancel")
    client = sign_in("alice")

    def titles(query):
        html = client.get("/dashboard" + query).get_data(as_text=True)
        return re.findall(r'<a href="/tasks/task_\w+">([^<]+)</a>', html)

    assert titles("") == ["Write the 100% report", "Deploy staging"]
    assert titles("?status=cancelled") == ["Deploy staging"]
    assert titles("?q=REPORT") == ["Write the 100% report"]
    assert titles("?q=100%25") == ["Write the 100% report"]
    assert titles("?q=_") == []


def test_api_key_is_shown_once_works_and_revokes(alice, sign_in, client):
    client = sign_in("alice")
    dashboard = client.get("/dashboard")
    assert client.post("/dashboard/api-keys", data={"name": "ci"}).status_code == 400  # no CSRF token
    created = client.post("/dashboard/api-keys", data={"name": "ci", "csrf_token": csrf_token(dashboard)})
    key = re.search(r'id="new-key-value">(ct_\w+)<', created.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in client.get("/dashboard").get_data(as_text=True)
    key_id = re.search(r"/dashboard/api-keys/(key_\w+)/revoke", created.get_data(as_text=True)).group(1)
    client.post(f"/dashboard/api-keys/{key_id}/revoke", data={"csrf_token": csrf_token(dashboard)})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_admin_sets_tiers_and_creates_a_client_whose_secret_shows_once(app, alice, make_user, sign_in):
    make_user("root", is_admin=True)
    admin = sign_in("root")
    token = csrf_token(admin.get("/admin/"))
    admin.post("/admin/users/alice/tier", data={"tier": "pro", "csrf_token": token})
    assert alice.get("/api/v1/me").json["tier"] == "pro"
    created = admin.post(
        "/admin/clients",
        data={
            "name": "Zapier",
            "csrf_token": token,
            "redirect_uris": "https://zapier.com/dashboard/auth/oauth/return/App1/",
        },
    )
    secret = re.search(r'id="new-client-secret">([^<]+)<', created.get_data(as_text=True)).group(1)
    assert secret not in admin.get("/admin/").get_data(as_text=True)
    assert "Zapier" in admin.get("/admin/").get_data(as_text=True)
    from hub.db import db
    from hub.models import OAuthClient

    with app.app_context():  # a confidential client that must use PKCE (RFC 9700), as every new one
        made = db.session.scalar(db.select(OAuthClient).where(OAuthClient.name == "Zapier"))
        assert made.require_pkce and not made.is_public and made.check_client_secret(secret)
