import json
from datetime import datetime

import pytest
from click.testing import CliRunner


def test_users_and_api_keys(run, client):
    user = json.loads(run("users", "create", "carol", "--email", "c@example.com", "--tier", "pro", "--json").output)
    assert user == {
        "id": "carol",
        "username": "carol",
        "email": "c@example.com",
        "tier": "pro",
        "is_admin": False,
        "disabled": False,
    }
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "create", "x", "--tier", "gold"), "gold"),
        (("users", "set-tier", "ghost", "pro"), "ghost"),
        (("api-keys", "create", "ghost"), "ghost"),
        (("api-keys", "revoke", "key_missing"), "key_missing"),
    ],
)
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


def keys_of(run, *username):
    return {k["id"]: k for k in json.loads(run("api-keys", "list", *username, "--json").output)["api_keys"]}


def test_api_keys_list_shows_each_key_and_when_it_was_last_used(run, client):
    run("users", "create", "gil")
    run("users", "create", "hal")
    used = json.loads(run("api-keys", "create", "gil", "--name", "zapier", "--scopes", "tasks:read", "--json").output)
    idle = json.loads(run("api-keys", "create", "gil", "--json").output)
    other = json.loads(run("api-keys", "create", "hal", "--json").output)

    listed = keys_of(run, "gil")
    assert set(listed) == {used["id"], idle["id"]}  # hal's key is not gil's
    row = listed[used["id"]]
    assert (row["prefix"], row["name"], row["scopes"], row["username"]) == (
        used["key"][:10],
        "zapier",
        ["tasks:read"],
        "gil",
    )
    assert row["created_at"].endswith("Z") and row["last_used_at"] is None and row["revoked"] is False
    assert set(keys_of(run)) == {used["id"], idle["id"], other["id"]}  # no username: every user's keys

    headers = {"Authorization": f"Bearer {used['key']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    first_use = keys_of(run, "gil")[used["id"]]["last_used_at"]
    assert first_use is not None and keys_of(run, "gil")[idle["id"]]["last_used_at"] is None
    assert abs((datetime.fromisoformat(first_use.rstrip("Z")) - datetime.utcnow()).total_seconds()) < 60
    # At most one write a minute per key: the next requests leave it as it was.
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert keys_of(run, "gil")[used["id"]]["last_used_at"] == first_use

    text = run("api-keys", "list", "gil").output
    assert used["id"] in text and used["key"][:10] in text and "zapier" in text and "last used 20" in text
    assert used["key"] not in text  # only the prefix is ever shown


def test_api_keys_list_of_an_unknown_user_says_so(run):
    result = run("api-keys", "list", "ghost", ok=False)
    assert result.exit_code != 0 and "ghost" in result.output


def test_a_key_is_revoked_by_its_id_or_by_the_key_itself(run, client):
    run("users", "create", "ida")
    by_id = json.loads(run("api-keys", "create", "ida", "--json").output)
    by_key = json.loads(run("api-keys", "create", "ida", "--json").output)
    for key in (by_id, by_key):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key['key']}"}).status_code == 200

    assert json.loads(run("api-keys", "revoke", by_key["key"], "--json").output) == {
        "id": by_key["id"],
        "revoked": True,
    }
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {by_key['key']}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {by_id['key']}"}).status_code == 200
    run("api-keys", "revoke", by_id["id"])
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {by_id['key']}"}).status_code == 401
    assert {k["revoked"] for k in keys_of(run, "ida").values()} == {True}

    unknown = "ct_" + "x" * 40
    result = run("api-keys", "revoke", unknown, ok=False)
    assert result.exit_code != 0 and "No API key" in result.output and unknown not in result.output


@pytest.fixture
def web_sign_in(app):
    """Sign in on /login as a browser would (its CSRF token from the form)."""
    import re

    def sign_in(client, username, password):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    return sign_in


