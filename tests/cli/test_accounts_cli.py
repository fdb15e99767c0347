import json

import pytest


def test_users_and_api_keys(run, client):
    user = json.loads(run("users", "create", "carol", "--email", "c@example.com", "--tier", "pro", "--json").output)
    assert user == {"id": "carol", "username": "carol", "email": "c@example.com", "tier": "pro", "is_admin": False}
    key = json.loads(run("api-keys", "create", "carol", "--scopes", "tasks:read", "--json").output)
    assert key["key"].startswith("ct_") and key["scopes"] == ["tasks:read"]

    headers = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/api/v1/me", headers=headers).json["tier"] == "pro"
    assert client.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}, headers=headers).status_code == 403

    assert json.loads(run("users", "set-tier", "carol", "enterprise", "--json").output)["tier"] == "enterprise"
    assert [u["username"] for u in json.loads(run("users", "list", "--json").output)["users"]] == ["carol"]

    run("api-keys", "revoke", key["id"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_key_is_stored_hashed(run, app):
    key = json.loads(run("users", "create", "dan", "--json").output)
    key = json.loads(run("api-keys", "create", "dan", "--json").output)
    from hub.db import db
    from hub.models import ApiKey

    with app.app_context():
        row = db.session.query(ApiKey).filter_by(id=key["id"]).one()
        assert key["key"] not in (row.key_hash, row.prefix) and len(row.key_hash) == 64


@pytest.mark.parametrize("args, message", [
    (("users", "create", "x", "--tier", "gold"), "gold"),
    (("users", "set-tier", "ghost", "pro"), "ghost"),
    (("api-keys", "create", "ghost"), "ghost"),
    (("api-keys", "revoke", "key_missing"), "key_missing"),
])
def test_cli_errors_are_clear(run, args, message):
    result = run(*args, ok=False)
    assert result.exit_code != 0 and message in result.output


def test_duplicate_user_is_refused(run):
    run("users", "create", "erin")
    result = run("users", "create", "erin", ok=False)
    assert result.exit_code != 0 and "already exists" in result.output


def test_bad_scope_is_refused(run):
    run("users", "create", "fay")
    result = run("api-keys", "create", "fay", "--scopes", "tasks:delete", ok=False)
    assert result.exit_code != 0 and "tasks:delete" in result.output
