"""Organisations over the REST API: spaces, members, roles and invitations,
as each role and an outsider see them."""

from datetime import timedelta

import httpx
import pytest
from support.users import ApiUser

from hub.db import db, utcnow
from hub.models import Invitation, Subscription
from hub.services import accounts, orgs


@pytest.fixture
def team(app, client, make_user):
    """ada (pro) owns Acme through the API; ben is its admin, cy a member,
    dee a viewer; eve is outside. Each holds a key acting in their personal space."""
    people = {
        name: make_user(name, tier="pro" if name == "ada" else "free") for name in ("ada", "ben", "cy", "dee", "eve")
    }
    made = people["ada"].post("/api/v1/orgs", json={"name": "Acme Corp"})
    assert made.status_code == 201, made.json
    assert made.json["slug"] == "acme-corp" and made.json["role"] == "owner"
    for name, role in (("ben", "admin"), ("cy", "member"), ("dee", "viewer")):
        added = people["ada"].post("/api/v1/orgs/acme-corp/members", json={"username": name, "role": role})
        assert added.status_code == 201, added.json
    return people


def patch(user, url, **kw):
    return user.client.patch(url, headers=user.headers, **kw)


def members(user):
    answer = user.get("/api/v1/orgs/acme-corp/members")
    assert answer.status_code == 200, answer.json
    return {m["username"]: m["role"] for m in answer.json}


def test_spaces_lists_the_callers_spaces_and_the_one_the_credential_acts_in(app, team):
    listed = team["dee"].get("/api/v1/spaces").json
    assert [(s["kind"], s["role"], s["acting"]) for s in listed] == [
        ("personal", "owner", True),
        ("org", "viewer", False),
    ]
    with app.app_context():
        org = orgs.get_org(None, "acme-corp")
        _key, plain = accounts.create_api_key("dee", space_pk=org.pk)
    in_org = ApiUser(team["dee"].client, "dee", plain, None)
    assert [s["acting"] for s in in_org.get("/api/v1/spaces").json] == [False, True]
    assert in_org.get("/api/v1/orgs/acme-corp").json["role"] == "viewer"
    assert team["eve"].get("/api/v1/spaces").json[1:] == []


def test_each_role_over_http(team):
    ada, ben, cy, dee = team["ada"], team["ben"], team["cy"], team["dee"]
    assert members(dee) == {"ada": "owner", "ben": "admin", "cy": "member", "dee": "viewer"}
    for refused in (
        cy.post("/api/v1/orgs/acme-corp/members", json={"username": "eve"}),
        patch(dee, "/api/v1/orgs/acme-corp/members/cy", json={"role": "viewer"}),
        cy.delete("/api/v1/orgs/acme-corp/members/dee"),
        cy.post("/api/v1/orgs/acme-corp/invitations", json={}),
        dee.get("/api/v1/orgs/acme-corp/invitations"),
        ben.post("/api/v1/orgs/acme-corp/members", json={"username": "eve", "role": "owner"}),
        patch(ben, "/api/v1/orgs/acme-corp/members/ada", json={"role": "member"}),
        patch(ben, "/api/v1/orgs/acme-corp", json={"tier": "pro"}),
        ben.delete("/api/v1/orgs/acme-corp"),
    ):
        assert refused.status_code == 403 and refused.json["code"] == "insufficient_role", refused.json
    assert members(ada) == {"ada": "owner", "ben": "admin", "cy": "member", "dee": "viewer"}
    # An admin manages members who are not owners.
    assert ben.post("/api/v1/orgs/acme-corp/members", json={"username": "eve"}).json["role"] == "member"
    changed = patch(ben, "/api/v1/orgs/acme-corp/members/eve", json={"role": "admin"})
    assert changed.status_code == 200 and changed.json["username"] == "eve" and changed.json["role"] == "admin"
    assert ben.delete("/api/v1/orgs/acme-corp/members/eve").status_code == 204
    # The owner sets the tier, up to their own.
    assert patch(ada, "/api/v1/orgs/acme-corp", json={"tier": "pro"}).json["tier"] == "pro"
    over = patch(ada, "/api/v1/orgs/acme-corp", json={"tier": "enterprise"})
    assert over.status_code == 403 and over.json["code"] == "tier_not_allowed"
    # A member leaves.
    assert dee.delete("/api/v1/orgs/acme-corp/members/dee").status_code == 204
    assert dee.get("/api/v1/orgs/acme-corp").status_code == 404


