"""Live task changes: once a commit changes a task, a subscription in any
process hears which task and what changed; nothing before the commit, nothing
of another user's; one Redis connection per process however many subscribe;
while Redis is down, subscribers are told to re-read (poll) instead."""

import asyncio

import pytest
import redis
from support import wait_for

from hub import live
from hub.db import begin_write, db
from hub.services import accounts, tasks


def _changes(subscription, until, timeout=10.0):
    """Changes taken from ``subscription`` until ``until(changes)`` holds."""
    seen = []
    wait_for(lambda: seen.extend(subscription.get(0.2)) or until(seen), timeout, message="the change")
    return seen


@pytest.fixture
def users(app_ctx):
    return accounts.create_user("alice"), accounts.create_user("bob")


def test_a_committed_change_reaches_the_users_subscription(app, users):
    alice, bob = users
    with live.subscribe(alice.pk, app=app) as mine, live.subscribe(bob.pk, app=app) as theirs:
        task = tasks.create_task(alice, title="t", prompt="p")
        seen = _changes(mine, lambda seen: any(change.task_id == task.id for change in seen))
        assert live.Change(task.id, frozenset({live.STATUS})) in seen
        tasks.cancel_task(alice, task.id)
        _changes(mine, lambda seen: live.Change(task.id, frozenset({live.STATUS})) in seen)
        assert theirs.get(0.2) == []  # bob hears nothing of alice's tasks


def test_nothing_before_the_commit_and_nothing_of_a_rollback(app, users):
    alice, _ = users
    task, first_marker, second_marker = (tasks.create_task(alice, title=t, prompt="p") for t in "abc")

    def marked(marker):
        """Every change up to a commit on ``marker``: Redis delivers in order,
        so what was published before it has arrived too."""
        tasks.cancel_task(alice, marker.id)
        return _changes(mine, lambda seen: any(change.task_id == marker.id for change in seen))

    with live.subscribe(alice.pk, app=app) as mine:
        marked(first_marker)  # the creates' changes, published before we listened, are past
        begin_write()
        tasks.transition(tasks.get_task(alice, task.id), "cancelled")
        db.session.flush()
        db.session.rollback()
        assert all(change.task_id != task.id for change in marked(second_marker))
        tasks.cancel_task(alice, task.id)
        assert _changes(mine, bool) == [live.Change(task.id, frozenset({live.STATUS}))]


def test_a_task_subscription_hears_that_task_alone(app, users):
    alice, _ = users
    first = tasks.create_task(alice, title="one", prompt="p")
    second = tasks.create_task(alice, title="two", prompt="p")
    with live.subscribe(alice.pk, first.id, app=app) as one:
        tasks.cancel_task(alice, second.id)
        tasks.cancel_task(alice, first.id)
        assert {change.task_id for change in _changes(one, bool)} == {first.id}


def test_a_coroutine_waits_without_a_thread(app, users):
    alice, _ = users
    with live.subscribe(alice.pk, app=app) as mine:

        async def wait_while_a_task_is_created():
            waiting = asyncio.ensure_future(mine.next(10.0))
            await asyncio.sleep(0)  # the coroutine is waiting before the commit
            task = await asyncio.to_thread(_create_in_app, app, alice.username)
            return task, await waiting

        task_id, changes = asyncio.run(wait_while_a_task_is_created())
        assert live.Change(task_id, frozenset({live.STATUS})) in changes


def _create_in_app(app, username):
    with app.app_context():
        user = accounts.get_user(username)
        task_id = tasks.create_task(user, title="t", prompt="p").id
        db.session.remove()
        return task_id


def test_one_redis_connection_per_process_however_many_subscribe_and_none_once_they_leave(app, users):
    alice, bob = users
    subscriptions = [live.subscribe(user.pk, app=app) for user in (alice, bob) for _ in range(10)]
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    try:
        assert connection.pubsub_numpat() == 1
    finally:
        for subscription in subscriptions:
            subscription.close()
    # No one listens: the process lets its connection go (the next subscription opens it again).
    wait_for(lambda: connection.pubsub_numpat() == 0, 20, message="the idle feed to end")
    with live.subscribe(alice.pk, app=app):
        assert connection.pubsub_numpat() == 1


def test_while_redis_is_down_subscribers_poll_and_hear_again_once_it_is_back(own_redis, app, app_ctx, users):
    alice, _ = users
    with live.subscribe(alice.pk, app=app) as mine:
        own_redis.stop()
        _changes(mine, lambda seen: live.Change(None, frozenset({live.POLL})) in seen)
        task = tasks.create_task(alice, title="created meanwhile", prompt="p")  # the commit still succeeds
        own_redis.start()
        # Back: first a poll (re-read what was missed), then live changes again.
        _changes(mine, lambda seen: live.Change(None, frozenset({live.POLL})) in seen and live.feed(app).up, 20)
        tasks.cancel_task(alice, task.id)
        _changes(mine, lambda seen: live.Change(task.id, frozenset({live.STATUS})) in seen)


def test_the_connectors_hub_api_watches_the_users_own_tasks_only(app, users):
    from connectors.base import hub

    alice, bob = users
    task = hub.create_task(alice, title="t", prompt="p")
    with pytest.raises(hub.NotFound):
        hub.task_changes(bob, task["id"])
    with hub.task_changes(alice, task["id"]) as changes:
        hub.cancel_task(alice, task["id"])
        assert _changes(changes, bool) == [hub.TaskChange(task["id"], frozenset({live.STATUS}))]


def test_a_run_is_heard_step_by_step_output_and_the_reply_message_included(app, client, users):
    from hub.services import conversations, workers

    alice, _ = users
    task_id = conversations.send_message(alice, message="hello").task_id
    _token, plain = workers.create_token("live")
    db.session.remove()  # the worker API's requests write meanwhile
    headers = {"Authorization": f"Bearer {plain}"}

    def post(path, body):
        response = client.post("/api/v1/worker" + path, json=body, headers=headers)
        assert response.status_code == 200, response.json
        return response.json

    worker_id = post("/register", {"name": "w"})["worker_id"]
    with live.subscribe(alice.pk, task_id, app=app) as one:
        assert post(f"/{worker_id}/claim", {"wait": 0})["task"]["id"] == task_id
        assert _changes(one, bool) == [live.Change(task_id, frozenset({live.STATUS}))]
        post(f"/tasks/{task_id}/heartbeat", {"output": "step 1\n"})
        assert _changes(one, bool) == [live.Change(task_id, frozenset({live.OUTPUT}))]
        post(f"/tasks/{task_id}/heartbeat", {})  # a bare heartbeat changes nothing a subscriber shows
        post(f"/tasks/{task_id}/complete", {"result": "hi"})
        assert _changes(one, bool) == [live.Change(task_id, frozenset({live.STATUS, live.MESSAGE}))]
