"""The sends a delivery worker has in flight, so that a stopping worker
cuts them short and hands their deliveries back at once, instead of waiting
on a hung receiver (up to the webhook timeout per round of sends) or leaving
them to the sweeper when their lease lapses.

On SIGTERM ``codetether-hub delivery-worker`` calls ``stop_after(grace)``: sends
that finish within ``grace`` seconds are recorded as usual; after that, any
batch still sending (or about to) is handed back: the delivery is `retrying`
again, due now, its attempt logged as cut, and the process exits without
waiting for the sockets. A receiver that got the request before the cut is
sent it again (same webhook-id): at least once, as after any crash.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import insert

from hub.db import begin_write, db, utcnow
from hub.models import Delivery, DeliveryAttempt
from hub.webhooks import states

log = logging.getLogger(__name__)

CUT = "The worker stopped during this attempt (the hub was stopping); retried."

_lock = threading.Lock()
_batches: dict[int, list] = {}
_cut = False
_app: Flask | None = None


@contextmanager
def sending(planned: list, app: Flask):
    """Around the sends of one batch of claimed attempts."""
    global _app
    with _lock:
        _app = app
        if _cut:
            _hand_back_and_exit(planned)
        _batches[id(planned)] = planned
    try:
        yield
    finally:
        with _lock:
            _batches.pop(id(planned), None)


def stop_after(grace: float) -> None:
    """The worker is stopping: cut what is still sending after ``grace``."""
    timer = threading.Timer(grace, _cut_now)
    timer.daemon = True
    timer.start()


def _cut_now() -> None:
    global _cut
    with _lock:
        _cut = True
        planned = [item for batch in _batches.values() for item in batch]
        if planned:
            _hand_back_and_exit(planned)


def _hand_back_and_exit(planned: list) -> None:
    """With _lock held (so no batch records its outcome meanwhile)."""
    try:
        assert _app is not None, "sending() sets it before any batch is registered"
        with _app.app_context():
            count = hand_back(planned)
        log.warning("stopping: cut %d send(s) in flight; their deliveries are due again now", count)
    except Exception:
        log.exception(
            "stopping: could not hand back the deliveries in flight; the sweeper retries them when their lease lapses"
        )
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # the send threads may be stuck in a socket read


def hand_back(planned: list) -> int:
    """Deliveries whose attempt is still held (not recorded meanwhile) go
    back to `retrying`, due now, the attempt logged as cut."""
    begin_write()
    now = utcnow()
    cut = []
    for item in planned:
        taken = db.session.scalar(
            states.moving("sending", "retrying", now)
            .where(Delivery.pk == item.delivery_pk, Delivery.attempts == item.number)
            .values(next_attempt_at=now, last_error=CUT)
            .returning(Delivery.pk)
        )
        if taken is not None:
            cut.append({"delivery_pk": item.delivery_pk, "number": item.number, "started_at": now, "error": CUT})
    if cut:
        db.session.execute(insert(DeliveryAttempt), cut)
    db.session.commit()
    return len(cut)
