"""Zapier connected in an organisation's space, driven by Zapier's own runtime
(zapier-platform-core) against a live hub, a real delivery worker and a
receiver standing in for Zapier's hook URLs: the connection label names the
org, Create Task makes the org's task (teammates see it, the personal space
does not), and the New Task hook fires for a task a teammate made in the org,
never for one in the connected person's personal space."""

from __future__ import annotations

import json

import pytest
from support.delivery import wait_dispatched
from support.forms import Browser
from support.oauth import authorize_url, redirect_params
from support.zapier_node import Runtime

# The SQLite pass is enough: Zapier's runtime asks nothing more of the database.
pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("webhook_settings")]

PASSWORD = "correct horse battery"


def key(hub, username: str, org: str | None = None) -> str:
    from hub.services import accounts, orgs

    with hub.app.app_context():
        space_pk = orgs.get_org(None, org).pk if org else None
        return accounts.create_api_key(username, space_pk=space_pk)[1]


def connect_in(hub, app_dir, username: str, space_id: str) -> Runtime:
    """The OAuth connection as Zapier makes it, ``space_id`` chosen on the
    consent page; Zapier's runtime on the exported app with its token."""
    hub.cli("zapier", "export", str(app_dir), "--base-url", hub.base)
    scope = json.loads((app_dir / "definition.json").read_text())["authentication"]["oauth2Config"]["scope"]
    client = hub.create_client()
    browser = Browser(hub)
    page = browser.sign_in(browser.go(authorize_url(hub, client["client_id"], scope=scope)), username, PASSWORD)
    code = redirect_params(browser.submit(page, {"space": space_id}, button=("decision", "allow")))["code"]
    issued = hub.exchange(client, code)
    assert issued.status_code == 200, issued.text
    return Runtime(app_dir, {"access_token": issued.json()["access_token"]})


@pytest.fixture
def acme(start_hub, delivery_worker, receiver, tmp_path):
    """ada (owner) and bob (member) in Acme; ada's Zapier connected in Acme."""
    from hub.services import accounts, orgs

    hub = start_hub()
    for username in ("ada", "bob"):
        hub.create_user(username, password=PASSWORD, tier="pro")
    with hub.app.app_context():
        space_id = orgs.create_org(accounts.get_user("ada"), "Acme", slug="acme").id
        orgs.add_member(None, "acme", "bob")
    runtime = connect_in(hub, tmp_path / "app", "ada", space_id)
    yield hub, runtime
    runtime.stop()


def test_zapier_in_an_org_space_is_named_after_it_and_works_on_the_orgs_tasks_only(acme, receiver):
    hub, runtime = acme
    me = runtime.run("authentication.test")
    assert me["space"]["kind"] == "org"
    assert runtime.run("authentication.connectionLabel", inputData=me) == "ada (Acme)"

    hook = runtime.run("triggers.new_task.operation.performSubscribe", targetUrl=receiver.url("/new_task"))
    assert hook["status"] == "active", hook
    created = runtime.run("creates.create_task.operation.perform", inputData={"title": "From Zapier", "prompt": "p"})
    bob = key(hub, "bob", "acme")
    assert hub.api(f"/api/v1/tasks/{created['id']}", bob).json()["title"] == "From Zapier"  # the org's task
    assert hub.api(f"/api/v1/tasks/{created['id']}", key(hub, "ada")).status_code == 404  # not ada's personal one

    # A task in ada's personal space, then one bob makes in Acme: the hook gets bob's, never ada's own.
    personal = hub.api("/api/v1/tasks", key(hub, "ada"), "POST", json={"title": "Private", "prompt": "p"}).json()
    teammates = hub.api("/api/v1/tasks", bob, "POST", json={"title": "By bob", "prompt": "p"}).json()
    delivered = receiver.wait_for(2, "/new_task", timeout=60)
    items = [runtime.run("triggers.new_task.operation.perform", cleanedRequest=hit.json())[0] for hit in delivered]
    assert {item["task_id"] for item in items} == {created["id"], teammates["id"]}
    wait_dispatched(hub.app, timeout=30)
    sent = [hit.json()["task_id"] for hit in receiver.received("/new_task")]
    assert personal["id"] not in sent and len(sent) == 2
    listed = runtime.run("triggers.new_task.operation.performList")
    assert {item["task_id"] for item in listed} == {created["id"], teammates["id"]}


def test_zapier_in_the_personal_space_is_named_after_the_user_alone(start_hub, tmp_path):
    from hub.services import accounts, orgs, spaces

    hub = start_hub()
    hub.create_user("cy", password=PASSWORD)
    with hub.app.app_context():
        cy = accounts.get_user("cy")
        orgs.create_org(cy, "Initech", slug="initech")
        personal_id = spaces.get_space(cy.personal_space_pk).id
    runtime = connect_in(hub, tmp_path / "app", "cy", personal_id)
    try:
        me = runtime.run("authentication.test")
        assert me["space"] == {"id": personal_id, "name": "cy", "kind": "personal", "role": "owner", "tier": "free"}
        assert runtime.run("authentication.connectionLabel", inputData=me) == "cy"
    finally:
        runtime.stop()
