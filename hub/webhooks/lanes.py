"""Sending without waiting on the slowest receiver: in each worker process,
every endpoint (target URL) has a lane of its own.

A dispatch batch used to wait on its slowest send, so one receiver hanging
until its timeout held back every other endpoint's deliveries (see
bench/README.md, The benchmarks: `isolation`). Svix and Hookdeck isolate endpoints instead: a
delivery waits only behind deliveries to its own endpoint, and an endpoint
that hangs or fails is throttled on its own. Here:

- a lane sends at most HUB_WEBHOOK_CONCURRENCY at once; after a send that
  got no answer (timed out, refused) it sends one at a time until one is
  answered, so a hung endpoint soon holds a single thread;
- sends run on one pool of MAX_SENDS threads, handed to it only when their
  lane has room, so the pool's queue holds only sends that can go now;
- a job hands its attempts over and returns (``submit``); it waits only
  while lanes that are moving have MAX_RUNNABLE attempts queued, never on a
  stalled one (STALL_SECONDS without a finished send, every slot busy);
- a stalled lane queues at most PARKED attempts; past that, attempts go
  back to the database unsent (``outcomes.release``), due a while later;
- one thread records outcomes as they come, a handful per transaction, and
  renews the lease of every delivery the process holds every third of
  HUB_WEBHOOK_LEASE_SECONDS: a live worker keeps its deliveries however slow the
  receiver (no second send), and a killed worker's are retried by the
  sweeper within HUB_WEBHOOK_LEASE_SECONDS seconds.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import Flask

from hub.db import utcnow
from hub.logs import Fault
from hub.webhooks import in_flight, outcomes, signing
from hub.webhooks.sender import Outcome, Post, for_config

if TYPE_CHECKING:
    from hub.webhooks.delivery import Planned

log = logging.getLogger(__name__)

MAX_SENDS = 64  # threads a worker process sends on, across all endpoints
MAX_RUNNABLE = 400  # attempts queued in moving lanes before a job waits
PARKED = 1000  # attempts a stalled lane keeps; more go back to the database
STALL_SECONDS = 1.0
RECORD_BATCH = 500
RECORD_FAILED = Fault(log, "recording delivery outcomes failed; will try again")
RENEW_FAILED = Fault(log, "renewing delivery leases failed; will try again")


@dataclass(eq=False)
class Attempt:
    """One claimed attempt on its way through a lane."""

    planned: Planned
    body: bytes | None  # None: decided without sending (``outcome`` is set)
    checked: dict  # the SSRF check's answers, shared by one job's attempts
    outcome: Outcome | None = None
    started_at: datetime = field(default_factory=utcnow)
    handed: Handed | None = None

    def result(self) -> Outcome:
        """The outcome of a finished attempt (sent, or decided without sending)."""
        assert self.outcome is not None, f"delivery {self.planned.delivery_id}: recorded before it finished"
        return self.outcome


class Handed:
    """The attempts of one ``submit``, registered with ``in_flight`` (which
    hands them back if the worker stops before they are recorded) until the
    last of them is recorded or sent back."""

    def __init__(self, attempts: list[Attempt], app: Flask):
        self.left = len(attempts)
        self.registration = in_flight.sending([a.planned for a in attempts], app)
        self.registration.__enter__()
        for attempt in attempts:
            attempt.handed = self

    lock = threading.Lock()

    @classmethod
    def settled(cls, attempts: list[Attempt]) -> None:
        """These are recorded or back in the database (call without locks)."""
        finished = []
        with cls.lock:
            for attempt in attempts:
                handed, attempt.handed = attempt.handed, None
                if handed is not None:
                    handed.left -= 1
                    if handed.left == 0:
                        finished.append(handed)
        for handed in finished:
            handed.registration.__exit__(None, None, None)


@dataclass(eq=False)
class Lane:
    waiting: deque = field(default_factory=deque)
    in_flight: int = 0
    unanswered: bool = False  # the last send got no answer
    moved_at: float = field(default_factory=time.monotonic)  # last send finished (or the lane opened)
    put_back: Fault | None = None  # logs attempts put back while the endpoint stalls

    def room(self, concurrency: int) -> bool:
        return self.in_flight < (1 if self.unanswered else concurrency)

    def stalled(self, now: float, concurrency: int) -> bool:
        return not self.room(concurrency) and now - self.moved_at > STALL_SECONDS


class Lanes:
    """A worker process's lanes for one app (see the module's docstring)."""

    def __init__(self, app: Flask):
        config = app.config
        self.app = app
        self.sender = for_config(config, MAX_SENDS)
        self.secret_key = config["SECRET_KEY"]
        self.concurrency = max(1, config["HUB_WEBHOOK_CONCURRENCY"])
        self.lease = config["HUB_WEBHOOK_LEASE_SECONDS"]
        self.park_delay = max(config["HUB_WEBHOOK_TIMEOUT"], 30.0)
        self.cond = threading.Condition()
        self.lanes: dict[str, Lane] = {}
        self.held: dict[tuple[int, int], Attempt] = {}  # (delivery pk, attempt number) -> attempt
        self.done: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        self.pool = ThreadPoolExecutor(MAX_SENDS, thread_name_prefix="webhook")
        threading.Thread(target=self._keep, name="webhook-keeper", daemon=True).start()

    # -- handing attempts over --------------------------------------------

    def submit(self, attempts: list[Attempt]) -> None:
        """Queue claimed attempts on their lanes; returns once they are
        queued (after waiting, if moving lanes are full)."""
        if not attempts:
            return
        Handed(attempts, self.app)
        parked_out, lane_of = [], {}
        with self.cond:
            while self._runnable() >= MAX_RUNNABLE:
                self.cond.wait(0.05)  # lanes stall with time, not only on a send's end
            now = time.monotonic()
            for attempt in attempts:
                item = attempt.planned
                self.held[(item.delivery_pk, item.number)] = attempt
                if attempt.outcome is not None:  # decided without sending (a formatter failed)
                    self.done.put(attempt)
                    continue
                lane = self.lanes.get(item.target_url)
                if lane is None:
                    lane = self.lanes[item.target_url] = Lane()
                if len(lane.waiting) >= PARKED and lane.stalled(now, self.concurrency):
                    parked_out.append(attempt)
                    lane_of[item.target_url] = lane
                    continue
                lane.waiting.append(attempt)
                self._pump(item.target_url, lane)
        if parked_out:
            self._send_back(parked_out, lane_of)

    def _runnable(self) -> int:
        now = time.monotonic()
        return sum(len(lane.waiting) for lane in self.lanes.values() if not lane.stalled(now, self.concurrency))

    def _pump(self, url: str, lane: Lane) -> None:
        """Start what the lane has room for (with the lock held)."""
        while lane.waiting and lane.room(self.concurrency):
            lane.in_flight += 1
            self.pool.submit(self._send, url, lane, lane.waiting.popleft())

    def _send_back(self, attempts: list[Attempt], lane_of: dict[str, Lane]) -> None:
        """A stalled lane is full: these go back to the database unsent,
        due once the endpoint has had time to recover."""
        due = utcnow() + timedelta(seconds=self.park_delay * random.uniform(0.8, 1.2))
        try:
            with self.app.app_context():
                outcomes.release([a.planned for a in attempts], due)
        except Exception:  # their leases lapse instead, and the sweeper retries them
            log.exception("could not hand %d attempt(s) back to the database", len(attempts))
        with self.cond:
            for attempt in attempts:
                self.held.pop((attempt.planned.delivery_pk, attempt.planned.number), None)
        Handed.settled(attempts)
        for url, lane in lane_of.items():
            mine = [a.planned for a in attempts if a.planned.target_url == url]
            with self.cond:
                if lane.put_back is None:  # a callback's URL is a secret: its shown form
                    lane.put_back = Fault(
                        log, f"{mine[0].shown_url} stalls: delivery attempts put back in the database"
                    )
            count = len(mine)
            lane.put_back.happened(f"{count} more, due again in about {self.park_delay:.0f} s")

    # -- sending ----------------------------------------------------------

    def _send(self, url: str, lane: Lane, attempt: Attempt) -> None:
        try:
            attempt.started_at = utcnow()
            item = attempt.planned
            assert attempt.body is not None, "only attempts with a body are queued on a lane"
            # Signed as it goes out: a timestamp from when it was queued
            # could be stale for a receiver by then.
            secret = signing.unseal(item.secret_sealed, self.secret_key)
            headers = signing.headers(secret, item.event.id, int(time.time()), attempt.body)
            if item.headers_sealed:  # a callback's caller's own (never logged); ours win
                headers = {**signing.unseal_headers(item.headers_sealed, self.secret_key), **headers}
            attempt.outcome = self.sender.send(Post(url, attempt.body, headers), attempt.checked)
        except Exception as error:  # never lose an attempt to a bug: it is logged and retried
            log.exception("sending delivery %s failed", attempt.planned.delivery_id)
            attempt.outcome = Outcome(None, 0.0, f"Not sent: {type(error).__name__} in the worker.")
        finally:
            with self.cond:
                lane.in_flight -= 1
                lane.moved_at = time.monotonic()
                lane.unanswered = attempt.outcome is None or attempt.outcome.status_code is None
                if lane.put_back is not None and not lane.unanswered:
                    lane.put_back.cleared()  # it answers again
                self._pump(url, lane)
                if not lane.waiting and not lane.in_flight and self.lanes.get(url) is lane:
                    del self.lanes[url]
                self.cond.notify_all()
            self.done.put(attempt)

    # -- recording and leases -----------------------------------------------

    def _keep(self) -> None:
        """Record finished attempts in batches; renew held leases."""
        renew_every = max(self.lease / 3, 0.05)
        renew_at = time.monotonic() + renew_every
        finished: list[Attempt] = []
        while True:
            try:
                finished.append(self.done.get(timeout=max(0.0, renew_at - time.monotonic())))
                while len(finished) < RECORD_BATCH:
                    finished.append(self.done.get_nowait())
            except queue.Empty:
                pass
            if finished:
                finished = self._record(finished)
            if time.monotonic() >= renew_at:
                self._renew()
                renew_at = time.monotonic() + renew_every

    def _record(self, finished: list[Attempt]) -> list[Attempt]:
        """Record outcomes; returns what is left to record (on failure)."""
        try:
            with self.app.app_context():
                outcomes.record(
                    [a.planned for a in finished],
                    [a.result() for a in finished],
                    [a.started_at for a in finished],
                    self.app.config,
                )
            RECORD_FAILED.cleared()
        except Exception as error:  # the database is down, say: try again shortly
            RECORD_FAILED.happened(f"{len(finished)} outcome(s) waiting", error, exc_info=True)
            time.sleep(1)
            return finished
        with self.cond:
            for attempt in finished:
                self.held.pop((attempt.planned.delivery_pk, attempt.planned.number), None)
        Handed.settled(finished)
        return []

    def _renew(self) -> None:
        with self.cond:
            held = [a.planned for a in self.held.values()]
        if not held:
            return
        try:
            with self.app.app_context():
                outcomes.renew(held, utcnow() + timedelta(seconds=self.lease))
            RENEW_FAILED.cleared()
        except Exception as error:
            RENEW_FAILED.happened(f"{len(held)} lease(s)", error)

    def holding(self) -> int:
        with self.cond:
            return len(self.held)

    def settle(self, timeout: float) -> bool:
        """Wait until every attempt held is sent and recorded (a stopping
        worker; sends still hung are ``in_flight``'s to cut). True if so."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.held and (left := deadline - time.monotonic()) > 0:
                self.cond.wait(min(left, 0.05))
            return not self.held


def settle(app: Flask, timeout: float) -> bool:
    """As ``Lanes.settle``, for a process that may never have sent."""
    found = app.extensions.get("hub_lanes")
    return found is None or found.settle(timeout)


def lanes(app: Flask) -> Lanes:
    """This process's lanes for ``app``."""
    found = app.extensions.get("hub_lanes")
    if found is None:
        with _CREATE:
            found = app.extensions.get("hub_lanes")
            if found is None:
                found = app.extensions["hub_lanes"] = Lanes(app)
    return found


_CREATE = threading.Lock()
