"""REST-hook subscriptions and their deliveries (the rules; the API and CLI
translate)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from flask import current_app
from sqlalchemy import select, union_all, update
from sqlalchemy.orm import joinedload, selectinload

from hub.auth import insufficient_scope
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.models import Delivery, Subscription, User
from hub.models.events import EVENT_SCOPES
from hub.schemas import Page, fetch_page, paged
from hub.services import audit, codebases, spaces
from hub.webhooks import dispatch, formatters, signing, ssrf, states

log = logging.getLogger(__name__)

# ``scopes`` below: the caller's credential's scopes; None for the signed-in
# dashboard and the admin, who may see every event of the account.


def readable_events(scopes: Iterable[str] | None) -> list[str]:
    """The event types a credential with ``scopes`` may receive and manage."""
    return [event for event, needed in EVENT_SCOPES.items() if scopes is None or needed in scopes]


def check_event_scope(event: str, scopes: Iterable[str] | None) -> None:
    if event not in readable_events(scopes):
        raise insufficient_scope((EVENT_SCOPES[event],))


def subscribe(
    user: User,
    *,
    event: str,
    target_url: str,
    codebase_id: str | None = None,
    agent_type: str | None = None,
    role: str | None = None,
    format: str | None = None,
    scopes: Iterable[str] | None = None,
    oauth_client_pk: int | None = None,
) -> tuple[Subscription, str]:
    """Create a subscription; returns it and its ``whsec_`` secret (the only
    time the secret is shown). ``oauth_client_pk``: the app whose token made
    it (disconnecting the app deletes it). It belongs to the space the user
    acts in: that space's events go to it."""
    check_event_scope(event, scopes)
    spaces.require_role(user, "work")
    if role and event != "message.created":
        raise ValidationFailed("role", "Only a message.created hook takes a role: other events are not messages.")
    format = format or formatters.DEFAULT
    if format not in formatters.names():
        raise ValidationFailed("format", f"Unknown format '{format}'; use one of: {', '.join(formatters.names())}.")
    check_target(target_url)
    begin_write()
    if codebase_id:
        codebases.resolve(user, codebase_id)
    secret = signing.new_secret()
    subscription = Subscription(
        id=new_id("hook_"),
        user_pk=user.pk,
        space_pk=user.space_pk,
        event=event,
        target_url=target_url,
        codebase_id=codebase_id,
        agent_type=agent_type,
        role=role,
        format=format,
        secret_sealed=signing.seal(secret, current_app.config["SECRET_KEY"]),
        oauth_client_pk=oauth_client_pk,
        created_at=utcnow(),
    )
    db.session.add(subscription)
    # The event, never the URL: its path or query may carry a receiver's own secret.
    audit.record(user, "hook.created", target=subscription.id, detail={"event": event})
    db.session.commit()
    return subscription, secret


def check_target(target_url: str) -> None:
    try:
        ssrf.check(target_url, current_app.config["HUB_WEBHOOK_ALLOW_NETWORKS"])
    except ssrf.Refused as refused:
        raise ValidationFailed("target_url", f"The URL {refused}.") from None


def list_hooks(user: User, *, scopes: Iterable[str] | None = None) -> list[Subscription]:
    """The subscriptions (active and disabled) of the user's space to events
    ``scopes`` may read, newest first."""
    query = (
        select(Subscription)
        .where(
            Subscription.space_pk == user.space_pk,
            Subscription.deleted_at.is_(None),
            Subscription.event.in_(readable_events(scopes)),
            Subscription.task_id.is_(None),  # a task's callback is the task's (hub.services.callbacks)
        )
        .order_by(Subscription.pk.desc())
    )
    return list(db.session.scalars(query))


def get_hook(user: User, hook_id: str, *, scopes: Iterable[str] | None = None) -> Subscription:
    """One of the subscriptions of the user's space, deleted ones included
    (their delivery log stays readable); refused unless ``scopes`` may read
    its event."""
    subscription = db.session.scalar(
        select(Subscription).where(
            Subscription.id == hook_id, Subscription.space_pk == user.space_pk, Subscription.task_id.is_(None)
        )
    )
    if subscription is None:
        raise NotFound(f"No hook '{hook_id}'.")
    check_event_scope(subscription.event, scopes)
    return subscription


def unsubscribe(user: User, hook_id: str, *, scopes: Iterable[str] | None = None) -> Subscription:
    """Delete a subscription; deleting it again is a no-op (Zapier may
    unsubscribe a hook the hub already dropped after a 410). A member
    deletes their own; another member's needs an admin of the space."""
    spaces.require_role(user, "work")
    begin_write()
    subscription = get_hook(user, hook_id, scopes=scopes)
    if subscription.user_pk != user.pk:
        spaces.require_role(user, "manage")
    if subscription.deleted_at is None:
        subscription.deleted_at = utcnow()
        audit.record(user, "hook.deleted", target=subscription.id, detail={"event": subscription.event})
    db.session.commit()
    return subscription


