"""``orgs``: organisations from the command line, as a hub admin (no role
checks; the org's audit log records the change as the CLI's)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from hub.models.spaces import ROLES
from hub.schemas import UTCDateTime
from hub.services import accounts, orgs
from hub.tiers import TIERS


def _when(value) -> str | None:
    return UTCDateTime()._serialize(value, None, None)


def _org_dict(space, role: str | None = None) -> dict:
    row = {"id": space.id, "name": space.name, "slug": space.slug, "tier": space.tier}
    return {**row, "role": role} if role else row


def _member_dict(membership) -> dict:
    return {"username": membership.user.username, "role": membership.role, "joined_at": _when(membership.created_at)}


@click.group("orgs")
def orgs_group():
    """Create organisations; list them; manage their members, roles, tier."""


@orgs_group.command("create")
@click.argument("name")
@click.option("--owner", required=True, help="The username of its first owner.")
@click.option("--slug", help=f"Its name in URLs; default: made from NAME. {orgs.SLUG_RULE}")
@click.option("--tier", type=click.Choice(TIERS), default="free", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def orgs_create(name, owner, slug, tier, as_json):
    space = orgs.create_org(accounts.get_user(owner), name, slug=slug, tier=tier)
    if as_json:
        click.echo(json.dumps(_org_dict(space)))
    else:
        click.echo(f"Created organisation {space.name} ({space.slug}, tier {space.tier}); {owner} is its owner.")


@orgs_group.command("list")
@click.option("--user", "username", help="Only this user's spaces (personal first), with their role.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_list(username, as_json):
    """Every organisation, or one user's spaces with their role in each."""
    if username:
        rows = [
            {**_org_dict(space, role), "kind": space.kind}
            for space, role in orgs.spaces_of(accounts.get_user(username))
        ]
    else:
        rows = [{**_org_dict(space), "members": count} for space, count in orgs.all_orgs()]
    if as_json:
        click.echo(json.dumps({"orgs": rows}))
        return
    for row in rows:
        label = row["slug"] or "(personal)"
        tail = row["role"] if username else f"{row['members']} member(s)"
        click.echo(f"{label:<30} {row['name'][:40]:<40} {row['tier'] or '-':<10} {tail}")


@orgs_group.command("members")
@click.argument("org")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_members(org, as_json):
    """An organisation's members (ORG: its slug or id), strongest role first."""
    rows = [_member_dict(m) for m in orgs.members(None, org)]
    if as_json:
        click.echo(json.dumps({"members": rows}))
        return
    for row in rows:
        click.echo(f"{row['username']:<30} {row['role']:<8} joined {row['joined_at']}")


@orgs_group.command("add-member")
@click.argument("org")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_add_member(org, username, role, as_json):
    membership = orgs.add_member(None, org, username, role)
    if as_json:
        click.echo(json.dumps(_member_dict(membership)))
    else:
        click.echo(f"{username} is now {role} of {org}.")


@orgs_group.command("set-role")
@click.argument("org")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_set_role(org, username, role, as_json):
    membership = orgs.set_role(None, org, username, role)
    if as_json:
        click.echo(json.dumps(_member_dict(membership)))
    else:
        click.echo(f"{username} is now {role} of {org}.")


@orgs_group.command("remove-member")
@click.argument("org")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_remove_member(org, username, as_json):
    """Remove a member; their credentials made for the org stop working."""
    orgs.remove_member(None, org, username)
    if as_json:
        click.echo(json.dumps({"org": org, "username": username, "removed": True}))
    else:
        click.echo(f"Removed {username} from {org}.")


@orgs_group.command("set-tier")
@click.argument("org")
@click.argument("tier", type=click.Choice(TIERS))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_set_tier(org, tier, as_json):
    """Set the tier whose limits apply to all work in the organisation."""
    space = orgs.set_tier(None, org, tier)
    if as_json:
        click.echo(json.dumps(_org_dict(space)))
    else:
        click.echo(f"{space.slug} is now on the {space.tier} tier.")


@orgs_group.command("invite")
@click.argument("org")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--username", help="Only this user may accept it (default: anyone holding the link).")
@click.option("--days", type=click.IntRange(1, orgs.MAX_INVITATION_DAYS), default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_invite(org, role, username, days, as_json):
    """Make an invitation link; it is shown once."""
    invitation, token = orgs.invite(None, org, role, username=username, days=days)
    url = f"{current_app.config['HUB_BASE_URL']}/invitations/{token}"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": invitation.id,
                    "role": role,
                    "username": username,
                    "expires_at": _when(invitation.expires_at),
                    "token": token,
                    "url": url,
                }
            )
        )
        return
    who = f"for {username}" if username else "for anyone holding it"
    click.echo(f"Invitation {invitation.id} to {org} as {role}, {who}, until {_when(invitation.expires_at)}.")
    click.echo("Copy the link now; it is not shown again:")
    click.echo(url)


@orgs_group.command("delete")
@click.argument("org")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def orgs_delete(org, yes, as_json):
    """Delete an organisation: its members lose it, its credentials and worker tokens stop working."""
    space = orgs.get_org(None, org)  # an unknown org fails before the question
    if not yes:
        click.confirm(f"Delete {space.name} ({space.slug})? Its members lose it.", abort=True)
    orgs.delete_org(None, org)
    if as_json:
        click.echo(json.dumps({"id": space.id, "deleted": True}))
    else:
        click.echo(f"Deleted {space.name}.")
