"""Every worker write reads first (the token, the worker, the task), so it
takes SQLite's write lock up front (``begin_write``): it then waits for
another writer and succeeds, where a deferred transaction would fail with
"database is locked" (a worker's heartbeat or result lost, a token that
cannot be revoked while the hub is busy)."""

from datetime import timedelta

import pytest
from support import TEST_DATABASE
from support.write_lock import run_while_another_writes

pytestmark = [
    pytest.mark.sqlite_only,
    pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="SQLite's database-wide write lock"),
]


@pytest.fixture
def running(app, alice, worker):
    """A token, its registered worker, a task it runs and one waiting."""
    from hub.services import workers

    wid = worker.register()
    running = alice.create_task(title="running")
    assert worker.claim(wid)["id"] == running["id"]
    alice.create_task(title="waiting")
    with app.app_context():
        token_id = workers.list_tokens()[0].id
    return {"plain": worker.token, "worker_id": wid, "task_id": running["id"], "token_id": token_id}


def principal(plain):
    from hub.services import workers

    return workers.principal_for_token(plain)


def lapse(task_id):
    from hub.db import begin_write, db, utcnow
    from hub.models import Task

    begin_write()
    db.session.scalar(db.select(Task).where(Task.id == task_id)).lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


OPERATIONS = {
    "create a token after a read": lambda w, r: (w.list_tokens(), w.create_token("second"))[1][0].name,
    "revoke a token": lambda w, r: w.revoke_token(r["token_id"]).revoked_at is not None,
    "register a worker": lambda w, r: w.register(principal(r["plain"]), name="w2", codebases=[], agent_types=[]).name,
    "claim a task": lambda w, r: w.claim(principal(r["plain"]), r["worker_id"]).title,
    "heartbeat": lambda w, r: w.heartbeat(principal(r["plain"]), r["task_id"], "output").status,
    "complete": lambda w, r: w.complete(principal(r["plain"]), r["task_id"], "done").status,
    "fail": lambda w, r: w.fail(principal(r["plain"]), r["task_id"], "boom").status,
    "take back lapsed leases": lambda w, r: w.expire_leases(),  # the lease lapsed before (the test)
}
EXPECTED = {
    "create a token after a read": "second",
    "revoke a token": True,
    "register a worker": "w2",
    "claim a task": "waiting",
    "heartbeat": "running",
    "complete": "completed",
    "fail": "failed",
    "take back lapsed leases": 1,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_worker_write_waits_for_another_writer_and_succeeds(app, running, operation):
    from hub.services import workers

    if operation == "take back lapsed leases":
        with app.app_context():
            lapse(running["task_id"])
    assert run_while_another_writes(app, lambda: OPERATIONS[operation](workers, running)) == EXPECTED[operation]