def end_app_subscriptions(client_pk: int, user: User | None = None, *, space_pk: int | None = None) -> None:
    """Delete the subscriptions an OAuth app's tokens made (for one user, or
    all; in one space, or every one): a disconnected app's Zaps must stop
    receiving data. The caller commits."""
    condition = (Subscription.oauth_client_pk == client_pk) & Subscription.deleted_at.is_(None)
    if user is not None:
        condition &= Subscription.user_pk == user.pk
    if space_pk is not None:
        condition &= Subscription.space_pk == space_pk
    db.session.execute(update(Subscription).where(condition).values(deleted_at=utcnow()))


def list_deliveries(
    user: User, hook_id: str, *, page: int = 0, limit: int = 50, scopes: Iterable[str] | None = None
) -> Page[Delivery]:
    """A page of the hook's deliveries, newest first, each with its attempts."""
    subscription = get_hook(user, hook_id, scopes=scopes)
    query = (
        select(Delivery)
        .where(Delivery.subscription_pk == subscription.pk)
        .options(selectinload(Delivery.attempt_log))
        .order_by(Delivery.pk.desc())
    )
    return fetch_page(paged(query), page=page, limit=limit)


def recent_deliveries(subscriptions: list[Subscription], *, per_hook: int = 5) -> dict[int, list[Delivery]]:
    """The newest ``per_hook`` deliveries of each subscription (by ``pk``),
    in one query: a union of one index-backed ``LIMIT`` per hook, so a long
    delivery history costs nothing (callers pass at most a page of hooks)."""
    if not subscriptions:
        return {}
    newest = [
        select(Delivery.pk)
        .where(Delivery.subscription_pk == s.pk)
        .order_by(Delivery.pk.desc())
        .limit(per_hook)
        .subquery()
        for s in subscriptions
    ]
    pks = union_all(*[select(sub.c.pk) for sub in newest]) if len(newest) > 1 else select(newest[0].c.pk)
    found: dict[int, list[Delivery]] = {s.pk: [] for s in subscriptions}
    for delivery in db.session.scalars(select(Delivery).where(Delivery.pk.in_(pks)).order_by(Delivery.pk.desc())):
        found[delivery.subscription_pk].append(delivery)
    return found


def get_delivery(user: User | None, delivery_id: str, *, lock: bool = False) -> Delivery:
    query = select(Delivery).where(Delivery.id == delivery_id).options(selectinload(Delivery.attempt_log))
    if lock:
        query = query.with_for_update(of=Delivery)
    if user is not None:
        query = query.join(Subscription, Delivery.subscription_pk == Subscription.pk).where(
            Subscription.space_pk == user.space_pk
        )
    delivery = db.session.scalar(query)
    if delivery is None:
        raise NotFound(f"No delivery '{delivery_id}'.")
    return delivery


def replay(user: User | None, delivery_id: str, *, scopes: Iterable[str] | None = None) -> Delivery:
    """Send a delivery again, same ``webhook-id`` and body, with a fresh
    retry schedule. A disabled subscription is enabled again: its owner
    asked for it. ``user`` None: an admin, any user's delivery."""
    if user is not None:
        spaces.require_role(user, "work")
    begin_write()
    delivery = get_delivery(user, delivery_id, lock=True)
    subscription = delivery.subscription
    check_event_scope(subscription.event, scopes)
    if subscription.deleted_at:
        raise Conflict(f"Hook '{subscription.id}' was deleted; its deliveries cannot be replayed.", code="hook_deleted")
    if not states.allowed(delivery.status, "retrying", replay=True):  # `sending` or `retrying`
        raise Conflict(f"Delivery '{delivery.id}' is already {delivery.status}.", code="delivery_in_progress")
    now = utcnow()
    if subscription.disabled_at:
        subscription.disabled_at = None
        subscription.failing_since = None
        subscription.failure_count = 0
    states.transition(delivery, "retrying", replay=True, now=now, schedule_start=delivery.attempts, next_attempt_at=now)
    db.session.commit()
    try:
        dispatch.enqueue_attempt(delivery.id, delivery.attempts + 1)
    except redis.RedisError as error:
        log.warning("Redis unavailable (%s); the sweeper will send replay %s", type(error).__name__, delivery.id)
    return delivery


def failed_deliveries(*, limit: int = 100) -> list[Delivery]:
    """Admin: deliveries that failed for good, newest first."""
    return latest_deliveries(failed=True, limit=limit)


def latest_deliveries(*, failed: bool = False, limit: int = 100) -> list[Delivery]:
    """Admin: the latest deliveries of every user, newest first; with
    ``failed``, only those that failed for good."""
    query = (
        select(Delivery)
        .options(selectinload(Delivery.attempt_log), joinedload(Delivery.subscription).joinedload(Subscription.user))
        .order_by(Delivery.updated_at.desc(), Delivery.pk.desc())
        .limit(limit)
    )
    if failed:
        query = query.where(Delivery.status == "failed")
    return list(db.session.scalars(query))


def replay_subscription(hook_id: str) -> list[Delivery]:
    """Admin: replay every failed delivery of one subscription."""
    subscription = db.session.scalar(select(Subscription).where(Subscription.id == hook_id))
    if subscription is None:
        raise NotFound(f"No hook '{hook_id}'.")
    ids = db.session.scalars(
        select(Delivery.id)
        .where(Delivery.subscription_pk == subscription.pk, Delivery.status == "failed")
        .order_by(Delivery.pk)
    ).all()
    db.session.commit()
    return [replay(None, delivery_id) for delivery_id in ids]
