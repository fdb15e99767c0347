"""``users`` and ``api-keys``: accounts from the command line."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from hub.auth import SCOPES
from hub.models.accounts import TIERS
from hub.services import accounts


def _user_dict(user) -> dict:
    return {"id": user.username, "username": user.username, "email": user.email,
            "tier": user.tier, "is_admin": user.is_admin}


@click.group()
def users():
    """Create and list users, set their tier."""


@users.command("create")
@click.argument("username")
@click.option("--password", help="For signing in on the web pages (OAuth consent).")
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
        click.echo(f"{row['username']:<30} {row['tier']:<10} {'admin' if row['is_admin'] else ''}")


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


@click.group("api-keys")
def api_keys():
    """Create and revoke API keys (``ct_…``)."""


@api_keys.command("create")
@click.argument("username")
@click.option("--name", help="A label to recognise the key by.")
@click.option("--scopes", help=f"Space- or comma-separated; default all: {' '.join(SCOPES)}")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def api_keys_create(username, name, scopes, as_json):
    key, plain = accounts.create_api_key(username, name=name, scopes=scopes)
    if as_json:
        click.echo(json.dumps({"id": key.id, "key": plain, "username": username, "scopes": key.scopes.split()}))
    else:
        click.echo(f"API key {key.id} for {username} (scopes: {key.scopes}).")
        click.echo("Copy it now; it is not shown again:")
        click.echo(plain)


@api_keys.command("revoke")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def api_keys_revoke(key_id, as_json):
    key = accounts.revoke_api_key(key_id)
    if as_json:
        click.echo(json.dumps({"id": key.id, "revoked": True}))
    else:
        click.echo(f"Revoked {key.id}.")
