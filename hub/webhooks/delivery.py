"""Delivery jobs, run by ``codetether-hub delivery-worker``.

``dispatch_pending`` (one RQ job for whatever events are waiting, see
``hub.webhooks.dispatch``) fans each event out to the matching subscriptions,
a batch of events at a time: one transaction creates the deliveries, claimed
for their first attempt, and the attempts go to the process's lanes
(``hub.webhooks.lanes``: one per endpoint, so a slow receiver delays only its
own deliveries), which send them over pooled keep-alive clients and log the
outcomes as they come. ``run_attempt`` (one RQ job per retry or replay)
claims one later attempt and hands it over the same way. Either way an
attempt is claimed in the database first (attempt number + status compared
and set), so a job that runs twice sends once, and the claim carries a lease
that the worker renews while it holds the attempt: if the worker dies, the
sweeper retries it within HUB_WEBHOOK_LEASE_SECONDS seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import insert, select

from hub import jobs
from hub.db import begin_write, db, new_id, utcnow
from hub.models import Delivery, Event, Subscription
from hub.models.webhooks import CALLBACK_ENDS, CALLBACK_PROGRESS, CALLBACK_WAITS
from hub.webhooks import dispatch, formatters, lanes, signing, states
from hub.webhooks.sender import Outcome

log = logging.getLogger(__name__)


@contextmanager
def job_context():
    """A fresh app context (and DB session) per job, of the app the delivery
    worker (hub/webhooks/worker.py) runs its jobs in."""
    if not has_app_context():
        raise RuntimeError("delivery jobs run in `codetether-hub delivery-worker`, which provides the hub's app")
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's; current_app is typed as Flask
    with app.app_context():
        yield app


@dataclass
class Planned:
    """One attempt to send, as claimed (plain values: sent outside any
    transaction)."""

    delivery_pk: int
    delivery_id: str
    number: int
    schedule_start: int
    subscription_pk: int
    target_url: str  # where it goes (a per-task callback's, unsealed: never log it)
    shown_url: str  # target_url as logs may show it (a callback's cut to its host)
    secret_sealed: str
    format: str
    event: Event
    failing: bool = False  # the subscription has failures to reset on success
    headers_sealed: str | None = None  # a callback's caller's headers (sealed: secrets, never logged)


def planned(
    delivery_pk: int, delivery_id: str, number: int, schedule_start: int, s: Subscription, event: Event, config
) -> Planned:
    """The attempt to send, from its subscription: a hook, or a per-task
    callback, whose URL is sealed (hub.services.callbacks)."""
    url = s.target_url if s.target_sealed is None else signing.unseal(s.target_sealed, config["SECRET_KEY"])
    failing = bool(s.failure_count or s.failing_since)
    return Planned(
        delivery_pk,
        delivery_id,
        number,
        schedule_start,
        s.pk,
        url,
        s.target_url,
        s.secret_sealed,
        s.format,
        event,
        failing,
        s.headers_sealed,
    )


# One fan-out transaction takes up to this many events, and no more
# deliveries than SEND_BATCH (bar one event's own fan-out).
DISPATCH_BATCH = 100
SEND_BATCH = 200


def dispatch_pending() -> None:
    """RQ job: deliver every committed, undispatched event to its matching
    subscriptions, a batch of events at a time."""
    with job_context() as app:
        dispatch.dispatch_started(jobs.connection(app))
        while True:
            more, planned = fan_out(app.config)
            if planned:
                hand_over(planned, app)
            if not more:
                return


def run_attempt(delivery_id: str, number: int) -> None:
    """RQ job: attempt number ``number`` of one delivery (a retry or replay)."""
    with job_context() as app:
        planned = claim(delivery_id, number, app.config)
        if planned:
            hand_over(planned, app)


def subscribed(subscription: Subscription, event: Event) -> bool:
    """Does this live hook of the event's user want the event?"""
    data = event.data or {}
    return (
        subscription.event == event.type
        # A hook made after the event (say, while Redis was down and the
        # event waited for the sweeper) does not get it.
        and subscription.created_at <= event.created_at
        and subscription.codebase_id in (None, data.get("codebase_id"))
        and subscription.agent_type in (None, data.get("agent_type"))
        and subscription.role in (None, data.get("role"))
    )


