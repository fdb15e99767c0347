"""Log each attempt's outcome and decide what follows: delivered, retried
later, failed for good, the subscription deleted (410) or disabled
(sustained failure). And the claims a worker holds: their leases renewed
while it sends, or handed back unsent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Update, bindparam, func, insert, select, update

from hub import metrics
from hub.db import begin_write, db, utcnow
from hub.models import Delivery, DeliveryAttempt, Subscription
from hub.webhooks import states
from hub.webhooks.retry import next_delay, parse_schedule
from hub.webhooks.sender import Outcome

if TYPE_CHECKING:
    from hub.webhooks.delivery import Planned

log = logging.getLogger(__name__)


def record(planned: list[Planned], outcomes: list[Outcome], started: list[datetime], config) -> None:
    schedule = parse_schedule(config["HUB_WEBHOOK_RETRY_SCHEDULE"])
    begin_write()
    now = utcnow()
    # Only attempts still held: if a lease ran out, the sweeper took the
    # delivery back and logged that attempt itself.
    rows = db.session.execute(
        select(Delivery.pk, Delivery.attempts)
        .where(Delivery.pk.in_([p.delivery_pk for p in planned]), Delivery.status == "sending")
        .with_for_update()
    )
    held = {(pk, attempts) for pk, attempts in rows}
    attempts, changes = [], []
    delivered, failed, gone = set(), set(), set()
    for item, outcome, started_at in zip(planned, outcomes, started, strict=True):
        if (item.delivery_pk, item.number) not in held:
            continue
        attempts.append(
            {
                "delivery_pk": item.delivery_pk,
                "number": item.number,
                "started_at": started_at,
                "status_code": outcome.status_code,
                "latency_ms": round(outcome.latency_ms, 2),
                "error": outcome.error,
            }
        )
        status, error, next_attempt_at = "failed", outcome.error, None
        if outcome.ok:
            status = "delivered"
            if item.failing:
                delivered.add(item.subscription_pk)
        elif outcome.gone:
            gone.add(item.subscription_pk)
        else:
            failed.add(item.subscription_pk)
            delay = next_delay(item.number - item.schedule_start, schedule, outcome.retry_after)
            if delay is None:
                error = f"{outcome.error} No retries left."
            else:
                status, next_attempt_at = "retrying", now + timedelta(seconds=delay)
        changes.append(
            states.row(
                "sending",
                status,
                now,
                pk=item.delivery_pk,
                last_status_code=outcome.status_code,
                last_latency_ms=round(outcome.latency_ms, 2),
                last_error=error,
                next_attempt_at=next_attempt_at,
            )
        )
    if changes:
        db.session.execute(insert(DeliveryAttempt), attempts)
        db.session.execute(update(Delivery), changes)
    disabled = _update_subscriptions(delivered, failed, gone, now, config)
    db.session.commit()
    for outcome in outcomes:
        metrics.observe_delivery(
            "delivered" if outcome.ok else "gone" if outcome.gone else "failed", outcome.latency_ms / 1000
        )
    for subscription_id in disabled:
        log.warning(
            "webhook subscription %s disabled: failing for %g s or more",
            subscription_id,
            config["HUB_WEBHOOK_DISABLE_AFTER"],
        )


def _held(statement: Update) -> Update:
    """WHERE for one claim still held (with the statement's `sending`): its
    delivery has that attempt number (not taken back by the sweeper, not
    claimed again)."""
    table = Delivery.__table__
    return statement.where(table.c.pk == bindparam("b_pk"), table.c.attempts == bindparam("b_number"))


def renew(planned: list[Planned], lease_end: datetime) -> None:
    """The worker still holds these claims: push their lease to ``lease_end``."""
    begin_write()
    table = Delivery.__table__
    db.session.execute(
        _held(update(table).where(table.c.status == "sending")).values(next_attempt_at=lease_end),
        [{"b_pk": p.delivery_pk, "b_number": p.number} for p in planned],
    )
    db.session.commit()


def release(planned: list[Planned], due: datetime) -> None:
    """Hand claims back unsent: each delivery is `retrying` again, due at
    ``due``, as if this attempt had never been claimed (nothing logged)."""
    begin_write()
    db.session.execute(
        _held(states.moving("sending", "retrying", utcnow())).values(
            attempts=bindparam("b_previous"), next_attempt_at=due
        ),
        [{"b_pk": p.delivery_pk, "b_number": p.number, "b_previous": p.number - 1} for p in planned],
    )
    db.session.commit()


def _update_subscriptions(delivered: set, failed: set, gone: set, now: datetime, config) -> list[str]:
    """Counters move in SQL, so workers updating one subscription at once do
    not lose each other's changes. Returns the ids just disabled."""
    if delivered:
        db.session.execute(
            update(Subscription).where(Subscription.pk.in_(delivered)).values(failure_count=0, failing_since=None)
        )
    if gone:
        db.session.execute(
            update(Subscription)
            .where(Subscription.pk.in_(gone), Subscription.deleted_at.is_(None))
            .values(deleted_at=now)
        )
    failed -= gone
    if not failed:
        return []
    db.session.execute(
        update(Subscription)
        .where(Subscription.pk.in_(failed))
        .values(
            failure_count=Subscription.failure_count + 1, failing_since=func.coalesce(Subscription.failing_since, now)
        )
    )
    cutoff = now - timedelta(seconds=config["HUB_WEBHOOK_DISABLE_AFTER"])
    disable = (
        update(Subscription)
        .where(
            Subscription.pk.in_(failed),
            Subscription.disabled_at.is_(None),
            Subscription.deleted_at.is_(None),
            Subscription.failing_since <= cutoff,
        )
        .values(disabled_at=now)
        .returning(Subscription.id)
    )
    return list(db.session.scalars(disable))
