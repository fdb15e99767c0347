"""The generated Zapier app: exported by the CLI, served by the hub, and
valid for Zapier's own schema and core."""

import json

import pytest
from click.testing import CliRunner
from support.zapier_node import validate

# The definition is made from the declarations, never from the database, and
# Zapier's Node validation is the same on either: the SQLite pass is enough.
pytestmark = pytest.mark.sqlite_only

SEED_KEYS = {
    "triggers": {"new_task", "task_completed", "task_failed"},
    "creates": {"create_task", "send_message", "cancel_task"},
    "searches": {"find_task"},
}
SEED_OUTPUTS = {
    "new_task": ["id", "task_id", "title", "status", "codebase_id", "created_at", "agent_type"],
    "task_completed": ["id", "task_id", "title", "result", "duration_seconds", "completed_at"],
    "task_failed": ["id", "task_id", "error", "retry_count", "failed_at"],
}
SEED_INPUTS = {
    "create_task": {
        "title": True,
        "prompt": True,
        "codebase_id": False,
        "agent_type": False,
        "model": False,
        "priority": False,
        "external_id": False,
        "metadata": False,
        "callback_url": False,
        "callback_format": False,
    },
    "send_message": {
        "message": True,
        "conversation_id": False,
        "codebase_id": False,
        "external_id": False,
        "metadata": False,
        "callback_url": False,
        "callback_format": False,
    },
    "cancel_task": {"task_id": True},
    "find_task": {
        "task_id": False,
        "status": False,
        "codebase_id": False,
        "completed_after": False,
        "completed_before": False,
        # Added after the seed's (test_zapier_searches.py):
        "external_id": False,
        "created_after": False,
        "created_before": False,
        "failed_after": False,
        "failed_before": False,
        "cancelled_after": False,
        "cancelled_before": False,
    },
}