def test_set_password_takes_the_new_one_and_ends_web_sessions(run, app, web_sign_in):
    run("users", "create", "jo", "--password", "first long password")
    browser, later = app.test_client(), app.test_client()
    assert web_sign_in(browser, "jo", "first long password").status_code == 302
    assert browser.get("/dashboard").status_code == 200

    assert "Password of jo changed" in run("users", "set-password", "jo", "--password", "second long password").output
    assert browser.get("/dashboard").status_code == 302  # signed out by the change
    assert web_sign_in(later, "jo", "first long password").status_code == 401
    assert web_sign_in(later, "jo", "second long password").status_code == 302

    # Without --password it asks, twice, without echoing.
    from hub.cli import main

    asked = CliRunner().invoke(
        main, ["users", "set-password", "jo"], input="third long password\nthird long password\n"
    )
    assert asked.exit_code == 0, asked.output
    assert "third long password" not in asked.output
    assert web_sign_in(app.test_client(), "jo", "third long password").status_code == 302


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12 characters"),
        ("elevenchars", "at least 12 characters"),
        ("Password1234", "most common"),
        ("QWERTYUIOP123", "most common"),
        ("correcthorsebatterystaple", "most common"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(run, password, reason):
    result = run("users", "create", "kim", "--password", password, ok=False)
    assert result.exit_code != 0 and "password" in result.output and reason in result.output
    assert json.loads(run("users", "list", "--json").output)["users"] == []  # nothing was created

    run("users", "create", "kim", "--password", "a long passphrase here")
    result = run("users", "set-password", "kim", "--password", password, ok=False)
    assert result.exit_code != 0 and reason in result.output


def test_a_password_equal_to_the_username_is_refused(run):
    result = run("users", "create", "lee.the.admin", "--password", "Lee.The.Admin", ok=False)
    assert result.exit_code != 0 and "username" in result.output


@pytest.mark.parametrize(
    "username", ["", "has space", "a" * 65, "ünïcode", "x/y", "semi;colon", "new\nline", "at@sign"]
)
def test_usernames_are_checked(run, username):
    result = run("users", "create", username, ok=False)
    assert result.exit_code != 0 and "letters, digits, '.', '_' or '-'" in result.output
    assert json.loads(run("users", "list", "--json").output)["users"] == []


def test_a_username_of_letters_digits_dots_dashes_and_underscores_is_fine(run):
    for username in ("a", "Mia.Lopez_2-ops", "z" * 64):
        assert json.loads(run("users", "create", username, "--json").output)["username"] == username


def test_set_password_and_disable_of_an_unknown_user_say_so(run):
    for command in (
        ("set-password", "ghost", "--password", "a long passphrase here"),
        ("disable", "ghost"),
        ("enable", "ghost"),
    ):
        result = run("users", *command, ok=False)
        assert result.exit_code != 0 and "No user named 'ghost'" in result.output


def test_an_api_key_made_for_an_org_acts_there_and_the_list_shows_each_keys_space(run, app, client):
    from hub.services import accounts, orgs

    for username in ("mo", "ned", "oz"):
        run("users", "create", username)
    with app.app_context():
        orgs.create_org(accounts.get_user("mo"), "Acme Corp", slug="acme")
        orgs.add_member(None, "acme", "ned")
    org_key = json.loads(run("api-keys", "create", "ned", "--space", "acme", "--json").output)
    assert org_key["space"]["name"] == "Acme Corp" and org_key["space"]["kind"] == "org"
    own_key = json.loads(run("api-keys", "create", "ned", "--json").output)
    assert own_key["space"]["kind"] == "personal"
    created = run("api-keys", "create", "ned", "--space", org_key["space"]["id"]).output  # by id too
    assert "in org acme" in created

    headers = {"Authorization": f"Bearer {org_key['key']}"}
    assert client.get("/api/v1/me", headers=headers).json["space"]["id"] == org_key["space"]["id"]
    task = client.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}, headers=headers).json
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=headers).json] == [task["id"]]
    own = {"Authorization": f"Bearer {own_key['key']}"}
    assert client.get("/api/v1/tasks", headers=own).json == []  # the org's task is not in ned's own space

    listed = keys_of(run, "ned")
    assert listed[org_key["id"]]["space"]["id"] == org_key["space"]["id"]
    assert listed[own_key["id"]]["space"]["kind"] == "personal"
    text = run("api-keys", "list", "ned").output
    assert "org acme" in text and "personal" in text

    # Not a member, or no such org: a clear error, and no key.
    refused = run("api-keys", "create", "oz", "--space", "acme", ok=False)
    assert refused.exit_code != 0 and "oz is not a member of acme" in refused.output
    missing = run("api-keys", "create", "oz", "--space", "nope", ok=False)
    assert missing.exit_code != 0 and "nope" in missing.output
    assert keys_of(run, "oz") == {}
