"""The consent page chooses the space a connected app acts in: a person in an
organisation picks personal or the org (personal preselected); the code, its
tokens and the remembered consent are that space's, so the app's tasks are
the org's and its teammates see them. A space not theirs, or one where they
may not work, is refused and nothing is issued."""

from __future__ import annotations

import pytest
from support.forms import Browser, Forms
from support.oauth import authorize_url, redirect_params

PASSWORD = "correct horse battery"


def _org(hub, owner: str, name: str, slug: str, **members: str) -> str:
    from hub.services import accounts, orgs

    with hub.app.app_context():
        space = orgs.create_org(accounts.get_user(owner), name, slug=slug)
        for username, role in members.items():
            orgs.add_member(None, slug, username, role)
        return space.id


def _key(hub, username: str, org: str | None = None) -> str:
    from hub.services import accounts, orgs

    with hub.app.app_context():
        space_pk = orgs.get_org(None, org).pk if org else None
        return accounts.create_api_key(username, space_pk=space_pk)[1]


@pytest.fixture
def team(hub):
    """ada (pro) is owner of Acme, where bob is a member; carol's Globex is
    not ada's; in Umbrella ada is a viewer. An OAuth client (Zapier)."""
    for username in ("ada", "bob", "carol"):
        hub.create_user(username, password=PASSWORD, tier="pro")
    ids = {
        "acme": _org(hub, "ada", "Acme", "acme", bob="member"),
        "globex": _org(hub, "carol", "Globex", "globex"),
        "umbrella": _org(hub, "carol", "Umbrella", "umbrella", ada="viewer"),
    }
    return ids, hub.create_client()


def consent_page(hub, client):
    """ada signed in, on the consent page of ``client``."""
    browser = Browser(hub)
    page = browser.sign_in(browser.go(authorize_url(hub, client["client_id"])), "ada", PASSWORD)
    assert page.status_code == 200 and "decision" in page.text, page.text
    return browser, page


def choices(page) -> list[str]:
    return [value for name, value in radios(page.text) if name == "space"]


def radios(html: str) -> list[tuple[str, str]]:
    from html.parser import HTMLParser

    found = []

    class Radios(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "input" and attrs.get("type") == "radio":
                found.append((attrs["name"], attrs["value"] + (" checked" if "checked" in attrs else "")))

    Radios().feed(html)
    return found


def test_an_app_connected_in_an_org_works_on_the_orgs_tasks_seen_by_teammates_not_in_personal(hub, team):
    ids, client = team
    browser, page = consent_page(hub, client)
    personal_id = _personal_space_id(hub, "ada")
    # Personal first and preselected, then the orgs where ada may work (not Umbrella: a viewer there, nor Globex).
    assert choices(page) == [f"{personal_id} checked", ids["acme"]]
    chooser = page.text.split('<fieldset id="spaces">')[1].split("</fieldset>")[0]
    assert "Your personal space" in chooser and "Acme" in chooser and "your role: owner" in chooser

    code = redirect_params(browser.submit(page, {"space": ids["acme"]}, button=("decision", "allow")))["code"]
    issued = hub.exchange(client, code)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]

    me = hub.api("/api/v1/me", token).json()
    assert me["username"] == "ada"
    assert me["space"] == {"id": ids["acme"], "name": "Acme", "kind": "org", "role": "owner", "tier": "free"}

    created = hub.api("/api/v1/tasks", token, "POST", json={"title": "Fix login", "prompt": "p"})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    # bob, a member of Acme, sees it with his Acme key; ada's personal key does not, nor bob's personal one.
    assert [t["id"] for t in hub.api("/api/v1/tasks", _key(hub, "bob", "acme")).json()] == [task_id]
    assert hub.api(f"/api/v1/tasks/{task_id}", _key(hub, "bob", "acme")).status_code == 200
    assert hub.api("/api/v1/tasks", _key(hub, "ada")).json() == []
    assert hub.api("/api/v1/tasks", _key(hub, "bob")).json() == []
    assert hub.api(f"/api/v1/tasks/{task_id}", _key(hub, "ada")).status_code == 404

    # The connected app is listed with the space it acts in; the refresh token stays there.
    [grant] = hub.api("/api/v1/me/grants", _key(hub, "ada")).json()
    assert grant["space"] == {"id": ids["acme"], "name": "Acme", "kind": "org"}
    refreshed = hub.refresh(client, issued.json()["refresh_token"])
    assert hub.api("/api/v1/me", refreshed.json()["access_token"]).json()["space"]["id"] == ids["acme"]


def _personal_space_id(hub, username: str) -> str:
    from hub.services import accounts, spaces

    with hub.app.app_context():
        return spaces.get_space(accounts.get_user(username).personal_space_pk).id


@pytest.mark.parametrize("org", ["globex", "umbrella", "sp_nosuchspace00000"])
def test_a_space_not_the_users_or_where_they_may_not_work_is_refused_and_nothing_is_issued(hub, team, org):
    ids, client = team
    browser, page = consent_page(hub, client)
    forged = browser.submit(page, {"space": ids.get(org, org)}, button=("decision", "allow"))
    assert forged.status_code == 400 and "location" not in forged.headers
    assert "Choose one of your spaces" in forged.text
    assert _issued(hub) == (0, 0)
    # The page shown again still works: personal, as preselected.
    code = redirect_params(browser.submit(forged, button=("decision", "allow")))["code"]
    token = hub.exchange(client, code).json()["access_token"]
    assert hub.api("/api/v1/me", token).json()["space"]["kind"] == "personal"


