"""``users`` and ``api-keys``: accounts from the command line."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from hub.auth import SCOPES
from hub.schemas import UTCDateTime
from hub.services import accounts, orgs, spaces
from hub.tiers import TIERS

PASSWORD_RULE = f"At least {accounts.MIN_PASSWORD_LENGTH} characters, not a common password."


def _user_dict(user) -> dict:
    return {
        "id": user.username,
        "username": user.username,
        "email": user.email,
        "tier": user.tier,
        "is_admin": user.is_admin,
        "disabled": user.disabled_at is not None,
    }


def _space_dict(space_pk: int) -> dict:
    space = spaces.get_space(space_pk)
    return {"id": space.id, "name": space.name, "kind": space.kind, "slug": space.slug}


def _key_dict(key) -> dict:
    when = UTCDateTime()._serialize
    return {
        "id": key.id,
        "username": key.user.username,
        "space": _space_dict(key.space_pk),
        "prefix": key.prefix,
        "name": key.name,
        "scopes": key.scopes.split(),
        "created_at": when(key.created_at, None, None),
        "last_used_at": when(key.last_used_at, None, None),
        "revoked": key.revoked_at is not None,
    }


def _space_label(space: dict) -> str:
    return "personal" if space["kind"] == "personal" else f"org {space['slug'] or space['id']}"


@click.group()
def users():
    """Create, list, disable and enable users; set their tier and password."""


@users.command("create")
@click.argument("username")
@click.option("--password", help=f"For signing in on the web pages (OAuth consent). {PASSWORD_RULE}")
@click.option("--email")
@click.option("--tier", type=click.Choice(TIERS), default="free", show_default=True)
@click.option("--admin", is_flag=True, help="May use the admin pages and commands.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def users_create(username, password, email, tier, admin, as_json):
    user = accounts.create_user(username, password=password, email=email, tier=tier, is_admin=admin)
    if as_json:
        click.echo(json.dumps(_user_dict(user)))
    else:
        click.echo(f"Created user {user.username} (tier {user.tier}{', admin' if user.is_admin else ''}).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_list(as_json):
    rows = [_user_dict(u) for u in accounts.list_users()]
    if as_json:
        click.echo(json.dumps({"users": rows}))
        return
    for row in rows:
        flags = " ".join(f for f in ("admin" if row["is_admin"] else "", "disabled" if row["disabled"] else "") if f)
        click.echo(f"{row['username']:<30} {row['tier']:<10} {flags}")


@users.command("set-tier")
@click.argument("username")
@click.argument("tier", type=click.Choice(TIERS))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_set_tier(username, tier, as_json):
    user = accounts.set_tier(username, tier)
    if as_json:
        click.echo(json.dumps(_user_dict(user)))
    else:
        click.echo(f"{user.username} is now on the {user.tier} tier.")


@users.command("set-password")
@click.argument("username")
@click.option("--password", help=f"The new password (else asked for, twice). {PASSWORD_RULE}")
@with_appcontext
def users_set_password(username, password):
    """Set a user's password; the user's web sessions end."""
    accounts.get_user(username)  # an unknown user fails before the prompt
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    user = accounts.set_password(username, password)
    click.echo(f"Password of {user.username} changed; their web sessions have ended.")


@users.command("disable")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_disable(username, as_json):
    """Refuse the user's sign-in, sessions, API keys and OAuth tokens at once."""
    user = accounts.set_disabled(username, True)
    if as_json:
        click.echo(json.dumps(_user_dict(user)))
    else:
        click.echo(f"{user.username} is disabled: signed out everywhere; API keys and app tokens are refused.")


@users.command("enable")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def users_enable(username, as_json):
    """Let a disabled user back in (their unrevoked keys and tokens work again)."""
    user = accounts.set_disabled(username, False)
    if as_json:
        click.echo(json.dumps(_user_dict(user)))
    else:
        click.echo(f"{user.username} is enabled.")


@click.group("api-keys")
def api_keys():
    """Create, list and revoke API keys (``ct_…``)."""


@api_keys.command("create")
@click.argument("username")
@click.option("--name", help="A label to recognise the key by.")
@click.option("--scopes", help=f"Space- or comma-separated; default all: {' '.join(SCOPES)}")
@click.option(
    "--space",
    "org",
    metavar="ORG",
    help="The organisation (id or slug) the key acts in; the user must be a member. Default: their personal space.",
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def api_keys_create(username, name, scopes, org, as_json):
    space_pk = None
    if org:
        space_pk = orgs.get_org(None, org).pk
        if spaces.standing(accounts.get_user(username), space_pk) is None:
            raise click.ClickException(f"{username} is not a member of {org}: add them first (orgs add-member).")
    key, plain = accounts.create_api_key(username, name=name, scopes=scopes, space_pk=space_pk)
    acts_in = _space_dict(key.space_pk)
    if as_json:
        shown = {"id": key.id, "key": plain, "username": username, "space": acts_in, "scopes": key.scopes.split()}
        click.echo(json.dumps(shown))
    else:
        click.echo(f"API key {key.id} for {username} in {_space_label(acts_in)} (scopes: {key.scopes}).")
        click.echo("Copy it now; it is not shown again:")
        click.echo(plain)


@api_keys.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def api_keys_list(username, as_json):
    """One user's keys, or everyone's: id, prefix, user, space, name, scopes, created, last used."""
    rows = [_key_dict(k) for k in accounts.list_api_keys(accounts.get_user(username) if username else None)]
    if as_json:
        click.echo(json.dumps({"api_keys": rows}))
        return
    for row in rows:
        used = "revoked" if row["revoked"] else f"last used {row['last_used_at'] or 'never'}"
        click.echo(
            f"{row['id']:<22} {row['prefix']}…  {row['username']:<20} {_space_label(row['space']):<20} "
            f"{row['name'] or '-':<20} "
            f"created {row['created_at']}  {used}  {' '.join(row['scopes'])}"
        )


@api_keys.command("revoke")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def api_keys_revoke(key, as_json):
    """Revoke a key, given by its id (key_…) or by the key itself (ct_…)."""
    key = accounts.revoke_api_key(key)
    if as_json:
        click.echo(json.dumps({"id": key.id, "revoked": True}))
    else:
        click.echo(f"Revoked {key.id}.")
