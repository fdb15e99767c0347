"""A commit that records no event but makes a task pending again (a lapsed
lease) still wakes waiting agent workers: the PUBLISH is sent on its own."""

import redis
from support import wait_for

from hub import wakeups
from hub.db import begin_write, db


def test_a_commit_with_only_a_wakeup_publishes_it(app_ctx, app):
    listener = redis.Redis.from_url(app.config["REDIS_URL"]).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(wakeups.CHANNEL)
    try:
        wait_for(
            lambda: listener.get_message(timeout=0.05) is None and listener.subscribed, 5, message="the subscription"
        )
        begin_write()
        wakeups.after_commit()
        db.session.commit()
        message = wait_for(lambda: listener.get_message(timeout=0.1), 5, message="the wake-up")
        assert message["channel"] == wakeups.CHANNEL.encode()
    finally:
        listener.close()
