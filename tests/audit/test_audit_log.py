"""The audit log of each space (issue 27): every change it lists leaves one
entry naming who made it, with which credential, and to what; only the
space's admins and owners read it (GET /api/v1/audit, the space the API key
acts in), nobody sees another space's entries, and the delivery worker's
sweeper deletes entries past HUB_AUDIT_RETENTION_DAYS, never younger than 90
days. On one hub as deployed (gunicorn) for the module; the web forms and
the OAuth connect walk over real HTTP, the CLI in this process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from support.forms import Browser, Forms
from support.live_hub import LiveHub
from support.module_hub import module_hub
from support.oauth import connect, redirect_params

PASSWORD = "correct horse battery"
HOOK_URL = "http://127.0.0.1:9/hook/whsec-like-secret-in-the-path"  # no delivery worker runs: nothing is sent


@pytest.fixture(scope="module")
def hub(request) -> Iterator[LiveHub]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")  # the hooks' URL is on loopback
        with module_hub(request, "audit-hub") as hub:
            yield hub


def new_user(hub: LiveHub, username: str, password: str | None = PASSWORD, **kw) -> str:
    """A user and an API key of theirs (made as by the CLI: itself an entry)."""
    from hub.services import accounts

    hub.create_user(username, password=password, tier="enterprise", **kw)
    with hub.app.app_context():
        return accounts.create_api_key(username)[1]  # as `api-keys create` does


def log(hub: LiveHub, key: str, **params) -> list[dict]:
    answer = hub.api("/api/v1/audit", key, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def seen(entries: list[dict]) -> list[tuple]:
    """Oldest first, without ids and times: (actor, credential, action, target)."""
    return [(e["actor"], e["credential"], e["action"], e["target"]) for e in reversed(entries)]


def key_id(hub: LiveHub, plain: str) -> str:
    from hub.crypto import hash_secret
    from hub.db import db
    from hub.models import ApiKey

    with hub.app.app_context():
        return db.session.scalar(db.select(ApiKey.id).where(ApiKey.key_hash == hash_secret(plain)))


def signed_in(hub: LiveHub, username: str) -> Browser:
    browser = Browser(hub)
    browser.login(username, PASSWORD)
    return browser


def post_form(browser: Browser, page, action: str, **fields):
    """Send the page's form whose action ends with ``action`` (its CSRF token included)."""
    form = next(f for f in Forms(page.text).forms if f["action"].endswith(action))
    return browser.go(browser.hub.url(form["action"]), "POST", data={**form["fields"], **fields})


def test_api_keys_made_and_revoked_on_the_dashboard_and_by_the_cli(hub):
    key = new_user(hub, "ada")
    browser = signed_in(hub, "ada")
    made = post_form(browser, browser.go(hub.url("/dashboard")), "/dashboard/api-keys", name="laptop")
    assert made.status_code == 200, made.text
    laptop = key_id(hub, re.search(r'id="new-key-value">(ct_\w+)<', made.text).group(1))
    post_form(browser, browser.go(hub.url("/dashboard")), f"/dashboard/api-keys/{laptop}/revoke")
    spare = hub.cli("api-keys", "create", "ada", "--name", "spare", "--json")["id"]
    hub.cli("api-keys", "revoke", spare)
    hub.cli("api-keys", "revoke", spare)  # already revoked: no change, no entry

    entries = log(hub, key)
    assert seen(entries) == [
        (None, "cli", "api_key.created", key_id(hub, key)),
        ("ada", "web", "api_key.created", laptop),
        ("ada", "web", "api_key.revoked", laptop),
        (None, "cli", "api_key.created", spare),
        (None, "cli", "api_key.revoked", spare),
    ]
    assert entries[3]["detail"] == {"user": "ada", "name": "laptop", "scopes": entries[3]["detail"]["scopes"]}
    assert "ct_" not in str(entries)  # never a key, not even its prefix


