"""The batched moving window (hub/moving_window.py) on its own, on the real
Redis: how many requests a process admits without asking, what it reports
for them, that every hit it admitted reaches Redis (also those admitted
while a recording is out), that a forked worker starts afresh, and how
queued calls give up when Redis does not answer."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from flask import Flask
from limits import parse, parse_many
from limits.storage import storage_from_string
from support import wait_for

from hub.logs import Fault
from hub.moving_window import BatchedMovingWindow

pytestmark = pytest.mark.sqlite_only  # Redis only

MINUTE = parse("320/minute")  # (320 - 1) // SHARE: 9 requests admitted without asking after the first


@pytest.fixture
def store(redis_server):
    return redis.Redis.from_url(redis_server.url)


@pytest.fixture
def windows(redis_server):
    """``windows(record_within=None, **storage options)``: a new BatchedMovingWindow (one
    per process in the hub) and its Fault; timers left pending are cancelled."""
    made = []

    def make(record_within: float | None = None, **options):
        fault = Fault(logging.getLogger("test.moving_window"), "redis down")
        strategy = BatchedMovingWindow(storage_from_string(redis_server.url, **options), fault)
        if record_within is not None:  # e.g. 60: admitted hits stay unrecorded while the test runs
            strategy.RECORD_WITHIN = record_within
        made.append(strategy)
        return strategy, fault

    yield make
    for strategy in made:
        timer = strategy._timer
        if timer is not None:
            timer.cancel()


def script_calls(store) -> int:
    return sum(v["calls"] for k, v in store.info("commandstats").items() if k.startswith("cmdstat_eval"))


def recorded(store, strategy, item, who) -> int:
    return store.llen(strategy._prefixed(item.key_for(who)))


def test_after_asking_redis_a_process_admits_a_share_of_what_is_left_then_asks_again(windows, store):
    strategy, _ = windows(record_within=60)  # only requests' calls counted here, not the timer's
    who = uuid.uuid4().hex
    strategy.hit(parse("5/minute"), uuid.uuid4().hex)  # the script loaded (its first call is two commands)
    before = script_calls(store)
    answers = [strategy.acquire((MINUTE,), who) for _ in range(10)]
    assert script_calls(store) - before == 1  # the first asked; nine admitted here
    assert [(item, window.remaining, refused) for item, window, refused in answers] == [
        (MINUTE, 320 - n, False) for n in range(1, 11)
    ]
    strategy.acquire((MINUTE,), who)
    assert script_calls(store) - before == 2  # its share spent: the eleventh asks


def test_recording_the_admitted_hits_renews_the_share(windows, store):
    strategy, _ = windows()
    who = uuid.uuid4().hex
    for _ in range(5):
        strategy.acquire((MINUTE,), who)  # one asked, four admitted here (of nine)
    wait_for(lambda: recorded(store, strategy, MINUTE, who) == 5, message="the four to be recorded")
    wait_for(lambda: strategy._timer is None, message="the recording to end")
    strategy.RECORD_WITHIN = 60  # no more recordings: only requests' calls counted below
    before = script_calls(store)
    for _ in range(9):
        strategy.acquire((MINUTE,), who)
    assert script_calls(store) == before  # (320 - 5) // SHARE: nine more admitted here


def test_a_request_admitted_without_asking_reports_its_shortest_window(windows):
    strategy, _ = windows(record_within=60)
    items = tuple(sorted(parse_many("320/minute;10000/hour"), key=lambda item: item.get_expiry()))
    who = uuid.uuid4().hex
    asked = strategy.acquire(items, who)
    admitted = strategy.acquire(items, who)
    assert (asked[0], asked[1].remaining) == (items[0], 319)
    assert (admitted[0], admitted[1].remaining, admitted[2]) == (items[0], 318, False)
    assert admitted[1].reset_time == asked[1].reset_time


def test_a_per_address_limit_asks_redis_once_and_its_window_is_the_hits(windows, store):
    strategy, _ = windows()
    item, who = parse("5/minute"), uuid.uuid4().hex
    assert strategy.hit(item, who) and strategy.get_window_stats(item, who).remaining == 4  # no request: no g
    with Flask(__name__).app_context():
        before = script_calls(store)
        assert strategy.hit(item, who)
        assert strategy.get_window_stats(item, who).remaining == 3
        assert script_calls(store) - before == 1  # the window kept from the hit, not read again


def test_hits_admitted_while_a_recording_is_out_are_recorded_too(windows, store):
    strategy, _ = windows()
    who = uuid.uuid4().hex
    strategy.acquire((MINUTE,), who)  # asks Redis
    store.execute_command("CLIENT", "PAUSE", 20000, "WRITE")  # scripts wait: the recording stays out
    try:
        strategy.acquire((MINUTE,), who)  # admitted here: the timer records it within RECORD_WITHIN
        wait_for(lambda: not strategy._unrecorded, message="the timer to take the hit out to Redis")
        strategy.acquire((MINUTE,), who)  # admitted while that recording is out
        strategy.acquire((MINUTE,), who)
    finally:
        store.execute_command("CLIENT", "UNPAUSE")
    wait_for(lambda: recorded(store, strategy, MINUTE, who) == 4, message="all four hits to be recorded")


def _in_child(act) -> int:
    """``act()`` in a forked process (a worker forked from a preloaded app); its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 1
        try:
            os.close(read)
            os.write(write, str(act()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as answer:
        value = answer.read()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    return int(value)


def test_a_forked_worker_neither_records_its_parents_hits_nor_spends_its_budget(windows, store):
    strategy, _ = windows(record_within=60)  # the parent's admitted hits stay unrecorded while the children run
    who, other = uuid.uuid4().hex, uuid.uuid4().hex
    for _ in range(3):
        strategy.acquire((MINUTE,), who)  # one asked Redis, two admitted here
    assert _in_child(lambda: int(strategy.hit(parse("5/minute"), other))) == 1
    assert recorded(store, strategy, MINUTE, who) == 1  # the parent's two are the parent's to record
    remaining = _in_child(lambda: strategy.acquire((MINUTE,), who)[1].remaining)
    assert remaining == 320 - 2  # asked Redis: its own hit and the one recorded
    assert recorded(store, strategy, MINUTE, who) == 2


def test_a_pending_recording_does_not_keep_the_process_from_exiting(windows):
    strategy, _ = windows(record_within=60)
    who = uuid.uuid4().hex
    strategy.acquire((MINUTE,), who)
    strategy.acquire((MINUTE,), who)  # admitted here: a recording pending
    pending = [t for t in threading.enumerate() if t.name == "hub-limit-record" and t.is_alive()]
    assert pending and all(t.daemon for t in pending)  # a worker exits without waiting for it


def test_each_user_keeps_their_share_while_others_ask(windows, store):
    strategy, _ = windows(record_within=60)
    users = [uuid.uuid4().hex for _ in range(3)]
    strategy.hit(parse("5/minute"), uuid.uuid4().hex)  # the script loaded
    before = script_calls(store)
    for who in users:
        strategy.acquire((MINUTE,), who)  # each asks once
    for who in users:
        strategy.acquire((MINUTE,), who)  # each admitted here
    assert script_calls(store) - before == 3


def test_an_answer_from_redis_ends_the_outage(windows):
    strategy, fault = windows()
    fault.happened("a call failed")
    assert fault.since is not None
    strategy.hit(parse("5/minute"), uuid.uuid4().hex)
    assert fault.since is None


def call(strategy: BatchedMovingWindow, errors: dict[str, BaseException], name: str) -> None:
    """A rate limit call (a hit for someone new); what it raised kept in ``errors`` for the assertions."""
    try:
        strategy.hit(parse("5/minute"), uuid.uuid4().hex)
    except BaseException as error:
        errors[name] = error


@contextmanager
def redis_holding_a_call(strategy, store, errors) -> Iterator[threading.Thread]:
    """Redis holds writes (its scripts wait) while the call "ahead", on a thread of
    its own, goes out to it: yields that thread once the call is out."""
    store.execute_command("CLIENT", "PAUSE", 20000, "WRITE")
    ahead = threading.Thread(target=call, args=(strategy, errors, "ahead"))
    try:
        ahead.start()
        wait_for(strategy._calling.locked, message="the first call to go out")
        yield ahead
    finally:
        store.execute_command("CLIENT", "UNPAUSE")
        ahead.join(30)


def test_calls_queued_behind_one_redis_does_not_answer_give_up_without_calling(windows, store):
    strategy, _ = windows(socket_timeout=3.0)  # time for the second call to queue on a busy machine
    strategy.CALL_WAIT = 30  # only the failure of the call ahead ends the wait here
    errors: dict[str, BaseException] = {}
    with redis_holding_a_call(strategy, store, errors) as ahead:
        behind = threading.Thread(target=call, args=(strategy, errors, "behind"))
        behind.start()
        ahead.join(30)
        behind.join(30)
    assert isinstance(errors["ahead"], redis.exceptions.TimeoutError)
    assert type(errors["behind"]) is TimeoutError, errors["behind"]  # gave up: no call of its own
    assert "did not answer this process's last rate limit call" in str(errors["behind"])
    strategy.CALL_WAIT = 1.0
    assert strategy.hit(parse("5/minute"), uuid.uuid4().hex)  # Redis answers again: so does the next call


def test_calls_queued_behind_one_redis_holds_give_up_after_the_call_wait(windows, store):
    strategy, _ = windows(socket_timeout=20)
    strategy.CALL_WAIT = 0.5
    errors: dict[str, BaseException] = {}
    with redis_holding_a_call(strategy, store, errors):
        call(strategy, errors, "behind")  # gives up while the first is still out
    assert type(errors["behind"]) is TimeoutError, errors["behind"]
    assert "has not answered this process's last rate limit call" in str(errors["behind"])
    assert "ahead" not in errors  # answered once Redis went on
