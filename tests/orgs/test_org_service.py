"""The organisations service: who may do what, the last owner, invitations
and the audit log, called in-process on a real database."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.db import db, utcnow
from hub.errors import Conflict, Forbidden, HubError, NotFound, ValidationFailed
from hub.models import AuditEntry, Invitation, Space
from hub.services import accounts, orgs, spaces


@pytest.fixture
def people(app_ctx):
    """ada owns Acme; ben is its admin, cy a member, dee a viewer; eve is outside."""
    made = {
        name: accounts.create_user(name, tier="pro" if name == "ada" else "free")
        for name in ("ada", "ben", "cy", "dee", "eve")
    }
    orgs.create_org(made["ada"], "Acme Corp")
    for name, role in (("ben", "admin"), ("cy", "member"), ("dee", "viewer")):
        orgs.add_member(None, "acme-corp", name, role)
    return made


def roles(org="acme-corp"):
    return {m.user.username: m.role for m in orgs.members(None, org)}


def actions():
    """Acme's audit log (deleted or not): (action, actor, target)."""
    acme = db.session.scalar(select(Space.pk).where(Space.name == "Acme Corp").order_by(Space.pk))
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.space_pk == acme).order_by(AuditEntry.pk))
    return [(e.action, e.actor, e.target) for e in rows]


