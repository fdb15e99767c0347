"""Loading connectors as an admin sees it: third parties' packages installed
next to the hub (real distributions on sys.path, found by importlib.metadata
as pip-installed ones are), refused with every reason in one log line, or
mounted and said so once per hub start."""

import logging
import os
import subprocess
import sys
import time
import uuid

import pytest

from hub import plugins

# Loading connectors (and the log of it) reads no database: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only

CONNECTOR = """
import marshmallow as ma
from connectors.base import Action, Connector, Manifest, Trigger


class Item(ma.Schema):
    id = ma.fields.String()


def _setup(app):
    if {fail_setup!r}:
        raise RuntimeError("the connector's setup failed")


connector = Connector(
    manifest=Manifest(
        key={key!r}, name={name!r}, version="1.0.0", scopes=("tasks:read",), docs_url="/docs",
        description={description!r}, requires_hub={requires_hub!r},
    ),
    triggers=(
        Trigger(
            key={trigger!r}, noun="Task", label="New Task", description="A task was created.", output_schema=Item,
            sample={{"id": "t1"}}, scope="tasks:read", event="task.created", formatter=lambda e: {{"id": e["id"]}},
        ),
    ),
    setup=_setup,
)
"""


@pytest.fixture
def packages(tmp_path, monkeypatch):
    """``install(dist, entry, ...)`` writes an installed package (module,
    dist-info with METADATA, RECORD and its entry point) into a folder on
    sys.path. ``installed_ago``: seconds since it was installed."""
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))

    def install(dist, entry, *, key=None, installed_ago=0, value=None, **options):
        module = f"fake_{dist.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        settings = {"name": dist, "description": "", "requires_hub": "", "trigger": "task_created", "fail_setup": False}
        (root / f"{module}.py").write_text(CONNECTOR.format(key=key or entry, **{**settings, **options}))
        info = root / f"{dist.replace('-', '_')}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.0\n")
        (info / "entry_points.txt").write_text(f"[{plugins.GROUP}]\n{entry} = {value or module + ':connector'}\n")
        (info / "RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/entry_points.txt,,\n{module}.py,,\n")
        when = time.time() - installed_ago
        os.utime(info / "METADATA", (when, when))
        return root

    return install


@pytest.fixture
def hub_log(monkeypatch, caplog):
    """The connector lines logged by the apps built meanwhile (as if the hub
    had just started: nothing said yet)."""
    monkeypatch.setenv(plugins.LOGGED, "")
    caplog.set_level(logging.INFO, logger="hub.connectors")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "hub.connectors"]


def _hub():
    from hub import create_app

    return create_app({"TESTING": True}).test_client()


def _mounted(client):
    return {c["key"]: c for c in client.get("/connectors/").json}


def test_a_key_too_long_for_the_names_made_from_it_is_refused_and_the_hub_and_cli_start(
    hub_env, packages, hub_log, run
):
    key = "a_connector_key_of_29_letters"
    packages("codetether-long-key", key)
    client = _hub()
    [refusal] = [line for line in hub_log() if "refused" in line]
    assert refusal == f"connector '{key}' refused: manifest key '{key}' is 29 characters, more than 20"
    assert set(_mounted(client)) == {"zapier", "mcp", "a2a", "example"}
    assert run("users", "list").exit_code == 0  # the CLI too


def test_an_event_triggers_key_must_leave_room_for_its_format_name(hub_env, packages, hub_log):
    packages("codetether-long-trigger", "twenty_letter_key_xx", trigger="a_trigger_key_of_20x")
    assert "twenty_letter_key_xx" not in _mounted(_hub())
    assert any(
        "trigger 'a_trigger_key_of_20x': key 'a_trigger_key_of_20x' is 20 characters, more than 19" in line
        for line in hub_log()
    )


def test_a_newcomer_taking_zapiers_name_is_refused_and_zapier_stays(hub_env, packages, hub_log):
    packages("codetether-zapier-clone", "zapier")
    client = _hub()
    assert _mounted(client)["zapier"]["name"] == "Zapier"
    assert client.get("/connectors/zapier/definition.json").status_code == 200
    [refusal] = [line for line in hub_log() if "refused" in line]
    assert refusal.startswith("connector 'zapier' refused: the package 'codetether-zapier-clone' registers")
    assert "'codetether-hub' registered first" in refusal and "'codetether-hub' keeps the name" in refusal


def test_of_two_packages_with_one_name_the_one_installed_first_keeps_it(hub_env, packages, hub_log):
    packages("codetether-twin-new", "twin", installed_ago=10)
    packages("codetether-twin-old", "twin", installed_ago=3600)
    assert _mounted(_hub())["twin"]["name"] == "codetether-twin-old"
    [refusal] = [line for line in hub_log() if "refused" in line]
    assert "the package 'codetether-twin-new' registers the connector 'twin', which 'codetether-twin-old'" in refusal