def test_hooks_and_connected_apps_name_the_key_or_the_apps_token(hub):
    from hub.crypto import hash_secret
    from hub.db import db
    from hub.models import OAuthToken

    key = new_user(hub, "grace")
    client = hub.create_client(name="Zapier")
    page = connect(hub, Browser(hub), client, "grace", PASSWORD, scope="tasks:read tasks:write")
    token = hub.exchange(client, redirect_params(page)["code"]).json()["access_token"]
    with hub.app.app_context():
        token_id = db.session.scalar(db.select(OAuthToken.id).where(OAuthToken.access_hash == hash_secret(token)))

    by_app = hub.api("/api/v1/hooks", token, "POST", json={"event": "task.created", "target_url": HOOK_URL}).json()
    by_key = hub.api("/api/v1/hooks", key, "POST", json={"event": "task.completed", "target_url": HOOK_URL}).json()
    for hook in (by_key, by_key):  # the second delete changes nothing: no second entry
        assert hub.api(f"/api/v1/hooks/{hook['id']}", key, "DELETE").status_code == 200
    assert hub.api(f"/api/v1/me/grants/{client['client_id']}", key, "DELETE").status_code == 200

    entries = log(hub, key)
    assert seen(entries)[1:] == [
        ("grace", "web", "app.connected", client["client_id"]),
        ("grace", f"oauth:{token_id}", "hook.created", by_app["id"]),
        ("grace", f"api_key:{key_id(hub, key)}", "hook.created", by_key["id"]),
        ("grace", f"api_key:{key_id(hub, key)}", "hook.deleted", by_key["id"]),
        ("grace", f"api_key:{key_id(hub, key)}", "app.disconnected", client["client_id"]),
    ]
    details = [e["detail"] for e in reversed(entries)][1:]
    assert details[0] == {"app": "Zapier", "scopes": ["tasks:read", "tasks:write"]}
    assert details[1] == {"event": "task.created"} and details[4] == {"app": "Zapier"}
    assert "whsec" not in str(entries) and "cto_" not in str(entries)  # neither the URL nor a token


def test_revoking_an_apps_client_disconnects_it_in_each_space_it_was_connected_to(hub):
    key = new_user(hub, "hopper")
    client = hub.create_client(name="Old app")
    connect(hub, Browser(hub), client, "hopper", PASSWORD, scope="tasks:read")
    hub.cli("clients", "revoke", client["client_id"])
    hub.cli("clients", "revoke", client["client_id"])  # already revoked: no second entry

    entries = log(hub, key)
    assert seen(entries)[1:] == [
        ("hopper", "web", "app.connected", client["client_id"]),
        (None, "cli", "app.disconnected", client["client_id"]),
    ]
    assert entries[0]["detail"] == {"app": "Old app", "client_revoked": True}


def test_a_tier_change_is_in_the_users_own_log_by_the_admin_or_the_cli(hub):
    key = new_user(hub, "linus")
    admins_key = new_user(hub, "root", is_admin=True)
    hub.cli("users", "set-tier", "linus", "pro")
    hub.cli("users", "set-tier", "linus", "pro")  # the same tier: no change, no entry
    browser = signed_in(hub, "root")
    changed = post_form(browser, browser.go(hub.url("/admin/")), "/admin/users/linus/tier", tier="free")
    assert changed.status_code == 200 and "linus is now on the free tier" in changed.text

    entries = log(hub, key)
    assert seen(entries)[1:] == [(None, "cli", "tier.changed", "linus"), ("root", "web", "tier.changed", "linus")]
    assert [e["detail"] for e in entries[:2]] == [{"from": "pro", "to": "free"}, {"from": "enterprise", "to": "pro"}]
    assert [e["action"] for e in log(hub, admins_key)] == ["api_key.created"]  # the user's log, not the admin's


@pytest.fixture(scope="module")
def org(hub):
    """An organisation: its owner, an admin, a member and a viewer, each
    with an API key acting in it; and an outsider."""
    from hub.db import db
    from hub.models import Membership, User
    from hub.services import accounts, spaces

    keys = {name: new_user(hub, name, password=None) for name in ("owner", "admin", "member", "viewer", "outsider")}
    with hub.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User).where(User.username.in_(keys)))}
        space = spaces.new_space("org", "Acme", slug="acme", tier="pro")
        spaces.furnish(space, users["owner"])
        for role in ("admin", "member", "viewer"):
            db.session.add(Membership(space_pk=space.pk, user_pk=users[role].pk, role=role))
        db.session.commit()
        org_pk = space.pk
        for name in ("owner", "admin", "member", "viewer"):
            keys[f"{name}@acme"] = accounts.create_api_key(name, space_pk=org_pk, actor=users["owner"])[1]
    return org_pk, keys


