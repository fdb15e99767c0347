"""Unfinished-task limits by tier, checked inside the create transaction."""

from collections import Counter

from support.parallel import parallel, post

TASK = {"title": "Fix the build", "prompt": "Make CI green"}


def test_20_parallel_creates_from_a_free_user_accept_exactly_5(app, live_url, make_user):
    user = make_user("racer")
    responses = parallel(20, lambda i: post(live_url, user.key, "/api/v1/tasks", {**TASK, "title": f"t{i}"}))
    assert Counter(r.status_code for r in responses) == {201: 5, 429: 15}
    refused = [r.json() for r in responses if r.status_code == 429]
    assert {(r["code"], r["limit"], r["tier"]) for r in refused} == {("concurrency_limit", 5, "free")}
    listed = user.get("/api/v1/tasks").json
    assert sorted(t["id"] for t in listed) == sorted(r.json()["id"] for r in responses if r.status_code == 201)


def test_the_check_locks_the_spaces_row_before_counting(app_ctx, make_user):
    """The race above is closed differently on each database. PostgreSQL
    (read committed) would let two creates count the same tasks, so the
    check first locks the row of the space the task is made in (FOR UPDATE:
    an organisation's members share its limit) and parallel creates count
    one after another. SQLite's write transaction (BEGIN IMMEDIATE, which
    the race test exercises) already admits one writer at a time, and its
    dialect drops FOR UPDATE: so the statements are read here as PostgreSQL
    gets them, on either database."""
    from sqlalchemy import event
    from sqlalchemy.dialects import postgresql

    from hub.db import db
    from hub.services import tasks as service
    from hub.services.accounts import get_user

    make_user("lockie")
    user = get_user("lockie")
    sent = []

    def capture(_conn, statement, *_args):
        sent.append(str(statement.compile(dialect=postgresql.dialect())))

    event.listen(db.engine, "before_execute", capture)
    try:
        service.create_task(user, title="t", prompt="p")
    finally:
        event.remove(db.engine, "before_execute", capture)
    lock = [i for i, sql in enumerate(sent) if "FROM spaces" in sql and sql.endswith("FOR UPDATE")]
    count = [i for i, sql in enumerate(sent) if "count(*)" in sql and "FROM tasks" in sql]
    assert lock and count and lock[0] < count[0], sent
    assert "WHERE spaces.pk = " in sent[lock[0]]


def test_finished_and_cancelled_tasks_free_their_slots_at_once(app_ctx, make_user):
    from hub.db import begin_write, db
    from hub.services import tasks as service

    user = make_user("sam")
    ids = [user.create_task()["id"] for _ in range(5)]
    sixth = user.post("/api/v1/tasks", json=TASK)
    assert sixth.status_code == 429 and sixth.json["code"] == "concurrency_limit"
    assert int(sixth.headers["Retry-After"]) >= 29  # a hint, not the request window's reset

    assert user.post(f"/api/v1/tasks/{ids[0]}/cancel").status_code == 200
    user.create_task()
    assert user.post("/api/v1/tasks", json=TASK).status_code == 429

    begin_write()  # a worker finishes one
    task = service.get_task(_user(ids[1]), ids[1])
    service.transition(task, "running")
    db.session.commit()
    assert user.post("/api/v1/tasks", json=TASK).status_code == 429  # running still counts
    begin_write()
    service.transition(task, "completed", result="done")
    db.session.commit()
    user.create_task()


def _user(task_id):
    from sqlalchemy import select

    from hub.db import db
    from hub.models import Task, User

    return db.session.scalar(select(User).join(Task, Task.user_pk == User.pk).where(Task.id == task_id))


def test_pro_enterprise_and_admins(make_user):
    pro = make_user("pro", tier="pro")
    for _ in range(25):
        pro.create_task()
    assert pro.post("/api/v1/tasks", json=TASK).json["limit"] == 25
    for user in (make_user("ent", tier="enterprise"), make_user("root", is_admin=True)):
        for _ in range(6):
            user.create_task()