@pytest.mark.parametrize(
    ("requires_hub", "problem"),
    [
        ("<1000", None),
        (">=1000", "it requires codetether-hub >=1000, and codetether-hub 0.1.0 is installed"),
        ("soon", "manifest requires_hub 'soon' is not a version specifier"),
    ],
)
def test_requires_hub_is_checked_against_the_installed_hub(hub_env, packages, hub_log, requires_hub, problem):
    packages("codetether-picky", "picky", requires_hub=requires_hub)
    mounted = _mounted(_hub())
    assert ("picky" in mounted) == (problem is None)
    if problem:
        assert any(line.startswith("connector 'picky' refused:") and problem in line for line in hub_log())


def test_a_connector_that_fails_to_mount_is_refused_and_the_hub_starts(hub_env, packages, hub_log):
    packages("codetether-broken-setup", "broken", fail_setup=True)
    client = _hub()
    assert set(_mounted(client)) == {"zapier", "mcp", "a2a", "example"}
    assert client.get("/connectors/broken/").status_code == 404
    assert "connector 'broken' refused: could not be mounted: RuntimeError: the connector's setup failed" in hub_log()


def test_each_mount_and_refusal_is_logged_once_per_hub_start(hub_env, packages, hub_log):
    root = packages("codetether-no-connector", "notone", value="json:dumps")
    mounted = _mounted(_hub())
    _hub()  # another app in the process: the CLI, tests
    lines = hub_log()
    assert sorted(lines) == [
        f"connector 'a2a' {mounted['a2a']['version']} mounted at /connectors/a2a/",
        f"connector 'example' {mounted['example']['version']} mounted at /connectors/example/",
        f"connector 'mcp' {mounted['mcp']['version']} mounted at /connectors/mcp/",
        "connector 'notone' refused: the entry point gives function, not a connectors.base.Connector "
        "(it has no check, init_app, summary)",
        f"connector 'zapier' {mounted['zapier']['version']} mounted at /connectors/zapier/",
    ]
    # The processes the hub starts (up's gunicorn workers and delivery worker) inherit what was said ...
    env = {**os.environ, "PYTHONPATH": str(root)}
    build = [sys.executable, "-c", "from hub import create_app; create_app()"]
    child = subprocess.run(build, env=env, capture_output=True, text=True, timeout=300, check=True)
    assert "hub.connectors" not in child.stdout + child.stderr
    # ... while a hub started afresh says it all again.
    del env[plugins.LOGGED]
    fresh = subprocess.run(build, env=env, capture_output=True, text=True, timeout=300, check=True)
    for line in lines:
        assert line.replace('"', '\\"') in fresh.stdout + fresh.stderr


def test_two_connectors_schemas_of_one_name_keep_their_own_names_in_openapi(hub_env, packages, hub_log):
    packages("codetether-alpha", "alpha")
    packages("codetether-beta", "beta_crm")
    spec = _hub().get("/openapi.json").json
    names = set(spec["components"]["schemas"])
    assert {"AlphaItem", "BetaCrmItem"} <= names and not names & {"Item", "Item1"}
    listed = spec["paths"]["/connectors/alpha/triggers/task_created"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/AlphaItem"}
    assert {"Task", "Error", "ConnectorSummary"} <= names  # the hub's own keep theirs


def test_a_connectors_url_serves_its_description(hub_env, packages, hub_log):
    packages("codetether-described", "described", description="Sends your tasks to Described.")
    client = _hub()
    about = client.get("/connectors/described/")
    assert about.status_code == 200 and about.json["description"] == "Sends your tasks to Described."
    assert about.json["operations"][0]["url"] == "/connectors/described/triggers/task_created"


def test_an_action_that_creates_answers_201_and_one_that_does_not_200(alice, client):
    created = alice.post("/connectors/zapier/actions/create_task", json={"title": "t", "prompt": "p"})
    assert created.status_code == 201, created.json
    cancelled = alice.post("/connectors/zapier/actions/cancel_task", json={"task_id": created.json["id"]})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled", cancelled.json
    paths = client.get("/openapi.json").json["paths"]
    assert "201" in paths["/connectors/zapier/actions/create_task"]["post"]["responses"]
    assert "200" in paths["/connectors/zapier/actions/cancel_task"]["post"]["responses"]


def test_every_event_trigger_has_its_payload_format(app):
    from connectors.base.registry import connectors, formatter_name
    from hub.webhooks import formatters

    with app.app_context():
        expected = {formatter_name(c, t) for c in connectors().values() for t in c.triggers if t.event}
    assert {"zapier.new_task", "zapier.task_completed"} <= expected <= set(formatters.names())
