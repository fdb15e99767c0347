"""The delivery worker (``codetether-hub delivery-worker``): RQ runs the
delivery jobs, the sweeper runs beside them, and the lanes send."""

from __future__ import annotations

import gc

from flask import Flask

from hub import jobs
from hub.webhooks import in_flight, lanes
from hub.webhooks.sweeper import Sweeper

STOP_GRACE_SECONDS = 2.0


class DeliveryWorker(jobs.ListeningWorker):
    """On SIGTERM/SIGINT RQ lets the job in hand finish (warm shutdown); a
    webhook send that hangs would hold the stop up to its timeout for each
    round of sends. So sends still in flight after STOP_GRACE_SECONDS are
    cut and their deliveries handed back (hub/webhooks/in_flight.py)."""

    def handle_warm_shutdown_request(self):
        super().handle_warm_shutdown_request()
        in_flight.stop_after(STOP_GRACE_SECONDS)


def run_worker(app: Flask) -> None:
    """Run delivery jobs until SIGINT/SIGTERM, with the sweeper beside them.

    SimpleWorker runs jobs in this process: RQ's default worker forks per
    job, many times slower on these small jobs (see bench/README.md, "The
    benchmarks": RQ no-op jobs). Through a Redis outage the worker starts
    again (``jobs.work``).
    """
    sweeper = Sweeper(app)
    sweeper.start()
    try:
        jobs.work(
            lambda: DeliveryWorker(
                [jobs.queue(name, app) for name in jobs.QUEUE_NAMES], connection=jobs.connection(app)
            )
        )
    finally:
        sweeper.stop()
        # Jobs hand their attempts to the lanes and return at once: let what
        # the lanes hold be sent and recorded (sends still hung are cut by
        # hub/webhooks/in_flight.py).
        lanes.settle(app, app.config["HUB_WEBHOOK_TIMEOUT"] + 5)
        gc.freeze()  # skip the exit's collection of every object: a faster stop
