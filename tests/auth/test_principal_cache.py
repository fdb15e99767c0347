"""Each process remembers recent credentials (hub.auth.principals), yet a
change made anywhere applies at once everywhere: two apps on the same
database and Redis stand for two gunicorn workers, each with its own cache."""

import logging

import sqlalchemy as sa
from support import wait_for


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def oauth_token(app, username, scope="tasks:read", expires_in=3600):
    """An OAuth access token for ``username``, as the token endpoint issues."""
    from hub.db import db
    from hub.services import accounts, oauth

    with app.app_context():
        client, _ = oauth.create_client("Zapier", ["https://zapier.com/dashboard/auth/oauth/return/App1/"])
        plain = oauth.new_access_token()
        oauth.save_token(
            {"access_token": plain, "expires_in": expires_in, "scope": scope},
            client=client,
            user=accounts.get_user(username),
        )
        db.session.commit()
        return plain


def test_a_revoked_api_key_is_refused_at_once_by_a_process_that_remembers_it(app, other, alice, run):
    assert other.get("/api/v1/me", headers=alice.headers).status_code == 200  # now remembered there
    run("api-keys", "revoke", alice.key_id)
    refused = other.get("/api/v1/me", headers=alice.headers)
    assert refused.status_code == 401 and refused.json["code"] == "invalid_token"


def test_a_tier_change_applies_at_once_everywhere(app, other, alice, run):
    assert other.get("/api/v1/me", headers=alice.headers).headers["RateLimit-Limit"] == "60"
    run("users", "set-tier", "alice", "pro")
    assert other.get("/api/v1/me", headers=alice.headers).headers["RateLimit-Limit"] == "300"


def test_an_oauth_token_revoked_in_bulk_is_refused_at_once(app, other, make_user):
    """Revocation (RFC 7009) revokes the token's family with one UPDATE, not row by row."""
    make_user("carol")
    token = oauth_token(app, "carol")
    assert other.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    with app.app_context():
        from hub.services import oauth

        oauth.revoke_family(oauth.find_token(token))
    assert other.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_an_oauth_token_is_refused_when_it_expires_though_remembered(app, other, make_user):
    make_user("dan")
    token = oauth_token(app, "dan", expires_in=1)
    assert other.get("/api/v1/tasks", headers=bearer(token)).status_code == 200  # remembered for 10 s
    wait_for(
        lambda: other.get("/api/v1/tasks", headers=bearer(token)).status_code == 401,
        timeout=5,
        message="the expired token to be refused",
    )


def test_a_change_made_in_sql_applies_within_the_cache_age(monkeypatch, hub_env, alice, app):
    monkeypatch.setenv("HUB_CREDENTIAL_CACHE_SECONDS", "0.5")
    from hub import create_app

    second = create_app({"TESTING": True}).test_client()
    assert second.get("/api/v1/me", headers=alice.headers).status_code == 200
    engine = sa.create_engine(hub_env["DATABASE_URL"])
    with engine.begin() as conn:  # behind the hub's back: nothing is announced
        conn.execute(sa.text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP"))
    engine.dispose()
    wait_for(
        lambda: second.get("/api/v1/me", headers=alice.headers).status_code == 401,
        timeout=5,
        message="the revoked key to be refused",
    )


def test_with_redis_down_nothing_is_remembered_and_revocation_still_applies(own_redis, app, other, alice, run, caplog):
    assert other.get("/api/v1/me", headers=alice.headers).status_code == 200
    own_redis.stop()  # the announcement of the revocation cannot be sent
    caplog.set_level(logging.WARNING)
    run("api-keys", "revoke", alice.key_id)
    assert other.get("/api/v1/me", headers=alice.headers).status_code == 401
    assert any("credentials are checked in the database" in r.getMessage() for r in caplog.records)


def test_every_change_is_seen_by_the_very_next_request_elsewhere(app, other, alice):
    """Redis answers the announcing process before it writes the announcement
    to the other subscribers: the commit must not return before they have
    it, or a request made right after it can still be served from memory."""
    from hub.services import accounts

    limits = {"free": "60", "pro": "300"}
    with app.app_context():
        for i in range(300):
            tier = ("pro", "free")[i % 2]
            accounts.set_tier("alice", tier)
            seen = other.get("/api/v1/me", headers=alice.headers).headers["RateLimit-Limit"]
            assert seen == limits[tier], f"change {i + 1}: the other process still had the old tier"
