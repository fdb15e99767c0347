"""The worker rules the worker API tests leave open: tokens (name, prefix,
order, revoking twice), registering again, claim filters one at a time,
what a heartbeat changes (and not on a finished task), leases taken back
by the sweeper's call, and which workers count as able to run a task."""

from datetime import timedelta

import pytest
from support import wait_for


def test_tokens_keep_their_name_prefix_and_order_and_a_second_revoke_keeps_the_first_time(app, client):
    from hub.errors import NotFound
    from hub.services import workers

    with app.app_context():
        made = [workers.create_token(name) for name in ("build-box", "   ", "gpu")]
        listed = workers.list_tokens()
        assert [t.id for t in listed] == [token.id for token, _plain in made]  # oldest first
        assert [t.name for t in listed] == ["build-box", "worker", "gpu"]  # a blank name is "worker"
        plains = [plain for _token, plain in made]
        assert [t.prefix for t in listed] == [plain[:10] for plain in plains]  # what the token list shows
        first = workers.revoke_token(listed[0].id).revoked_at
        assert workers.revoke_token(listed[0].id).revoked_at == first
        assert [t.id for t in workers.list_tokens()] == [token.id for token, _plain in made]  # a change moves none
        with pytest.raises(NotFound):
            workers.revoke_token("wtok_nope")
    unknown = client.post("/api/v1/worker/register", json={"name": "w"}, headers={"Authorization": "Bearer ctw_x"})
    assert unknown.status_code == 401


def test_registering_again_keeps_the_id_and_takes_the_new_lists(worker, make_worker):
    first = worker.post("/register", {"name": "w1", "codebases": ["b", "a", "a"], "agent_types": ["plan"]}).json
    assert first["codebases"] == ["a", "b"]
    again = worker.post("/register", {"name": "w1", "agent_types": ["build", "build"]}).json
    assert again["worker_id"] == first["worker_id"]
    assert again["codebases"] == [] and again["agent_types"] == ["build"]
    assert worker.register("w2") != first["worker_id"]
    # Another token's worker of the same name is another worker.
    assert make_worker("other").register("w1") != first["worker_id"]


def test_a_worker_with_agent_types_only_claims_those_of_any_codebase(alice, worker):
    codebase = alice.post("/api/v1/codebases", json={"name": "api", "path": "/srv/api"}).json["codebase_id"]
    alice.create_task(title="build", agent_type="build")
    planned = alice.create_task(title="plan", agent_type="plan", codebase_id=codebase)
    wid = worker.register(agent_types=["plan"])
    assert worker.claim(wid)["id"] == planned["id"]
    assert worker.claim(wid) is None


def test_a_worker_with_codebases_only_claims_theirs_of_any_agent_type(alice, worker):
    codebase = alice.post("/api/v1/codebases", json={"name": "api", "path": "/srv/api"}).json["codebase_id"]
    other = alice.post("/api/v1/codebases", json={"name": "web", "path": "/srv/web"}).json["codebase_id"]
    alice.create_task(title="global")
    alice.create_task(title="web", codebase_id=other)
    mine = alice.create_task(title="api", agent_type="build", codebase_id=codebase)
    wid = worker.register(codebases=[codebase])
    assert worker.claim(wid)["id"] == mine["id"]
    assert worker.claim(wid) is None


def seen(app, worker_id):
    from hub.services import workers

    with app.app_context():
        return next(state for state in workers.list_workers() if state.worker.id == worker_id).worker.last_seen_at


def test_a_heartbeat_renews_only_its_own_workers_sign_of_life(app, alice, worker, make_worker):
    created = alice.create_task()
    busy = worker.register("busy")
    idle = make_worker("other").register("idle")
    idle_seen = seen(app, idle)
    worker.claim(busy)
    claimed_seen = seen(app, busy)
    beat = worker.post(f"/tasks/{created['id']}/heartbeat", {"output": "step 1\n"})
    assert beat.status_code == 200 and beat.json["status"] == "running"
    assert seen(app, busy) > claimed_seen
    assert seen(app, idle) == idle_seen


def test_a_heartbeat_on_a_finished_task_renews_nothing_and_keeps_no_output(app, alice, worker):
    created = alice.create_task()
    wid = worker.register()
    worker.claim(wid)
    lease = worker.post(f"/tasks/{created['id']}/heartbeat", {"output": "kept\n"}).json["lease_expires_at"]
    assert alice.post(f"/api/v1/tasks/{created['id']}/cancel").json["status"] == "cancelled"
    before = seen(app, wid)
    late = worker.post(f"/tasks/{created['id']}/heartbeat", {"output": "late\n"})
    assert late.status_code == 200 and late.json["cancel"] is True and late.json["lease_expires_at"] == lease
    assert seen(app, wid) == before
    assert [c["text"] for c in alice.get(f"/api/v1/tasks/{created['id']}/output").json] == ["kept\n"]


