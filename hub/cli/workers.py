"""``worker-tokens``: the credentials agent workers use."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

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
    }


@click.group("worker-tokens")
def worker_tokens():
    """Create, list and revoke worker tokens (``ctw_…``) for agent workers."""


@worker_tokens.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def worker_tokens_create(name, as_json):
    token, plain = workers.create_token(name)
    if as_json:
        click.echo(json.dumps({**_token_dict(token), "token": plain}))
        return
    click.echo(f"Worker token {token.id} ({token.name}). Copy it now; it is not shown again:")
    click.echo(plain)
    click.echo(
        "Run a worker with it:  HUB_WORKER_TOKEN=<token> codetether-hub agent-worker"
        " --hub URL --backend command --command '...'"
    )


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
        click.echo(f"{row['id']:<24} {row['prefix']}…  {row['name']:<30} {state}")


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