def export(app, tmp_path, *args):
    from hub.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["zapier", "export", str(tmp_path / "app"), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return tmp_path / "app"


def test_export_writes_a_zapier_cli_package_that_zapier_validates(app, tmp_path):
    out = export(app, tmp_path, "--base-url", "https://hub.example.com/")
    package = json.loads((out / "package.json").read_text())
    assert package["dependencies"]["zapier-platform-core"].startswith("19.")
    assert "definition.json" in (out / "index.js").read_text()
    report = validate(out)
    assert report == {"schemaErrors": [], "coreErrors": [], "version": "1.0.0", "platformVersion": "19.1.0"}
    text = (out / "definition.json").read_text()
    assert "https://hub.example.com/oauth/token" in text and "hub.example.com//" not in text


def test_zapier_reports_errors_in_a_broken_definition(app, tmp_path):
    """The validation above can fail: a trigger without its noun is refused."""
    out = export(app, tmp_path, "--base-url", "https://hub.example.com")
    definition = json.loads((out / "definition.json").read_text())
    del definition["triggers"]["new_task"]["noun"]
    (out / "definition.json").write_text(json.dumps(definition))
    report = validate(out)
    assert any("noun" in e for e in report["schemaErrors"]) and report["coreErrors"]


def test_base_url_from_the_environment_and_the_default(app, tmp_path):
    out = export(app, tmp_path, "--base-url", "env")
    assert "{{process.env.BASE_URL}}/api/v1/me" in (out / "definition.json").read_text()
    out = export(app, tmp_path, "--force")  # HUB_BASE_URL, into the same folder
    assert "http://hub.test/api/v1/me" in (out / "definition.json").read_text()


def test_the_hub_serves_the_same_definition(app, client, tmp_path):
    out = export(app, tmp_path)
    served = client.get("/connectors/zapier/definition.json")
    assert served.status_code == 200
    assert served.json == json.loads((out / "definition.json").read_text())
    assert "/connectors/zapier/definition.json" in client.get("/openapi.json").json["paths"]


def test_the_app_has_the_seed_keys_fields_auth_and_dropdowns(client):
    app = client.get("/connectors/zapier/definition.json").json
    for kind, keys in SEED_KEYS.items():
        visible = {k for k, v in app[kind].items() if not v["display"].get("hidden")}
        assert keys <= visible  # the other keys: test_zapier_new_triggers.py
    for key, fields in SEED_OUTPUTS.items():
        operation = app["triggers"][key]["operation"]
        # The seed's fields first; the ones added after them: test_zapier_new_triggers.py
        assert [f["key"] for f in operation["outputFields"]][: len(fields)] == fields
        assert operation["type"] == "hook" and set(operation["sample"]) == {f["key"] for f in operation["outputFields"]}
        assert operation["perform"] == {"source": "return [bundle.cleanedRequest];"}
        assert operation["performSubscribe"]["url"] == "http://hub.test/api/v1/hooks"
        assert operation["performSubscribe"]["body"] == {
            "event": {"new_task": "task.created", "task_completed": "task.completed", "task_failed": "task.failed"}[
                key
            ],
            "target_url": "{{bundle.targetUrl}}",
            "format": f"zapier.{key}",  # the trigger's own format (connectors.base.registry.formatter_name)
            "codebase_id": "{{bundle.inputData.codebase_id}}",  # the trigger's filters
            "agent_type": "{{bundle.inputData.agent_type}}",
        }
        assert operation["performUnsubscribe"] == {
            "url": "http://hub.test/api/v1/hooks/{{bundle.subscribeData.id}}",
            "method": "DELETE",
        }
        assert operation["performList"]["url"] == f"http://hub.test/connectors/zapier/triggers/{key}"
    for key, fields in SEED_INPUTS.items():
        operation = (app["creates"].get(key) or app["searches"][key])["operation"]
        assert {f["key"]: f["required"] for f in operation["inputFields"]} == fields
        assert all(f["label"] and f.get("helpText") for f in operation["inputFields"]), key
    create = {f["key"]: f for f in app["creates"]["create_task"]["operation"]["inputFields"]}
    assert create["agent_type"]["default"] == "build"
    assert [c["value"] for c in create["agent_type"]["choices"]] == ["build", "plan", "general", "explore"]
    assert create["codebase_id"]["dynamic"] == "codebase_choices.id.name"
    assert create["priority"]["type"] == "integer"
    assert create["metadata"]["dict"] is True  # name/value rows, sent as one object
    cancel = app["creates"]["cancel_task"]["operation"]["inputFields"][0]
    assert cancel["dynamic"] == "cancellable_task_choices.id.label"
    find = {f["key"]: f for f in app["searches"]["find_task"]["operation"]["inputFields"]}
    assert [c["value"] for c in find["status"]["choices"]] == [
        *("pending", "running", "input_required", "completed", "failed", "cancelled")
    ]
    assert find["completed_after"]["type"] == "datetime"

    auth = app["authentication"]
    oauth = auth["oauth2Config"]
    assert auth["type"] == "oauth2" and oauth["autoRefresh"] is True
    assert oauth["scope"] == "tasks:read tasks:write messages:write codebases:read messages:read"
    assert auth["test"]["url"] == "http://hub.test/api/v1/me"
    assert oauth["getAccessToken"]["body"]["client_id"] == "{{process.env.CLIENT_ID}}"
    # PKCE: Zapier adds the S256 challenge to the authorize URL and hands the verifier to the exchange.
    assert oauth["enablePkce"] is True
    assert oauth["getAccessToken"]["body"]["code_verifier"] == "{{bundle.inputData.code_verifier}}"
    assert "code_verifier" not in oauth["refreshAccessToken"]["body"]
    assert oauth["refreshAccessToken"]["body"]["client_secret"] == "{{process.env.CLIENT_SECRET}}"
    assert oauth["getAccessToken"]["headers"]["Authorization"] == ""
    assert app["requestTemplate"]["headers"]["Authorization"] == "Bearer {{bundle.authData.access_token}}"
    # The label is the one function here (it names an organisation, never a personal space): the rest are requests.
    assert set(auth["connectionLabel"]) == {"source"} and "me.username" in auth["connectionLabel"]["source"]
    assert json.dumps(auth).count("source") == 1


def test_the_manifest_docs_link_serves_the_zapier_guide(client):
    manifest = next(c for c in client.get("/connectors/").json if c["key"] == "zapier")
    docs = client.get(manifest["docs_url"])
    assert docs.status_code == 200 and docs.mimetype == "text/markdown"
    assert "## Popular automations, step by step" in docs.get_data(as_text=True)


def test_export_refuses_a_base_url_that_is_not_http(app, tmp_path):
    from hub.cli import main

    result = CliRunner().invoke(main, ["zapier", "export", str(tmp_path / "x"), "--base-url", "hub.example.com"])
    assert result.exit_code != 0 and "http://" in result.output and not (tmp_path / "x").exists()


def test_without_npm_the_node_tests_skip_naming_the_install_command(tmp_path, monkeypatch):
    """A checkout without tests/zapier/node_modules installs it on first use
    (npm ci); only a machine without npm skips, and says what to run."""
    import shutil

    import pytest
    from support.zapier_node import HARNESS, node_modules

    harness = tmp_path / "zapier"
    shutil.copytree(HARNESS, harness, ignore=shutil.ignore_patterns("node_modules"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))
    with pytest.raises(pytest.skip.Exception) as skipped:
        node_modules(harness)
    assert f"cd {harness} && npm ci" in str(skipped.value)
    assert not (harness / "node_modules").exists()
