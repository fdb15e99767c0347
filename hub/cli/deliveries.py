"""``deliveries``: see failed webhook deliveries and send them again."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from hub.services import hooks


def _delivery_dict(delivery) -> dict:
    return {
        "id": delivery.id,
        "hook_id": delivery.subscription.id,
        "event_id": delivery.event.id,
        "event_type": delivery.event.type,
        "target_url": delivery.subscription.target_url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "updated_at": delivery.updated_at.isoformat(timespec="seconds") + "Z",
    }


@click.group()
def deliveries():
    """Webhook deliveries: list them, replay failed ones."""


@deliveries.command("list")
@click.option("--failed", is_flag=True, help="Only deliveries that failed for good (retries used up, 410, disabled).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def deliveries_list(failed, limit, as_json):
    """The latest deliveries of every user, newest first."""
    rows = [_delivery_dict(d) for d in hooks.latest_deliveries(failed=failed, limit=limit)]
    if as_json:
        click.echo(json.dumps({"deliveries": rows}))
        return
    if not rows:
        click.echo("No failed deliveries." if failed else "No deliveries.")
    for row in rows:
        click.echo(
            f"{row['id']}  {row['hook_id']}  {row['event_type']:<16} {row['status']:<9} "
            f"{row['attempts']:>2} attempts  {row['updated_at']}  {row['last_error'] or ''}"
        )


@deliveries.command("replay")
@click.argument("delivery_id", required=False)
@click.option("--subscription", "hook_id", help="Replay every failed delivery of this hook instead.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def deliveries_replay(delivery_id, hook_id, as_json):
    """Send DELIVERY_ID again (same webhook-id and body), or with
    --subscription every failed delivery of one hook."""
    if bool(delivery_id) == bool(hook_id):
        raise click.UsageError("Give either DELIVERY_ID or --subscription HOOK_ID.")
    replayed = hooks.replay_subscription(hook_id) if hook_id else [hooks.replay(None, delivery_id)]
    if as_json:
        click.echo(json.dumps({"replayed": [d.id for d in replayed]}))
    else:
        click.echo(
            f"Replaying {len(replayed)} deliver{'y' if len(replayed) == 1 else 'ies'}: "
            + " ".join(d.id for d in replayed)
        )
