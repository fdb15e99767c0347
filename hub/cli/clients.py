"""``clients``: register, list and revoke OAuth2 clients (e.g. Zapier)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from hub.auth import SCOPES
from hub.services import oauth


def _client_dict(client) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": client.redirect_uri_list,
        "scopes": client.scope_list,
        "public": client.is_public,
        "require_pkce": client.pkce_required,
        "revoked": client.revoked_at is not None,
    }


@click.group()
def clients():
    """Register, list and revoke OAuth2 clients (apps that connect users' accounts)."""


@clients.command("create")
@click.option("--name", required=True, help="Shown to users on the consent page, e.g. Zapier.")
@click.option(
    "--redirect-uri", "redirect_uris", required=True, multiple=True, help="Exact callback URL; repeat for several."
)
@click.option("--scopes", help=f"Space- or comma-separated; default all: {' '.join(SCOPES)}")
@click.option(
    "--no-pkce",
    is_flag=True,
    help="Opt out of PKCE for a confidential client that cannot send it (weaker: a stolen code "
    "can be redeemed with the secret). Every client uses S256 PKCE otherwise.",
)
@click.option("--require-pkce", is_flag=True, hidden=True, help="The default now; kept so old scripts still run.")
@click.option("--public", is_flag=True, help="A client that cannot keep a secret: no secret, PKCE required.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def clients_create(name, redirect_uris, scopes, no_pkce, require_pkce, public, as_json):
    if no_pkce and require_pkce:
        raise click.UsageError("Give --no-pkce or --require-pkce, not both.")
    client, secret = oauth.create_client(name, list(redirect_uris), scopes=scopes, pkce=not no_pkce, public=public)
    if as_json:
        click.echo(json.dumps({**_client_dict(client), "client_secret": secret}))
        return
    click.echo(f"OAuth client {client.name} (scopes: {client.scopes}).")
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Copy the secret now; it is not shown again.")
    else:
        click.echo("Public client: no secret.")
    click.echo("PKCE (S256) required." if client.pkce_required else "PKCE not required (--no-pkce).")


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_list(as_json):
    rows = [_client_dict(c) for c in oauth.list_clients()]
    if as_json:
        click.echo(json.dumps({"clients": rows}))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "public" if row["public"] else "confidential"
        pkce = "pkce" if row["require_pkce"] else "no-pkce"
        click.echo(f"{row['client_id']:<28} {row['name']:<20} {state:<12} {pkce:<8} {' '.join(row['redirect_uris'])}")


@clients.command("revoke")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_revoke(client_id, as_json):
    client = oauth.revoke_client(client_id)
    if as_json:
        click.echo(json.dumps({"client_id": client.client_id, "revoked": True}))
    else:
        click.echo(f"Revoked {client.client_id}; its tokens no longer work.")
