"""`codetether-hub worker-tokens`: create (shown once) for a space or, on purpose, hub-wide; list, revoke."""

import json


def test_create_list_revoke(app, client):
    runner = app.test_cli_runner()
    from hub.cli import main

    created = runner.invoke(main, ["worker-tokens", "create", "build-box", "--hub-wide", "--json"])
    assert created.exit_code == 0, created.output
    token = json.loads(created.output)
    assert token["token"].startswith("ctw_") and token["name"] == "build-box" and not token["revoked"]
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.post("/api/v1/worker/register", json={"name": "w"}, headers=headers).status_code == 200

    listed = json.loads(runner.invoke(main, ["worker-tokens", "list", "--json"]).output)["worker_tokens"]
    assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
    assert listed[0]["last_used_at"]
    # Stored only as a hash.
    from hub.models import WorkerToken

    with app.app_context():
        assert WorkerToken.query.one().token_hash != token["token"]

    revoked = runner.invoke(main, ["worker-tokens", "revoke", token["id"]])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert client.post("/api/v1/worker/register", json={"name": "w"}, headers=headers).status_code == 401
    missing = runner.invoke(main, ["worker-tokens", "revoke", "wtok_nope"])
    assert missing.exit_code != 0 and "No worker token" in missing.output


def test_plain_create_shows_the_token_once(app):
    from hub.cli import main

    output = app.test_cli_runner().invoke(main, ["worker-tokens", "create", "box", "--hub-wide"]).output
    assert "ctw_" in output and "not shown again" in output


def test_create_names_the_space_or_hub_wide_on_purpose(app, make_user):
    """Without --space or --hub-wide nothing is made, and the refusal names both;
    --space takes a username (its personal space); the list shows whose."""
    from hub.cli import main
    from hub.models import User, WorkerToken

    make_user("alice")
    runner = app.test_cli_runner()
    for args in ([], ["--space", "alice", "--hub-wide"]):
        refused = runner.invoke(main, ["worker-tokens", "create", "box", *args])
        assert refused.exit_code == 2 and "--space" in refused.output and "--hub-wide" in refused.output
    unknown = runner.invoke(main, ["worker-tokens", "create", "box", "--space", "nobody"])
    assert unknown.exit_code == 1 and "No organisation, space or user 'nobody'" in unknown.output
    with app.app_context():
        assert WorkerToken.query.count() == 0

    made = json.loads(runner.invoke(main, ["worker-tokens", "create", "box", "--space", "alice", "--json"]).output)
    with app.app_context():
        alice = User.query.filter_by(username="alice").one()
        assert WorkerToken.query.one().space_pk == alice.personal_space_pk
    listed = json.loads(runner.invoke(main, ["worker-tokens", "list", "--json"]).output)["worker_tokens"]
    assert listed[0]["id"] == made["id"] and listed[0]["space"] == made["space"] is not None