def test_an_empty_report_adds_no_output(alice, worker):
    created = alice.create_task()
    wid = worker.register()
    worker.claim(wid)
    for body in ({}, {"output": ""}, {"output": None}):
        assert worker.post(f"/tasks/{created['id']}/heartbeat", body).status_code == 200
    worker.post(f"/tasks/{created['id']}/heartbeat", {"output": "x"})
    assert [c["text"] for c in alice.get(f"/api/v1/tasks/{created['id']}/output").json] == ["x"]


def lapse(app, task_id):
    """The task's lease ran out a second ago."""
    from hub.db import begin_write, db, utcnow
    from hub.models import Task

    with app.app_context():
        begin_write()
        task = db.session.scalar(db.select(Task).where(Task.id == task_id))
        task.lease_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()


def test_the_sweeper_takes_back_lapsed_leases_only(app, alice, worker):
    from hub.services import workers

    lapsed, held = alice.create_task(title="lapsed"), alice.create_task(title="held")
    wid = worker.register()
    worker.claim(wid)
    worker.claim(wid)
    lapse(app, lapsed["id"])
    with app.app_context():
        assert workers.expire_leases() == 1
        assert workers.expire_leases() == 0
    back = alice.get(f"/api/v1/tasks/{lapsed['id']}").json
    assert back["status"] == "pending" and back["retry_count"] == 1
    assert alice.get(f"/api/v1/tasks/{held['id']}").json["status"] == "running"
    late = worker.post(f"/tasks/{lapsed['id']}/complete", {"result": "late"})
    assert late.status_code == 404  # no longer held by this token's workers
    assert worker.claim(wid)["id"] == lapsed["id"]


def test_a_waiting_claim_takes_a_lapsed_task_back_when_its_lease_ends(app, alice, worker, make_worker):
    import time

    app.config["HUB_WORKER_LEASE_SECONDS"] = 1
    created = alice.create_task()
    worker.claim(worker.register())  # then this worker goes silent
    other = make_worker("rescue")
    wid = other.register()
    started = time.monotonic()
    task = other.claim(wid, wait=20)
    assert task is not None and task["id"] == created["id"] and task["retry_count"] == 1
    assert time.monotonic() - started < 10  # woken when the lease was due, not at the end of its wait


def test_only_a_live_worker_that_may_run_the_task_counts(app, alice, make_worker):
    from hub.db import begin_write, db
    from hub.models import Task, Worker
    from hub.services import workers

    codebase = alice.post("/api/v1/codebases", json={"name": "api", "path": "/srv/api"}).json["codebase_id"]
    created = alice.create_task(codebase_id=codebase, agent_type="build")

    def nobody():
        with app.app_context():
            return workers.no_worker_for(db.session.scalar(db.select(Task).where(Task.id == created["id"])))

    assert nobody()
    elsewhere = make_worker("a")
    elsewhere.register("elsewhere", codebases=["cb_other"])
    assert nobody()
    planner = make_worker("b")
    planner.register("planner", codebases=[codebase], agent_types=["plan"])
    assert nobody()
    revoked = make_worker("c")
    revoked.register("revoked", codebases=[codebase], agent_types=["build"])
    with app.app_context():
        workers.revoke_token(workers.list_tokens()[-1].id)
    assert nobody()
    able = make_worker("d")
    able_id = able.register("able", codebases=[codebase])
    assert not nobody()
    with app.app_context():  # quiet for longer than a live worker ever is
        begin_write()
        found = db.session.scalar(db.select(Worker).where(Worker.id == able_id))
        found.last_seen_at -= timedelta(seconds=workers.alive_seconds() + 1)
        db.session.commit()
    assert nobody()
    make_worker("e").register("anything")  # no lists: any codebase, any agent type
    assert not nobody()


def test_a_worker_seen_just_now_is_shown_as_seen_just_now(app, worker):
    import time

    from hub.services import workers

    started = time.monotonic()
    wid = worker.register()
    with app.app_context():
        [state] = [s for s in workers.list_workers() if s.worker.id == wid]
    assert 0 <= state.seen_seconds_ago <= time.monotonic() - started  # "0 s ago" on the admin page, not "1 s ago"
    assert state.alive and state.task is None


