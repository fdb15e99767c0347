"""Events and REST-hook delivery.

commit (services record Event rows: the outbox)
  -> dispatch: after commit, a job for the waiting events  (dispatch.py)
  -> delivery: fan out to subscriptions, sign, POST, log    (delivery.py, sender.py,
               signing.py, ssrf.py, formatters.py, outcomes.py)
  -> retries:  backoff with jitter; the sweeper enqueues what is due and
               whatever never reached Redis                   (retry.py, sweeper.py)
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.webhooks import dispatch, formatters  # noqa: F401  (formatters registers "standard")

    dispatch.install()