def fan_out(config) -> tuple[bool, list[Planned]]:
    """Take a batch of undispatched events, oldest first (skipping any
    another job holds): create their deliveries, claimed for the first
    attempt, and mark them dispatched, in one transaction. Returns whether
    more events may be waiting, and the attempts to send in one batch (the
    lease covers sending them all)."""
    begin_write()
    events = db.session.scalars(
        select(Event)
        .where(Event.dispatched_at.is_(None))
        .order_by(Event.pk)
        .limit(DISPATCH_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    live = (
        db.session.scalars(
            select(Subscription)
            .where(
                Subscription.space_pk.in_({e.space_pk for e in events}),
                Subscription.event.in_({e.type for e in events}),
                Subscription.deleted_at.is_(None),
                Subscription.disabled_at.is_(None),
                Subscription.task_id.is_(None),  # hooks; callbacks below
            )
            .order_by(Subscription.pk)
        ).all()
        if events
        else []
    )
    callbacks = waiting_callbacks(events)
    more = len(events) == DISPATCH_BATCH
    matches: list[tuple[Event, Subscription]] = []
    for i, event in enumerate(events):
        mine = [(event, s) for s in live if s.space_pk == event.space_pk and subscribed(s, event)]
        waiting = callbacks.get(event.task_id or "", [])
        ending = [s for s in waiting if event.type in (s.event, *CALLBACK_ENDS)]
        mine += [(event, s) for s in waiting if s in ending or progressed(s, event)]
        if matches and len(matches) + len(mine) > SEND_BATCH:
            events, more = events[:i], True  # the rest stay waiting for the next batch
            break
        for s in ending:
            waiting.remove(s)  # ended: it gets no second final delivery
        matches += mine
    now = utcnow()
    lease_end = now + timedelta(seconds=config["HUB_WEBHOOK_LEASE_SECONDS"])
    rows = [
        states.created(
            now,
            id=new_id("dlv_"),
            event_pk=event.pk,
            subscription_pk=s.pk,
            callback=True if s.task_id and event.type != s.progress_event else None,
            attempts=1,
            schedule_start=0,
            next_attempt_at=lease_end,
        )
        for event, s in matches
    ]
    pks = []
    if rows:
        result = db.session.execute(insert(Delivery).returning(Delivery.pk, sort_by_parameter_order=True), rows)
        pks = [row[0] for row in result]
    for event in events:
        event.dispatched_at = now
    db.session.commit()
    return more, [
        planned(pk, row["id"], 1, 0, s, event, config) for pk, row, (event, s) in zip(pks, rows, matches, strict=True)
    ]


def progressed(callback: Subscription, event: Event) -> bool:
    """Does the event tell a callback of its task's progress (an A2A push
    config's question), one it was there for?"""
    return event.type == callback.progress_event and callback.created_at <= event.created_at


def waiting_callbacks(events: Sequence[Event]) -> dict[str, list[Subscription]]:
    """The live per-task callbacks that these events may fire and that have
    not ended yet, by task id, oldest first."""
    types = (*CALLBACK_WAITS, *CALLBACK_ENDS, *CALLBACK_PROGRESS)
    task_ids = {e.task_id for e in events if e.task_id and e.type in types}
    if not task_ids:
        return {}
    ended = select(Delivery.pk).where(Delivery.subscription_pk == Subscription.pk, Delivery.callback.is_not(None))
    found = db.session.scalars(
        select(Subscription)
        .where(
            Subscription.task_id.in_(task_ids),
            Subscription.deleted_at.is_(None),
            Subscription.disabled_at.is_(None),
            ~ended.exists(),
        )
        .order_by(Subscription.pk)
    )
    waiting: dict[str, list[Subscription]] = {}
    for s in found:
        waiting.setdefault(s.task_id or "", []).append(s)
    return waiting


def claim(delivery_id: str, number: int, config) -> list[Planned]:
    """Claim attempt ``number`` if the delivery is still waiting for it."""
    begin_write()
    delivery = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update(of=Delivery))
    if delivery is None or not states.allowed(delivery.status, "sending") or delivery.attempts != number - 1:
        db.session.commit()
        return []
    subscription = delivery.subscription
    now = utcnow()
    if subscription.deleted_at or subscription.disabled_at:
        states.transition(
            delivery,
            "failed",
            now=now,
            next_attempt_at=None,
            last_error=f"Not sent: the subscription was {subscription.status}.",
        )
        db.session.commit()
        return []
    states.transition(
        delivery,
        "sending",
        now=now,
        attempts=number,
        next_attempt_at=now + timedelta(seconds=config["HUB_WEBHOOK_LEASE_SECONDS"]),
    )
    db.session.commit()
    return [planned(delivery.pk, delivery.id, number, delivery.schedule_start, subscription, delivery.event, config)]


def encode(planned: Planned) -> bytes:
    body = formatters.payload(planned.format, planned.event)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def hand_over(planned: list[Planned], app: Flask) -> None:
    """Give claimed attempts to this process's lanes, each event's body
    encoded once per format (signed as it goes out)."""
    bodies: dict[tuple[str, str], bytes] = {}
    checked: dict = {}  # SSRF answers: a host is resolved and checked once per hand-over
    attempts = []
    for item in planned:
        key = (item.event.id, item.format)
        try:
            if key not in bodies:
                bodies[key] = encode(item)
        except Exception as error:  # a connector's formatter failed or is not installed
            log.exception("formatter %r failed for delivery %s", item.format, item.delivery_id)
            attempts.append(
                lanes.Attempt(
                    item,
                    None,
                    checked,
                    Outcome(None, 0.0, f"Formatter '{item.format}' failed: {type(error).__name__}."),
                )
            )
            continue
        attempts.append(lanes.Attempt(item, bodies[key], checked))
    lanes.lanes(app).submit(attempts)