def test_an_org_has_its_creator_as_owner_and_a_slug_from_its_name(people):
    ada = people["ada"]
    listed = orgs.spaces_of(ada)
    assert [(space.kind, role) for space, role in listed] == [("personal", "owner"), ("org", "owner")]
    org = listed[1][0]
    assert (org.name, org.slug, org.tier) == ("Acme Corp", "acme-corp", "free")
    assert orgs.get_org(ada, org.id).pk == orgs.get_org(ada, "acme-corp").pk == org.pk
    assert actions()[0] == ("org.created", None, "acme-corp")
    assert [role for _space, role in orgs.spaces_of(people["dee"])] == ["owner", "viewer"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ok", "slug": "A"}, "slug"),
        ({"name": "Ok", "slug": "UPPER"}, "slug"),
        ({"name": "Ok", "slug": "-edge"}, "slug"),
        ({"name": "Ok", "slug": "x" * 65}, "slug"),
        ({"name": "!!"}, "slug"),
        ({"name": "Ok", "tier": "gold"}, "tier"),
    ],
)
def test_bad_input_names_the_field_and_makes_nothing(people, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        orgs.create_org(people["eve"], **fields)
    assert list(refused.value.errors) == [field]
    assert len(orgs.spaces_of(people["eve"])) == 1


def test_a_slug_is_unique(people):
    with pytest.raises(Conflict) as taken:
        orgs.create_org(people["eve"], "Acme, Corp.")
    assert taken.value.code == "slug_taken" and "slug" in taken.value.errors
    assert orgs.create_org(people["eve"], "Acme Corp", slug="acme-2").slug == "acme-2"


# What each role may do to another member, to an owner, and to the org.
ALLOWED = {
    "owner": {"add", "add_owner", "set_role", "make_owner", "remove", "invite", "invite_owner", "tier", "delete"},
    "admin": {"add", "set_role", "remove", "invite"},
    "member": set(),
    "viewer": set(),
}


def attempts(actor, target):
    return {
        "add": lambda: orgs.add_member(actor, "acme-corp", "eve", "member"),
        "add_owner": lambda: orgs.add_member(actor, "acme-corp", "eve", "owner"),
        "set_role": lambda: orgs.set_role(actor, "acme-corp", target, "member"),
        "make_owner": lambda: orgs.set_role(actor, "acme-corp", target, "owner"),
        "remove": lambda: orgs.remove_member(actor, "acme-corp", target),
        "invite": lambda: orgs.invite(actor, "acme-corp", "member"),
        "invite_owner": lambda: orgs.invite(actor, "acme-corp", "owner"),
        "tier": lambda: orgs.set_tier(actor, "acme-corp", "pro"),
        "delete": lambda: orgs.delete_org(actor, "acme-corp"),
    }


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_may_do_what_it_allows_and_nothing_more(people, role):
    actor = {"owner": "ada", "admin": "ben", "member": "cy", "viewer": "dee"}[role]
    target = "dee" if actor != "dee" else "cy"  # a viewer acts on another viewer
    orgs.set_role(None, "acme-corp", target, "viewer")
    for name, attempt in attempts(people[actor], target).items():
        before = (roles(), len(actions()))
        if name in ALLOWED[role]:
            attempt()
            assert len(actions()) == before[1] + 1, name  # each change is in the audit log
            # Put things back for the next attempt.
            if name in ("add", "add_owner"):
                orgs.remove_member(None, "acme-corp", "eve")
            elif name in ("set_role", "make_owner", "remove"):
                if "dee" in roles():
                    orgs.set_role(None, "acme-corp", "dee", "viewer")
                else:
                    orgs.add_member(None, "acme-corp", "dee", "viewer")
        else:
            with pytest.raises((Forbidden, NotFound)) as refused:
                attempt()
            if role in ("member", "viewer") or name in ("add_owner", "make_owner", "invite_owner", "tier", "delete"):
                assert refused.value.code == "insufficient_role", name
            assert (roles(), len(actions())) == before, name  # refused: nothing changed, nothing logged
    gone = "delete" in ALLOWED[role]  # tried last
    assert [space.kind for space, _role in orgs.spaces_of(people["cy"])] == ["personal"] + ["org"] * (not gone)


def test_an_admin_cannot_demote_or_remove_an_owner(people):
    ben = people["ben"]
    for attempt in (
        lambda: orgs.set_role(ben, "acme-corp", "ada", "admin"),
        lambda: orgs.remove_member(ben, "acme-corp", "ada"),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert roles()["ada"] == "owner"


def test_outsiders_and_other_orgs_credentials_see_no_org(people):
    eve = people["eve"]
    for attempt in (
        lambda: orgs.get_org(eve, "acme-corp"),
        lambda: orgs.members(eve, "acme-corp"),
        lambda: orgs.add_member(eve, "acme-corp", "eve", "owner"),
        lambda: orgs.invitations(eve, "acme-corp"),
    ):
        with pytest.raises(NotFound):
            attempt()
    # ada's credential made for another org of hers reaches that org only.
    other = orgs.create_org(people["ada"], "Beta")
    spaces.act_in(people["ada"], other.pk, spaces.standing(people["ada"], other.pk), "api_key:key_x")
    with pytest.raises(NotFound):
        orgs.members(people["ada"], "acme-corp")
    assert [m.user.username for m in orgs.members(people["ada"], "beta")] == ["ada"]


def test_the_last_owner_stays(people):
    ada = people["ada"]
    for attempt in (
        lambda: orgs.set_role(ada, "acme-corp", "ada", "admin"),
        lambda: orgs.remove_member(ada, "acme-corp", "ada"),
        lambda: orgs.remove_member(None, "acme-corp", "ada"),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "last_owner"
    orgs.set_role(ada, "acme-corp", "ben", "owner")
    orgs.remove_member(ada, "acme-corp", "ada")  # leaving, now that ben owns it too
    assert roles() == {"ben": "owner", "cy": "member", "dee": "viewer"}


def test_a_member_may_leave(people):
    orgs.remove_member(people["dee"], "acme-corp", "dee")
    assert "dee" not in roles()
    assert actions()[-1] == ("member.removed", "dee", "dee")


def test_an_invitation_link_lets_one_person_in_once(people):
    invitation, token = orgs.invite(people["ben"], "acme-corp", "member")
    assert invitation.token_hash != token and token not in str(actions())
    assert [i.id for i in orgs.invitations(people["ben"], "acme-corp")] == [invitation.id]
    assert orgs.invitation_for(token).id == invitation.id
    orgs.accept_invitation(people["eve"], token)
    assert roles()["eve"] == "member"
    assert orgs.invitations(people["ben"], "acme-corp") == []
    with pytest.raises(Conflict) as twice:
        orgs.accept_invitation(accounts.create_user("fay"), token)
    assert twice.value.code == "invitation_used" and "fay" not in roles()
    with pytest.raises(NotFound):
        orgs.invitation_for(token)
    assert actions()[-2:] == [("invitation.accepted", "eve", invitation.id), ("member.added", "eve", "eve")]


def test_an_invitation_by_username_is_for_that_user_only(people):
    _invitation, token = orgs.invite(people["ada"], "acme-corp", "admin", username="eve")
    fay = accounts.create_user("fay")
    with pytest.raises(NotFound):
        orgs.accept_invitation(fay, token)
    assert orgs.accept_invitation(people["eve"], token).role == "admin"
    with pytest.raises(ValidationFailed) as unknown:
        orgs.invite(people["ada"], "acme-corp", username="nobody")
    assert list(unknown.value.errors) == ["username"]
    with pytest.raises(Conflict):
        orgs.invite(people["ada"], "acme-corp", username="cy")  # already a member


def test_expired_and_revoked_invitations_let_nobody_in(people):
    expired, expired_token = orgs.invite(people["ada"], "acme-corp")
    db.session.get(Invitation, expired.pk).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    revoked, revoked_token = orgs.invite(people["ada"], "acme-corp")
    orgs.revoke_invitation(people["ben"], "acme-corp", revoked.id)
    assert orgs.invitations(people["ada"], "acme-corp") == []
    with pytest.raises(HubError) as late:
        orgs.accept_invitation(people["eve"], expired_token)
    assert (late.value.status, late.value.code) == (410, "invitation_expired")
    with pytest.raises(NotFound):
        orgs.accept_invitation(people["eve"], revoked_token)
    with pytest.raises(NotFound):
        orgs.accept_invitation(people["eve"], "cti_not-a-token")
    assert "eve" not in roles()
    assert ("invitation.revoked", "ben", revoked.id) in actions()


def test_changes_are_in_the_audit_log(people):
    ada = people["ada"]
    orgs.set_role(ada, "acme-corp", "cy", "admin")
    orgs.set_tier(ada, "acme-corp", "pro")
    orgs.remove_member(ada, "acme-corp", "dee")
    entries = actions()
    assert entries[1:4] == [
        ("member.added", None, "ben"),
        ("member.added", None, "cy"),
        ("member.added", None, "dee"),
    ]
    assert entries[-3:] == [
        ("member.role_changed", "ada", "cy"),
        ("tier.changed", "ada", "acme-corp"),
        ("member.removed", "ada", "dee"),
    ]
    assert orgs.get_org(None, "acme-corp").tier == "pro"


def test_an_owner_gives_an_org_no_higher_tier_than_their_own(people):
    for attempt in (
        lambda: orgs.set_tier(people["ada"], "acme-corp", "enterprise"),
        lambda: orgs.create_org(people["eve"], "Big", tier="pro", actor=people["eve"]),
    ):
        with pytest.raises(Forbidden) as refused:
            attempt()
        assert refused.value.code == "tier_not_allowed"
    assert orgs.get_org(None, "acme-corp").tier == "free" and len(orgs.spaces_of(people["eve"])) == 1
    assert orgs.set_tier(None, "acme-corp", "enterprise").tier == "enterprise"  # the CLI: a hub admin


def test_a_deleted_org_is_gone_for_its_members(people):
    orgs.delete_org(people["ada"], "acme-corp")
    for user in ("ada", "cy"):
        assert [space.kind for space, _role in orgs.spaces_of(people[user])] == ["personal"]
        with pytest.raises(NotFound):
            orgs.get_org(people[user], "acme-corp")
    assert orgs.create_org(people["eve"], "Acme Corp").slug == "acme-corp"  # the slug is free again
