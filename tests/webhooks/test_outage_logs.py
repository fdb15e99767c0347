"""A fault that lasts is logged when it starts and when it clears, not at
every request or loop turn that meets it (a 10 s Redis outage once wrote
about 880 warning lines; a stopped PostgreSQL a traceback every second)."""

import logging
import re
import time

from support import wait_for
from support.delivery import subscribe, wait_dispatched

from hub.logs import Fault


def about_redis(lines):
    """Lines about Redis being down (not, say, the sweeper's report of what
    it enqueued afterwards)."""
    return [
        line
        for line in lines
        if "Redis" in line
        and any(word in line for word in ("unavailable", "unreachable", "could not connect", "lost", "cleared"))
    ]


def test_a_redis_outage_is_logged_once_by_the_web_and_by_the_worker(
    own_redis, app, alice, receiver, start_delivery_worker, caplog
):
    subscribe(alice, receiver)
    worker = start_delivery_worker()
    alice.create_task()
    receiver.wait_for(1)

    own_redis.stop()
    caplog.set_level(logging.INFO, logger="hub")
    for i in range(20):
        alice.create_task(title=f"during {i}")  # still 201s
        assert alice.client.get("/metrics").status_code == 200  # a scrape, without the queue depth
    wait_for(lambda: about_redis(worker.lines()), 10, message="the worker to notice the outage")
    # The outage lasting two seconds is the scenario: the worker's sweeper
    # (every 0.1 s here) and its RQ loop (every second) meet it again and
    # again meanwhile (its "cleared" line counts them, below).
    time.sleep(2)
    own_redis.start()

    alice.create_task(title="after")
    assert alice.client.get("/metrics").status_code == 200
    receiver.wait_for(22, timeout=30)  # nothing lost, and no one restarted anything
    wait_dispatched(app)
    web = about_redis(r.getMessage() for r in caplog.records if r.name == "hub.after_commit")
    assert len(web) == 2, web  # the first create during the outage, and the one after
    assert "left for the sweeper" in web[0] and "cleared" in web[1]
    scrapes = [r.getMessage() for r in caplog.records if r.name == "hub.metrics"]
    assert len(scrapes) == 2 and "cleared" in scrapes[1], scrapes  # 20 scrapes met it
    # Each other part that met the outage says so once (the credential
    # cache, the rate limiter): 21 requests, not 21 lines each.
    assert len(about_redis(r.getMessage() for r in caplog.records)) <= 5
    wait_for(
        lambda: any("cleared" in line for line in about_redis(worker.lines())),
        15,
        message="the worker to log that the outage is over",
    )
    logged = about_redis(worker.lines())
    assert len(logged) == 2, "\n".join(logged)  # when it started, and when it cleared
    assert int(re.search(r"\((\d+) occurrence", logged[1]).group(1)) >= 10, logged[1]  # met again and again


def test_a_fault_is_summarised_at_most_every_30_seconds():
    lines = []
    now = [0.0]

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    log = logging.getLogger("tests.fault")
    log.addHandler(Collect())
    fault = Fault(log, "Redis unavailable", clock=lambda: now[0])
    fault.cleared()  # nothing to clear: silent
    for second in range(95):  # a request every half second for 95 s
        for _ in range(2):
            now[0] = float(second)
            fault.happened("event left for the sweeper", ConnectionError("refused"))
    fault.cleared()
    fault.cleared()
    assert lines == [
        "Redis unavailable (ConnectionError): event left for the sweeper",
        "Redis unavailable (ConnectionError): event left for the sweeper; still failing after 30 s, "
        "60 more time(s) in the last 30 s",
        "Redis unavailable (ConnectionError): event left for the sweeper; still failing after 60 s, "
        "60 more time(s) in the last 30 s",
        "Redis unavailable (ConnectionError): event left for the sweeper; still failing after 90 s, "
        "60 more time(s) in the last 30 s",
        "Redis unavailable: cleared after 94 s (190 occurrence(s))",
    ]