def test_the_last_owner_cannot_go(team):
    ada = team["ada"]
    for refused in (
        patch(ada, "/api/v1/orgs/acme-corp/members/ada", json={"role": "admin"}),
        ada.delete("/api/v1/orgs/acme-corp/members/ada"),
    ):
        assert refused.status_code == 409 and refused.json["code"] == "last_owner"
    assert members(ada)["ada"] == "owner"


def test_outsiders_get_404_everywhere(team):
    eve = team["eve"]
    for answer in (
        eve.get("/api/v1/orgs/acme-corp"),
        eve.get("/api/v1/orgs/acme-corp/members"),
        eve.post("/api/v1/orgs/acme-corp/members", json={"username": "eve", "role": "owner"}),
        patch(eve, "/api/v1/orgs/acme-corp/members/cy", json={"role": "viewer"}),
        eve.delete("/api/v1/orgs/acme-corp/members/cy"),
        eve.get("/api/v1/orgs/acme-corp/invitations"),
        eve.post("/api/v1/orgs/acme-corp/invitations", json={}),
        eve.delete("/api/v1/orgs/acme-corp/invitations/inv_x"),
        patch(eve, "/api/v1/orgs/acme-corp", json={"tier": "free"}),
        eve.delete("/api/v1/orgs/acme-corp"),
    ):
        assert answer.status_code == 404, answer.json
    assert "eve" not in members(team["ada"])


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/orgs", {"name": ""}, "name"),
        ("/api/v1/orgs", {"name": "Ok", "slug": "Not A Slug"}, "slug"),
        ("/api/v1/orgs", {"name": "Ok", "tier": "gold"}, "tier"),
        ("/api/v1/orgs", {"name": "!!"}, "slug"),
        ("/api/v1/orgs/acme-corp/members", {"username": "cy", "role": "boss"}, "role"),
        ("/api/v1/orgs/acme-corp/members", {"role": "member"}, "username"),
        ("/api/v1/orgs/acme-corp/members", {"username": "nobody"}, "username"),
        ("/api/v1/orgs/acme-corp/invitations", {"days": 0}, "days"),
        ("/api/v1/orgs/acme-corp/invitations", {"username": "nobody"}, "username"),
        ("/api/v1/invitations/accept", {}, "token"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(team, url, body, field):
    before = (members(team["ada"]), team["ada"].get("/api/v1/spaces").json)
    answer = team["ada"].post(url, json=body)
    assert answer.status_code == 422 and list(answer.json["errors"]) == [field], answer.json
    assert (members(team["ada"]), team["ada"].get("/api/v1/spaces").json) == before


def test_a_taken_slug_is_a_409(team):
    answer = team["eve"].post("/api/v1/orgs", json={"name": "Acme", "slug": "acme-corp"})
    assert answer.status_code == 409 and answer.json["code"] == "slug_taken" and "slug" in answer.json["errors"]


def test_invitations_by_link_and_by_username(app, team):
    ben, eve = team["ben"], team["eve"]
    link = ben.post("/api/v1/orgs/acme-corp/invitations", json={"role": "viewer"})
    assert link.status_code == 201 and link.json["token"].startswith("cti_")
    assert link.json["url"].endswith("/invitations/" + link.json["token"])
    named = ben.post("/api/v1/orgs/acme-corp/invitations", json={"username": "eve", "role": "admin"}).json
    pending = ben.get("/api/v1/orgs/acme-corp/invitations").json
    assert [i["id"] for i in pending] == [named["id"], link.json["id"]] and "token" not in pending[0]

    fay = None
    with app.app_context():
        accounts.create_user("fay")
        _key, plain = accounts.create_api_key("fay")
    fay = ApiUser(eve.client, "fay", plain, None)
    not_hers = fay.post("/api/v1/invitations/accept", json={"token": named["token"]})
    assert not_hers.status_code == 404 and not_hers.json["code"] == "invitation_not_found"
    joined = eve.post("/api/v1/invitations/accept", json={"token": named["token"]})
    assert joined.status_code == 200 and joined.json["role"] == "admin" and joined.json["org"]["slug"] == "acme-corp"
    by_link = fay.post("/api/v1/invitations/accept", json={"token": link.json["token"]})
    assert by_link.status_code == 200 and by_link.json["role"] == "viewer"
    again = eve.post("/api/v1/invitations/accept", json={"token": link.json["token"]})
    assert again.status_code == 409 and again.json["code"] == "invitation_used"
    assert members(team["ada"])["eve"] == "admin" and members(team["ada"])["fay"] == "viewer"
    assert ben.get("/api/v1/orgs/acme-corp/invitations").json == []


def test_revoked_and_expired_invitations(app, team):
    ada, eve = team["ada"], team["eve"]
    revoked = ada.post("/api/v1/orgs/acme-corp/invitations", json={}).json
    assert ada.delete(f"/api/v1/orgs/acme-corp/invitations/{revoked['id']}").status_code == 204
    assert ada.delete(f"/api/v1/orgs/acme-corp/invitations/{revoked['id']}").status_code == 404
    answer = eve.post("/api/v1/invitations/accept", json={"token": revoked["token"]})
    assert answer.status_code == 404
    expired = ada.post("/api/v1/orgs/acme-corp/invitations", json={"days": 1}).json
    with app.app_context():
        row = db.session.query(Invitation).filter_by(id=expired["id"]).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    answer = eve.post("/api/v1/invitations/accept", json={"token": expired["token"]})
    assert answer.status_code == 410 and answer.json["code"] == "invitation_expired"
    assert "eve" not in members(ada)


def test_a_removed_members_credential_for_the_org_stops_working(app, team):
    with app.app_context():
        org = orgs.get_org(None, "acme-corp")
        _key, plain = accounts.create_api_key("cy", space_pk=org.pk)
    cy_in_org = ApiUser(team["cy"].client, "cy", plain, None)
    assert cy_in_org.get("/api/v1/orgs/acme-corp").status_code == 200
    assert team["ben"].delete("/api/v1/orgs/acme-corp/members/cy").status_code == 204
    assert cy_in_org.get("/api/v1/orgs/acme-corp").status_code == 401
    assert team["cy"].get("/api/v1/orgs/acme-corp").status_code == 404


def test_what_a_removed_member_held_in_the_org_ends_and_rejoining_brings_none_back(app, team, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")  # the hook's target; nothing is sent
    with app.app_context():
        org = orgs.get_org(None, "acme-corp")
        _key, plain = accounts.create_api_key("cy", space_pk=org.pk)
    cy_in_org = ApiUser(team["cy"].client, "cy", plain, None)
    hook = cy_in_org.post("/api/v1/hooks", json={"event": "task.created", "target_url": "http://127.0.0.1:9/cy"})
    assert hook.status_code == 201, hook.json
    assert team["ben"].delete("/api/v1/orgs/acme-corp/members/cy").status_code == 204
    # The org's events must not go on reaching a former member's hook; their key is revoked, not just refused.
    with app.app_context():
        assert db.session.query(Subscription).filter_by(id=hook.json["id"]).one().deleted_at is not None
    assert team["ada"].post("/api/v1/orgs/acme-corp/members", json={"username": "cy"}).status_code == 201
    assert cy_in_org.get("/api/v1/orgs/acme-corp").status_code == 401


def test_a_credential_made_for_one_org_reaches_no_other(app, team):
    ada = team["ada"]
    assert ada.post("/api/v1/orgs", json={"name": "Beta"}).status_code == 201
    with app.app_context():
        beta = orgs.get_org(None, "beta")
        _key, plain = accounts.create_api_key("ada", space_pk=beta.pk)
    in_beta = ApiUser(ada.client, "ada", plain, None)
    assert in_beta.get("/api/v1/orgs/beta/members").status_code == 200
    assert in_beta.get("/api/v1/orgs/acme-corp").status_code == 404
    assert in_beta.delete("/api/v1/orgs/acme-corp").status_code == 404
    assert ada.get("/api/v1/orgs/acme-corp").status_code == 200  # her personal key reaches both


def test_org_routes_need_the_orgs_scopes(make_user, team):
    reader = make_user("gus", scopes="orgs:read")
    made = reader.post("/api/v1/orgs", json={"name": "Gus"})
    assert made.status_code == 403 and made.json["code"] == "insufficient_scope"
    assert reader.get("/api/v1/spaces").status_code == 200
    none = make_user("hal", scopes="tasks:read")
    assert none.get("/api/v1/spaces").status_code == 403


def test_changes_made_over_http_are_in_the_audit_log(app, team):
    from sqlalchemy import select

    from hub.models import AuditEntry

    patch(team["ben"], "/api/v1/orgs/acme-corp/members/dee", json={"role": "member"})
    with app.app_context():
        org = orgs.get_org(None, "acme-corp")
        last = db.session.scalars(
            select(AuditEntry).where(AuditEntry.space_pk == org.pk).order_by(AuditEntry.pk.desc())
        ).first()
        assert (last.action, last.actor, last.target, last.detail) == (
            "member.role_changed",
            "ben",
            "dee",
            {"from": "viewer", "to": "member"},
        )
        assert last.credential.startswith("api_key:key_")
        first = db.session.scalars(
            select(AuditEntry).where(AuditEntry.space_pk == org.pk).order_by(AuditEntry.pk)
        ).first()
        assert (first.action, first.actor) == ("org.created", "ada")


def test_a_deleted_org_is_gone_and_its_credentials_stop(app, team):
    with app.app_context():
        org = orgs.get_org(None, "acme-corp")
        _key, plain = accounts.create_api_key("cy", space_pk=org.pk)
    cy_in_org = ApiUser(team["cy"].client, "cy", plain, None)
    task = cy_in_org.create_task()
    assert team["ada"].delete("/api/v1/orgs/acme-corp").status_code == 204
    assert cy_in_org.get(f"/api/v1/tasks/{task['id']}").status_code == 401
    assert team["cy"].get("/api/v1/orgs/acme-corp").status_code == 404
    assert [s["kind"] for s in team["cy"].get("/api/v1/spaces").json] == ["personal"]
    assert team["eve"].post("/api/v1/orgs", json={"name": "Acme Corp"}).json["slug"] == "acme-corp"


def test_two_owners_removing_each_other_at_once_leave_one_owner(app, serve, team):
    from support.parallel import parallel

    url = serve(app).base
    ada, ben = team["ada"], team["ben"]
    assert patch(ada, "/api/v1/orgs/acme-corp/members/ben", json={"role": "owner"}).status_code == 200
    pairs = [(ada, "ben"), (ben, "ada")]
    answers = parallel(
        2,
        lambda i: httpx.delete(
            f"{url}/api/v1/orgs/acme-corp/members/{pairs[i][1]}", headers=pairs[i][0].headers, timeout=60
        ),
    )
    # Whoever comes second is no longer a member (404), or finds the other the last owner (409).
    assert sorted(a.status_code for a in answers)[0] == 204, [a.text for a in answers]
    assert sorted(a.status_code for a in answers)[1] in (404, 409), [a.text for a in answers]
    with app.app_context():
        assert [m.role for m in orgs.members(None, "acme-corp")].count("owner") == 1


def test_one_link_accepted_twice_at_once_lets_one_in(app, serve, team, make_user):
    from support.parallel import parallel

    url = serve(app).base
    token = team["ada"].post("/api/v1/orgs/acme-corp/invitations", json={}).json["token"]
    joiners = [team["eve"], make_user("fay")]
    answers = parallel(
        2,
        lambda i: httpx.post(
            f"{url}/api/v1/invitations/accept", json={"token": token}, headers=joiners[i].headers, timeout=60
        ),
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    joined = members(team["ada"])
    assert ("eve" in joined) != ("fay" in joined)
