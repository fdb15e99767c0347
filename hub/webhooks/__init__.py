"""Events and REST-hook delivery.

commit (services record Event rows: the outbox)
  -> dispatch: after commit, a job for the waiting events  (dispatch.py, called
               in the commit's round trip by hub/after_commit.py)
  -> delivery: the delivery worker (worker.py) fans out to subscriptions, one
               lane per endpoint, signs, POSTs, logs   (delivery.py, lanes.py, sender.py,
               signing.py, ssrf.py, formatters.py, outcomes.py)
  -> retries:  backoff with jitter; the sweeper enqueues what is due and
               whatever never reached Redis                   (retry.py, sweeper.py)

A delivery's status changes only through states.py; in_flight.py hands back
the deliveries of a worker told to stop.
"""