def test_the_admin_sees_the_task_a_worker_holds_and_none_once_it_finished(app, alice, worker):
    from hub.services import workers

    def holding(wid):
        with app.app_context():
            [state] = [s for s in workers.list_workers() if s.worker.id == wid]
            return state.task.id if state.task else None

    wid = worker.register()
    first = alice.create_task(title="first")
    worker.claim(wid)
    assert holding(wid) == first["id"]
    assert worker.post(f"/tasks/{first['id']}/complete", {"result": "done"}).status_code == 200
    assert holding(wid) is None  # finished: held no more


def test_the_admin_lists_workers_most_recently_seen_first(app, worker):
    from hub.services import workers

    names = ["first", "second", "third"]
    for name in names:
        worker.register(name)
    with app.app_context():
        assert [s.worker.name for s in workers.list_workers()] == names[::-1]


def test_as_many_claims_at_once_as_tasks_each_get_one(app, alice, worker, serve):
    """Concurrent claims never share a task nor come back empty while a
    task waits (PostgreSQL: one row locked a claim, skipped by the others)."""
    import httpx
    from support.parallel import parallel

    base = serve(app).base
    waiting = {alice.create_task(title=f"task {n}")["id"] for n in range(5)}  # the free tier: 5 at once
    workers_ = [worker.register(f"w{n}") for n in range(5)]

    def claim(i):
        url = f"{base}/api/v1/worker/{workers_[i]}/claim"
        return httpx.post(url, json={}, headers=worker.headers, timeout=60)

    answers = parallel(5, claim)
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json()["task"]["id"] for a in answers if a.json()["task"]) == sorted(waiting)


def test_a_waiting_claim_is_not_woken_by_a_cancelled_tasks_old_lease(app, alice, worker, make_worker):
    import time

    from sqlalchemy import event

    from hub.db import db

    created = alice.create_task()
    worker.claim(worker.register())
    assert alice.post(f"/api/v1/tasks/{created['id']}/cancel").json["status"] == "cancelled"
    lapse(app, created["id"])  # a cancelled task keeps the lease it had: now in the past
    other = make_worker("other")
    wid = other.register()
    with app.app_context():
        engine = db.engine
    statements = []

    def count(_connection, _cursor, sql, *_args):
        statements.append(sql)

    event.listen(engine, "before_cursor_execute", count)
    try:
        started = time.monotonic()
        assert other.claim(wid, wait=2) is None
        assert time.monotonic() - started >= 1.9
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # It slept until its wait was over: only running tasks' leases wake a claim (a look every 50 ms
    # for an old lease would be hundreds of queries).
    assert len(statements) < 60, len(statements)


def test_a_task_the_sweeper_takes_back_goes_at_once_to_a_waiting_worker(app, alice, worker, make_worker):
    import threading
    import time

    import redis

    from hub.services import workers
    from hub.wakeups import CHANNEL

    created = alice.create_task()
    worker.claim(worker.register())  # holds it on a long lease, then goes silent
    other = make_worker("rescue")
    wid = other.register()
    store = redis.Redis.from_url(app.config["REDIS_URL"])
    listening = dict(store.pubsub_numsub(CHANNEL))[CHANNEL.encode()]
    got = {}

    def wait():
        got["task"] = other.claim(wid, wait=20)
        got["at"] = time.monotonic()

    waiting = threading.Thread(target=wait)
    waiting.start()
    wait_for(
        lambda: dict(store.pubsub_numsub(CHANNEL))[CHANNEL.encode()] > listening,
        message="the claim to listen for work",
    )
    lapse(app, created["id"])
    with app.app_context():
        # The sweeper's call. On a busy machine the waiting claim may look
        # first (another test's wake-up on the shared channel woke it) and take
        # the lease back itself, as every claim does: then there is nothing to sweep.
        assert workers.expire_leases() in (0, 1)
    swept = time.monotonic()
    waiting.join(30)
    assert got["task"]["id"] == created["id"]
    assert got["at"] - swept < 10  # woken at once, not at the end of its wait (nor the old lease's)


def test_a_lease_that_lapses_once_too_often_fails_the_task_saying_how_often(app, alice, worker):
    from hub.services import workers

    created = alice.create_task()
    retries = created["max_retries"]
    wid = worker.register()
    for attempt in range(retries + 1):
        assert worker.claim(wid)["id"] == created["id"]
        lapse(app, created["id"])
        with app.app_context():
            assert workers.expire_leases() == 1
        shown = alice.get(f"/api/v1/tasks/{created['id']}").json
        assert shown["retry_count"] == min(attempt + 1, retries)
    assert shown["status"] == "failed"
    assert (
        shown["error"] == f"The worker stopped renewing its lease {retries + 1} time(s); giving up after max_retries."
    )
