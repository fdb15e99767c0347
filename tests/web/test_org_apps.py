"""An organisation's admins see and stop what acts in it for its members: each
member's connected apps (OAuth grants) and API keys acting in the org, on the
org page, disconnected or revoked there only."""

import pytest
from support.oauth import ZAPIER_REDIRECT, ZAPIER_SCOPES
from support.pages import csrf_token
from support.teams import org_with

from hub.db import db


def connect_app(app, username, space_pk, client_id) -> str:
    """``username`` connects the app in a space as the consent page does (a
    grant there, and a token issued in it); the plain access token."""
    from hub.db import begin_write
    from hub.services import accounts, oauth, spaces

    with app.app_context():
        user = accounts.get_user(username)
        spaces.act_in(user, space_pk, spaces.standing(user, space_pk))
        client = oauth.find_client(client_id)
        oauth.remember_consent(user, client, ZAPIER_SCOPES)
        plain = oauth.new_access_token()
        begin_write()
        oauth.save_token({"access_token": plain, "expires_in": 3600, "scope": ZAPIER_SCOPES}, client=client, user=user)
        db.session.commit()
        db.session.remove()
    return plain


def status(client, token) -> int:
    return client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def team(app, client, make_user):
    """Acme: alice owner, carol admin, bob member with Zapier connected and a
    key in Acme and in his personal space; Globex: dave its owner."""
    from hub.services import accounts, oauth, orgs

    bob = make_user("bob")
    for name in ("alice", "carol", "dave"):
        make_user(name)
    acme = org_with(app, "alice", carol="admin", bob="member")
    with app.app_context():
        orgs.create_org(accounts.get_user("dave"), "Globex", slug="globex")
        zapier, _secret = oauth.create_client("Zapier", [ZAPIER_REDIRECT])
        key, plain = accounts.create_api_key("bob", name="ci", space_pk=acme)
        personal = accounts.get_user("bob").personal_space_pk
        client_id, key_id = zapier.client_id, key.id
        db.session.remove()
    return {
        "acme": acme,
        "client_id": client_id,
        "org_token": connect_app(app, "bob", acme, client_id),
        "personal_token": connect_app(app, "bob", personal, client_id),
        "org_key": plain,
        "org_key_id": key_id,
        "personal_key": bob.key,
        "personal_key_id": bob.key_id,
    }


def post(client, url, page="/orgs/acme"):
    return client.post(url, data={"csrf_token": csrf_token(client.get(page))})


def test_an_admin_disconnects_a_members_app_and_revokes_his_key_in_the_org_only(app, team, sign_in):
    from hub.services import audit

    client_id, key_id = team["client_id"], team["org_key_id"]
    for token in ("org_token", "personal_token", "org_key", "personal_key"):
        assert status(sign_in("carol"), team[token]) == 200, token  # each works (and is cached) first

    carol = sign_in("carol")
    html = carol.get("/orgs/acme").get_data(as_text=True)
    assert f'id="app-{client_id}-bob"' in html and f'id="api-key-{key_id}"' in html
    assert html.count(f'id="app-{client_id}-') == 1  # his personal connection is not Acme's
    assert team["personal_key_id"] not in html and team["org_key"] not in html  # nor his personal key; never a key

    disconnected = post(carol, f"/orgs/acme/apps/{client_id}/bob/disconnect")
    assert disconnected.status_code == 302 and disconnected.headers["Location"].endswith("/orgs/acme#apps")
    revoked = post(carol, f"/orgs/acme/api-keys/{key_id}/revoke")
    assert revoked.status_code == 302

    assert status(carol, team["org_token"]) == 401 and status(carol, team["org_key"]) == 401
    assert status(carol, team["personal_token"]) == 200 and status(carol, team["personal_key"]) == 200
    html = carol.get("/orgs/acme").get_data(as_text=True)
    assert f'id="app-{client_id}-bob"' not in html and f'id="api-key-{key_id}"' not in html
    with app.app_context():
        latest = [(e.actor, e.action, e.target, e.detail) for e in audit.entries(None, team["acme"]).items[:2]]
    assert latest == [
        ("carol", "api_key.revoked", key_id, {"user": "bob"}),
        ("carol", "app.disconnected", client_id, {"app": "Zapier", "user": "bob"}),
    ]


def test_a_member_sees_neither_and_is_refused_and_another_orgs_admin_finds_nothing(app, team, sign_in):
    client_id, key_id = team["client_id"], team["org_key_id"]
    bob = sign_in("bob")
    html = bob.get("/orgs/acme").get_data(as_text=True)
    assert 'id="apps"' not in html and client_id not in html and key_id not in html
    assert post(bob, f"/orgs/acme/apps/{client_id}/bob/disconnect").status_code == 403
    assert post(bob, f"/orgs/acme/api-keys/{key_id}/revoke").status_code == 403

    dave = sign_in("dave")
    assert post(dave, f"/orgs/acme/apps/{client_id}/bob/disconnect", page="/orgs/globex").status_code == 404
    assert post(dave, f"/orgs/acme/api-keys/{key_id}/revoke", page="/orgs/globex").status_code == 404
    # In his own org, the other org's app and key are not found either.
    assert post(dave, f"/orgs/globex/apps/{client_id}/bob/disconnect", page="/orgs/globex").status_code == 404
    assert post(dave, f"/orgs/globex/api-keys/{key_id}/revoke", page="/orgs/globex").status_code == 404
    assert 'id="apps"' in dave.get("/orgs/globex").get_data(as_text=True)  # his own org's section, empty of Acme's
    assert status(dave, team["org_token"]) == 200 and status(dave, team["org_key"]) == 200  # all still works
