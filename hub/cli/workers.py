"""``worker-tokens``: the credentials agent workers use. A token serves one
space (an organisation, or a user's personal space); a hub-wide one, which
claims every space's tasks, only when asked for by name (``--hub-wide``)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from hub.db import db
from hub.errors import NotFound
from hub.models import Space, User
from hub.schemas import UTCDateTime
from hub.services import workers


def _token_dict(token) -> dict:
    when = UTCDateTime()._serialize
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": when(token.created_at, None, None),
        "last_used_at": when(token.last_used_at, None, None),
        "revoked": token.revoked_at is not None,
        "space": token_space(token),
    }


def token_space(token) -> str | None:
    """How --space names the token's space (None: hub-wide)."""
    if token.space_pk is None:
        return None
    space = db.session.get(Space, token.space_pk)
    return space.slug or space.id if space else None


@click.group("worker-tokens")
def worker_tokens():
    """Create, list and revoke worker tokens (``ctw_…``) for agent workers."""


@worker_tokens.command("create")
@click.argument("name")
@click.option(
    "--space",
    help="The space whose tasks it claims: an organisation's slug or id, a space id (sp_...), or a username"
    " (that user's personal space).",
)
@click.option("--hub-wide", is_flag=True, help="Claim every space's tasks (every user's and organisation's prompts).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def worker_tokens_create(name, space, hub_wide, as_json):
    if bool(space) == hub_wide:
        raise click.UsageError(
            "Say whose tasks the token claims: --space SPACE (an organisation, or a username for a personal"
            " space) or --hub-wide (every space's tasks and prompts)."
        )
    try:
        space_pk = None if hub_wide else find_space(space)
    except NotFound as error:
        raise click.ClickException(str(error)) from None
    token, plain = workers.create_token(name, space_pk=space_pk)
    if as_json:
        click.echo(json.dumps({**_token_dict(token), "token": plain}))
        return
    click.echo(f"Worker token {token.id} ({token.name}). Copy it now; it is not shown again:")
    click.echo(plain)
    click.echo(
        "Run a worker with it:  HUB_WORKER_TOKEN=<token> codetether-hub agent-worker"
        " --hub URL --backend command --command '...'"
    )


def find_space(name: str) -> int:
    """A space by id (sp_...), by an organisation's slug, or a user's
    personal space by username; NotFound, or ambiguous (an org slug that is
    also a username: name it by its id)."""
    org = db.session.scalar(
        select(Space.pk).where(Space.deleted_at.is_(None), or_(Space.id == name, Space.slug == name))
    )
    personal = db.session.scalar(select(User.personal_space_pk).where(User.username == name))
    if org is not None and personal is not None and org != personal:
        raise NotFound(f"'{name}' is both an organisation and a user: give the space's id (sp_...) instead.")
    found = org if org is not None else personal
    if found is None:
        raise NotFound(f"No organisation, space or user '{name}'.")
    return found


@worker_tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def worker_tokens_list(as_json):
    rows = [_token_dict(t) for t in workers.list_tokens()]
    if as_json:
        click.echo(json.dumps({"worker_tokens": rows}))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else f"last used {row['last_used_at'] or 'never'}"
        served = row["space"] or "(hub-wide)"
        click.echo(f"{row['id']:<24} {row['prefix']}…  {row['name']:<30} {served:<24} {state}")


@worker_tokens.command("revoke")
@click.argument("token_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def worker_tokens_revoke(token_id, as_json):
    token = workers.revoke_token(token_id)
    if as_json:
        click.echo(json.dumps({"id": token.id, "revoked": True}))
    else:
        click.echo(f"Revoked {token.id}; its workers are refused from now on.")
