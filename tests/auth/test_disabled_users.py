"""A disabled user loses every kind of access at once, in every process,
and gets it back when enabled (``users disable/enable``)."""

import json

import pytest

from hub.models import User


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def connected_app(app, alice):
    """An app alice connected: its client credentials, and an access and a refresh token of hers."""
    from hub.db import db
    from hub.services import accounts, oauth

    with app.app_context():
        client, secret = oauth.create_client("Zapier", ["https://zapier.com/dashboard/auth/oauth/return/App1/"])
        access, refresh = oauth.new_access_token(), oauth.new_refresh_token()
        oauth.save_token(
            {"access_token": access, "refresh_token": refresh, "expires_in": 3600, "scope": "tasks:read"},
            client=client,
            user=accounts.get_user("alice"),
        )
        db.session.commit()
        return {"client_id": client.client_id, "client_secret": secret, "access": access, "refresh": refresh}


def test_disabling_refuses_keys_and_tokens_at_once_everywhere_until_enabled(
    app, client, other, alice, run, connected_app
):
    access = connected_app["access"]
    for each in (client, other):  # both processes now remember both credentials
        assert each.get("/api/v1/me", headers=alice.headers).status_code == 200
        assert each.get("/api/v1/tasks", headers=bearer(access)).status_code == 200

    disabled = json.loads(run("users", "disable", "alice", "--json").output)
    assert disabled["disabled"] is True
    for each in (client, other):
        assert each.get("/api/v1/me", headers=alice.headers).status_code == 401
        assert each.get("/api/v1/tasks", headers=bearer(access)).status_code == 401
    secret = {"client_id": connected_app["client_id"], "client_secret": connected_app["client_secret"]}
    introspected = client.post("/oauth/introspect", data={"token": access, **secret})
    assert introspected.status_code == 200 and introspected.json == {"active": False}
    refreshed = client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": connected_app["refresh"], **secret}
    )
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"
    assert "disabled" in run("users", "list").output

    run("users", "enable", "alice")
    for each in (client, other):
        assert each.get("/api/v1/me", headers=alice.headers).status_code == 200
        assert each.get("/api/v1/tasks", headers=bearer(access)).status_code == 200
    assert client.post("/oauth/introspect", data={"token": access, **secret}).json["active"] is True


def test_disabling_ends_web_sessions_and_refuses_the_password(app, run):
    from hub.db import db
    from hub.services import accounts

    run("users", "create", "nia", "--password", "a long passphrase here")
    with app.app_context():
        before = db.session.scalar(db.select(User.session_generation).where(User.username == "nia"))
    run("users", "disable", "nia")
    with app.app_context():
        after = db.session.scalar(db.select(User.session_generation).where(User.username == "nia"))
        assert after == before + 1  # what every web session of hers was signed in under is gone
        assert accounts.check_password("nia", "a long passphrase here") is None
    run("users", "enable", "nia")
    with app.app_context():
        assert accounts.check_password("nia", "a long passphrase here").username == "nia"


def test_disabling_twice_or_enabling_an_enabled_user_changes_nothing(run):
    run("users", "create", "oz")
    assert json.loads(run("users", "enable", "oz", "--json").output)["disabled"] is False
    run("users", "disable", "oz")
    assert json.loads(run("users", "disable", "oz", "--json").output)["disabled"] is True
