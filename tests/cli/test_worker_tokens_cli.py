"""`codetether-hub worker-tokens`: create (shown once), list, revoke."""

import json


def test_create_list_revoke(app, client):
    runner = app.test_cli_runner()
    from hub.cli import main

    created = runner.invoke(main, ["worker-tokens", "create", "build-box", "--json"])
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

    output = app.test_cli_runner().invoke(main, ["worker-tokens", "create", "box"]).output
    assert "ctw_" in output and "not shown again" in output
