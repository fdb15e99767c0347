"""SSO group mapping (HUB_OIDC_GROUP_ORGS): the groups claim of a real OpenID
Connect provider (oidc-provider set up like a Keycloak realm, group paths as
Keycloak's group membership mapper sends them) puts users in organisations,
with roles, at each sign-in."""

import html
import json
import logging
import re
from urllib.parse import urljoin, urlsplit

import pytest
from support import free_port
from support.forms import Browser
from support.oidc_provider import USERS

GROUP_ORGS = {"/acme/admins": "acme:admin", "/acme": "acme:member", "/solo": "solo:member", "/ghost": "ghost:member"}


@pytest.fixture
def groups_hub(start_hub, oidc_provider):
    """``groups_hub(**idp_options)``: a hub mapping GROUP_ORGS, its provider,
    and the organisations acme (owned by a local user, boss) and other (not in
    the mapping)."""
    from hub.services import accounts, orgs

    def start(**idp_options):
        port = free_port()
        idp = oidc_provider(f"http://127.0.0.1:{port}", **idp_options)
        hub = start_hub(port=port, **idp.hub_settings, HUB_OIDC_GROUP_ORGS=json.dumps(GROUP_ORGS))
        with hub.app.app_context():
            boss = accounts.create_user("boss")
            for slug in ("acme", "other"):
                orgs.create_org(boss, slug.title(), slug=slug)
        return hub, idp

    return start


def sign_in(hub, idp, username):
    """Sign in with SSO from the hub's sign-in page in a new browser."""
    browser = Browser(hub, allowed={urlsplit(idp.issuer).netloc})
    page = browser.go(hub.url("/login"))
    link = re.search(r'<a[^>]*href="([^"]*)"[^>]*>Sign in with SSO</a>', page.text)
    assert link, page.text
    at_idp = browser.go(urljoin(str(page.url), html.unescape(link.group(1))))
    done = browser.submit(at_idp, {"username": username, "password": USERS[username]["password"]}, field="username")
    assert done.url.path == "/dashboard", done.text


def roles(hub, username):
    """{org slug: role} of the user's organisations."""
    from hub.services import accounts, orgs

    with hub.app.app_context():
        return {space.slug: role for space, role in orgs.spaces_of(accounts.get_user(username)) if not space.personal}


def sso_entries(hub, slug):
    """(action, target, detail) of the organisation's audit entries made by SSO sign-ins."""
    from sqlalchemy import select

    from hub.db import db
    from hub.models import AuditEntry, Space

    with hub.app.app_context():
        entries = db.session.scalars(
            select(AuditEntry)
            .join(Space, Space.pk == AuditEntry.space_pk)
            .where(Space.slug == slug)
            .order_by(AuditEntry.pk)
        )
        return [(e.action, e.target, e.detail) for e in entries if (e.actor, e.credential) == (None, "sso")]


def test_a_mapped_group_makes_the_user_a_member_with_the_strongest_role_mapped(groups_hub):
    hub, idp = groups_hub()
    # ken is in /acme/developers (USERS): a subgroup of the mapped /acme.
    sign_in(hub, idp, "ken")
    assert roles(hub, "ken") == {"acme": "member"}

    idp.update_user("maria", groups=["/acme/developers", "/acme/admins", "/other", "/unmapped"])
    sign_in(hub, idp, "maria")
    # /other names an organisation, but the mapping does not: nothing there.
    assert roles(hub, "maria") == {"acme": "admin"}
    assert sso_entries(hub, "acme") == [
        ("member.added", "ken", {"role": "member"}),
        ("member.added", "maria", {"role": "admin"}),
    ]
    assert sso_entries(hub, "other") == []

    sign_in(hub, idp, "maria")  # nothing changed: nothing written
    assert roles(hub, "maria") == {"acme": "admin"} and len(sso_entries(hub, "acme")) == 2


def test_a_group_gone_takes_its_role_and_membership_away_at_the_next_sign_in(groups_hub):
    from hub.services import accounts, orgs

    hub, idp = groups_hub()
    idp.update_user("maria", groups=["/acme/admins", "/solo"])
    sign_in(hub, idp, "maria")
    with hub.app.app_context():
        maria = accounts.get_user("maria")
        orgs.create_org(maria, "Solo", slug="solo")  # its one owner
        orgs.add_member(None, "other", "maria")  # by hand, where the mapping says nothing
    assert roles(hub, "maria") == {"acme": "admin", "other": "member", "solo": "owner"}

    idp.update_user("maria", groups=["/acme/developers"])
    sign_in(hub, idp, "maria")
    assert roles(hub, "maria") == {"acme": "member", "other": "member", "solo": "owner"}

    idp.update_user("maria", groups=[])
    sign_in(hub, idp, "maria")
    # The last owner of solo stays; the hand-made membership in other is not the mapping's.
    assert roles(hub, "maria") == {"other": "member", "solo": "owner"}
    assert sso_entries(hub, "acme") == [
        ("member.added", "maria", {"role": "admin"}),
        ("member.role_changed", "maria", {"from": "admin", "to": "member"}),
        ("member.removed", "maria", {"role": "member"}),
    ]
    assert sso_entries(hub, "solo") == []

    # Added in the hub to an organisation the mapping names: the hub's membership, which sign-ins leave alone.
    with hub.app.app_context():
        orgs.add_member(None, "acme", "maria", "viewer")
    sign_in(hub, idp, "maria")
    assert roles(hub, "maria") == {"acme": "viewer", "other": "member", "solo": "owner"}


def test_a_group_mapped_to_an_organisation_that_does_not_exist_is_a_warning(groups_hub, caplog):
    caplog.set_level(logging.WARNING)
    hub, idp = groups_hub()
    idp.update_user("ken", groups=["/ghost", "/acme"])
    sign_in(hub, idp, "ken")
    assert roles(hub, "ken") == {"acme": "member"}
    warnings = [r.getMessage() for r in caplog.records if r.name == "hub.services.sso"]
    assert warnings == ["SSO groups map ken to organisation 'ghost', which does not exist"]
    from hub.errors import NotFound
    from hub.services import orgs

    with hub.app.app_context(), pytest.raises(NotFound):
        orgs.get_org(None, "ghost")


@pytest.mark.sqlite_only  # where the claim is read from asks nothing of the database
def test_groups_only_in_the_access_token_count(groups_hub):
    # As a Keycloak mapper with "Add to ID token" and "Add to userinfo" off leaves them.
    hub, idp = groups_hub(rolesOnlyInAccessToken=True)
    sign_in(hub, idp, "ken")
    assert roles(hub, "ken") == {"acme": "member"}


@pytest.mark.sqlite_only  # a setting read at start-up
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('{"/acme": "acme:boss"}', "'/acme': expected 'slug:role' with a role among owner, admin, member, viewer"),
        ('{"/acme": "acme"}', "'/acme': expected 'slug:role'"),
        ('["/acme"]', "expected a JSON object of group -> 'slug:role'"),
        ("/acme=acme:admin", "not JSON"),
    ],
)
def test_a_bad_mapping_is_refused_at_start_up_naming_the_setting(monkeypatch, value, reason):
    from hub import config

    monkeypatch.setenv("HUB_OIDC_GROUP_ORGS", value)
    with pytest.raises(config.SettingError) as refused:
        config.load()
    assert str(refused.value).startswith(f"HUB_OIDC_GROUP_ORGS={value!r} is not valid: ")
    assert reason in str(refused.value)