def test_only_the_spaces_admins_and_owners_read_its_log(hub, org):
    _org_pk, keys = org
    for name in ("owner@acme", "admin@acme"):
        entries = log(hub, keys[name])
        assert [(e["action"], e["actor"]) for e in entries] == [("api_key.created", "owner")] * 4, name
        made = [key_id(hub, keys[f"{role}@acme"]) for role in ("viewer", "member", "admin", "owner")]
        assert [e["target"] for e in entries] == made
    for name in ("member@acme", "viewer@acme"):
        refused = hub.api("/api/v1/audit", keys[name])
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "insufficient_role" and refused.json()["required_role"] == "admin"


def test_another_spaces_entries_never_show(hub, org):
    from hub.db import db
    from hub.errors import NotFound
    from hub.models import User
    from hub.services import audit

    org_pk, keys = org
    # Each personal log holds its own key's creation alone: none of the organisation's.
    for name in ("owner", "member", "outsider"):
        assert seen(log(hub, keys[name])) == [(None, "cli", "api_key.created", key_id(hub, keys[name]))]
    assert all(e["detail"]["user"] != "outsider" for e in log(hub, keys["owner@acme"]))
    with hub.app.app_context():
        outsider = db.session.scalar(db.select(User).where(User.username == "outsider"))
        with pytest.raises(NotFound):  # the org page's answer for a non-member: no such space
            audit.entries(outsider, org_pk)


def test_the_log_is_paged_newest_first(hub, org):
    _org_pk, keys = org
    first = hub.api("/api/v1/audit", keys["owner@acme"], params={"limit": 3})
    assert first.status_code == 200 and len(first.json()) == 3
    assert first.headers["link"] == f'<{hub.url("/api/v1/audit")}?limit=3&page=1>; rel="next"'
    rest = hub.api("/api/v1/audit", keys["owner@acme"], params={"limit": 3, "page": 1}).json()
    assert [e["id"] for e in first.json() + rest] == [e["id"] for e in log(hub, keys["owner@acme"])]
    bad = hub.api("/api/v1/audit", keys["owner@acme"], params={"limit": 0})
    assert bad.status_code == 422 and "limit" in bad.json()["errors"]


def test_the_sweeper_deletes_entries_past_the_retention_and_never_before_90_days(hub, monkeypatch):
    from hub.db import db, utcnow
    from hub.models import AuditEntry, User
    from hub.services import audit
    from hub.webhooks import sweeper

    new_user(hub, "keeper", password=None)
    ages = {"ancient": 366, "old": 200, "recent": 89}
    with hub.app.app_context():
        keeper = db.session.scalar(db.select(User).where(User.username == "keeper"))
        space_pk = keeper.personal_space_pk
        for target, days in ages.items():
            audit.record(keeper, "hook.created", target=target)
            db.session.flush()
            db.session.execute(
                db.update(AuditEntry).where(AuditEntry.target == target).values(at=utcnow() - timedelta(days=days))
            )
        db.session.commit()

    def left() -> set[str | None]:
        with hub.app.app_context():
            query = db.select(AuditEntry.target).where(
                AuditEntry.space_pk == space_pk, AuditEntry.action == "hook.created"
            )
            return set(db.session.scalars(query))

    monkeypatch.setattr(sweeper, "_pruned_at", -sweeper.PRUNE_EVERY)  # due in this process
    assert sweeper.sweep(hub.app)["audit_pruned"] == 1  # the default: 365 days
    assert left() == {"old", "recent"}
    assert sweeper.sweep(hub.app)["audit_pruned"] == 0  # once an hour, not at every sweep
    monkeypatch.setitem(hub.app.config, "HUB_AUDIT_RETENTION_DAYS", 10)  # past the start-up check: 90 holds anyway
    with hub.app.app_context():
        assert audit.prune() == 1
    assert left() == {"recent"}


def test_a_retention_under_90_days_is_refused_at_start_up(monkeypatch):
    from hub import config

    monkeypatch.setenv("HUB_AUDIT_RETENTION_DAYS", "30")
    with pytest.raises(config.SettingError) as refused:
        config.load()
    assert (
        str(refused.value)
        == "HUB_AUDIT_RETENTION_DAYS='30' is not valid: the audit log is kept at least 90 days, not 30"
    )
    monkeypatch.setenv("HUB_AUDIT_RETENTION_DAYS", "90")
    assert config.load()["HUB_AUDIT_RETENTION_DAYS"] == 90