def _issued(hub) -> tuple[int, int]:
    """(codes, grants) of ada."""
    from sqlalchemy import func, select

    from hub.db import db
    from hub.models import OAuthCode, OAuthGrant, User

    with hub.app.app_context():
        ada = db.session.scalar(select(User.pk).where(User.username == "ada"))
        codes = db.session.scalar(select(func.count()).select_from(OAuthCode).where(OAuthCode.user_pk == ada))
        grants = db.session.scalar(select(func.count()).select_from(OAuthGrant).where(OAuthGrant.user_pk == ada))
        return codes, grants


def test_with_an_org_the_page_is_asked_again_so_an_earlier_consent_is_no_shortcut(hub, team):
    ids, client = team
    browser, page = consent_page(hub, client)
    redirect_params(browser.submit(page, {"space": ids["acme"]}, button=("decision", "allow")))
    again = browser.go(authorize_url(hub, client["client_id"]))
    assert again.status_code == 200 and choices(again)[0].endswith(" checked")  # personal preselected again
    code = redirect_params(browser.submit(again, button=("decision", "allow")))["code"]
    token = hub.exchange(client, code).json()["access_token"]
    assert hub.api("/api/v1/me", token).json()["space"]["kind"] == "personal"
    spaces = sorted(g["space"]["kind"] for g in hub.api("/api/v1/me/grants", _key(hub, "ada")).json())
    assert spaces == ["org", "personal"]  # one grant per space


def test_without_an_org_there_is_no_choice_and_an_allowed_app_skips_the_page(hub):
    hub.create_user("dan", password=PASSWORD, tier="pro")
    client = hub.create_client()
    browser = Browser(hub)
    page = browser.sign_in(browser.go(authorize_url(hub, client["client_id"])), "dan", PASSWORD)
    assert "space" not in Forms(page.text).with_field("decision")["fields"]
    redirect_params(browser.submit(page, button=("decision", "allow")))
    code = redirect_params(browser.go(authorize_url(hub, client["client_id"])))["code"]  # no page this time
    me = hub.api("/api/v1/me", hub.exchange(client, code).json()["access_token"]).json()
    assert me["space"] == {
        "id": _personal_space_id(hub, "dan"),
        "name": "dan",
        "kind": "personal",
        "role": "owner",
        "tier": "pro",
    }


def _connect(hub, browser, client, space_id: str) -> str:
    page = browser.go(authorize_url(hub, client["client_id"], scope=EVERY_SCOPE))
    code = redirect_params(browser.submit(page, {"space": space_id}, button=("decision", "allow")))["code"]
    return hub.exchange(client, code).json()["access_token"]


EVERY_SCOPE = "tasks:read tasks:write messages:write messages:read codebases:read codebases:write"


def _live_hooks(hub) -> set[str]:
    from sqlalchemy import select

    from hub.db import db
    from hub.models import Subscription

    with hub.app.app_context():
        return set(db.session.scalars(select(Subscription.id).where(Subscription.deleted_at.is_(None))))


@pytest.mark.usefixtures("webhook_settings")  # hooks may point at this machine
def test_disconnecting_an_app_in_one_space_leaves_its_connection_in_another(hub, team, receiver):
    ids, client = team
    browser, _page = consent_page(hub, client)
    personal, org = (
        _connect(hub, browser, client, _personal_space_id(hub, "ada")),
        _connect(hub, browser, client, ids["acme"]),
    )
    hook = {"event": "task.created", "target_url": receiver.url("/zap")}
    personal_hook = hub.api("/api/v1/hooks", personal, "POST", json=hook).json()["id"]
    hub.api("/api/v1/hooks", org, "POST", json=hook).raise_for_status()

    # On the dashboard, working in Acme, ada disconnects the app there: only the Acme connection ends.
    csrf = Forms(browser.go(hub.url("/dashboard")).text).forms[0]["fields"]["csrf_token"]
    assert browser.go(hub.url("/spaces/switch"), "POST", {"space": ids["acme"], "csrf_token": csrf}).status_code == 200
    assert browser.go(hub.url(f"/dashboard/apps/{client['client_id']}/revoke"), "POST", {"csrf_token": csrf}).is_success
    assert hub.api("/api/v1/me", org).status_code == 401
    assert hub.api("/api/v1/me", personal).status_code == 200
    assert _live_hooks(hub) == {personal_hook}
    [left] = hub.api("/api/v1/me/grants", _key(hub, "ada")).json()
    assert left["space"]["kind"] == "personal"

    # Through the API, the app is disconnected wherever it is connected.
    again = _connect(hub, browser, client, ids["acme"])
    assert hub.api(f"/api/v1/me/grants/{client['client_id']}", _key(hub, "ada"), "DELETE").status_code == 200
    assert [hub.api("/api/v1/me", token).status_code for token in (personal, again)] == [401, 401]
    assert hub.api("/api/v1/me/grants", _key(hub, "ada")).json() == [] and _live_hooks(hub) == set()
