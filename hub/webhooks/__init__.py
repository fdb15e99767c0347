"""Events and REST-hook delivery.

commit (services record Event rows: the outbox)
  -> dispatch: after commit, a job for the waiting events  (dispatch.py, called
               in the commit's round trip by hub/after_commit.py)
  -> delivery: fan out to subscriptions, sign, POST, log    (delivery.py, sender.py,
               signing.py, ssrf.py, formatters.py, outcomes.py)
  -> retries:  backoff with jitter; the sweeper enqueues what is due and
               whatever never reached Redis                   (retry.py, sweeper.py)
"""
