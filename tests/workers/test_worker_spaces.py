"""Worker tokens per space (issue 27): a token of org A claims and reads only
A's tasks, never org B's or a personal space's, whatever their priority or
age; a hub-wide token (an admin's explicit choice) claims all; only the
space's admins make and revoke its tokens, and a revoked token stops its
workers at once."""

import pytest
from support.users import ApiUser


@pytest.fixture
def team(app, client, make_user):
    """Org A (ann owner, max member, vic viewer), org B (bea owner) and carol's
    personal space, each with a task; API keys acting in each space."""
    from hub.services import accounts, orgs

    for name in ("ann", "max", "vic", "bea", "carol", "out"):
        make_user(name, tier="enterprise")

    def key(username, space_pk=None):
        with app.app_context():
            made, plain = accounts.create_api_key(username, space_pk=space_pk)
        return ApiUser(client, username, plain, made.id)

    with app.app_context():
        a = orgs.create_org(accounts.get_user("ann"), "Org A", slug="org-a", tier="enterprise")
        b = orgs.create_org(accounts.get_user("bea"), "Org B", slug="org-b", tier="enterprise")
        orgs.add_member(None, "org-a", "max", "member")
        orgs.add_member(None, "org-a", "vic", "viewer")
        spaces = {"a": (a.pk, a.id), "b": (b.pk, b.id)}
    team = {
        "spaces": spaces,
        "ann": key("ann", spaces["a"][0]),
        "max": key("max", spaces["a"][0]),
        "vic": key("vic", spaces["a"][0]),
        "bea": key("bea", spaces["b"][0]),
        "carol": key("carol"),
        "out": key("out"),
    }
    # B's and carol's tasks are older and more urgent than A's.
    team["b_task"] = team["bea"].create_task(title="B secret", prompt="B's private prompt", priority=9)
    team["carol_task"] = team["carol"].create_task(title="carol's", prompt="carol's private prompt", priority=9)
    team["a_task"] = team["ann"].create_task(title="A work", prompt="A's prompt", priority=0)
    return team


def waiting_for_a_worker(app, task):
    """What the task's page asks (its "Waiting for an agent worker" notice)."""
    from hub.db import db
    from hub.models import Task
    from hub.services import workers

    with app.app_context():
        return workers.no_worker_for(db.session.scalars(db.select(Task).where(Task.id == task["id"])).one())


def test_a_space_token_claims_only_its_space(app, make_worker, team):
    worker = make_worker(space_pk=team["spaces"]["a"][0])
    registered = worker.post("/register", {"name": "a-box"})
    # A's live worker is no worker for B's task: its page still says it waits for one.
    assert waiting_for_a_worker(app, team["b_task"]) and not waiting_for_a_worker(app, team["a_task"])
    assert registered.json["space"] == {"id": team["spaces"]["a"][1], "kind": "org", "name": "Org A", "slug": "org-a"}
    wid = registered.json["worker_id"]
    claimed = worker.claim(wid)
    assert claimed["id"] == team["a_task"]["id"] and claimed["prompt"] == "A's prompt"
    assert worker.claim(wid) is None  # B's and carol's pending tasks are not for it

    # Nor can it touch them once another space's worker holds them.
    b_worker = make_worker(space_pk=team["spaces"]["b"][0])
    b_wid = b_worker.register("b-box")
    assert b_worker.claim(b_wid)["id"] == team["b_task"]["id"]
    for call, body in (("heartbeat", {"output": "x"}), ("complete", {"result": "x"}), ("ask", {"question": "x"})):
        answer = worker.post(f"/tasks/{team['b_task']['id']}/{call}", body)
        assert answer.status_code == 404 and "B's" not in answer.get_data(as_text=True)
    shown = team["bea"].get(f"/api/v1/tasks/{team['b_task']['id']}").json
    assert shown["status"] == "running" and shown["result"] is None
    assert team["bea"].get(f"/api/v1/tasks/{team['b_task']['id']}/output").json == []
    assert team["carol"].get(f"/api/v1/tasks/{team['carol_task']['id']}").json["status"] == "pending"


def test_a_personal_token_claims_only_that_users_tasks(make_worker, team):
    created = team["carol"].post("/api/v1/worker-tokens", json={"name": "laptop"})
    assert created.status_code == 201, created.json
    worker = make_worker(token=created.json["token"])
    registered = worker.post("/register", {"name": "laptop"}).json
    assert registered["space"]["kind"] == "personal"
    assert worker.claim(registered["worker_id"])["id"] == team["carol_task"]["id"]
    assert worker.claim(registered["worker_id"]) is None


def test_a_hub_wide_token_claims_every_spaces_tasks(make_worker, team):
    worker = make_worker(space_pk=None)
    registered = worker.post("/register", {"name": "farm"}).json
    assert registered["space"] is None
    claimed = [worker.claim(registered["worker_id"])["id"] for _ in range(3)]
    assert claimed == [team["b_task"]["id"], team["carol_task"]["id"], team["a_task"]["id"]]


def test_only_the_spaces_admins_make_list_and_revoke_its_tokens(app, make_worker, team):
    from hub.errors import Forbidden, NotFound
    from hub.models import AuditEntry, WorkerToken
    from hub.services import accounts, workers

    for who in ("max", "vic"):  # a member, a viewer
        refused = team[who].post("/api/v1/worker-tokens", json={"name": "mine"})
        assert refused.status_code == 403 and refused.json["code"] == "insufficient_role", refused.json
        assert team[who].get("/api/v1/worker-tokens").status_code == 403
    bad = team["ann"].post("/api/v1/worker-tokens", json={"name": "  "})
    assert bad.status_code == 422 and "name" in bad.json["errors"], bad.json
    with app.app_context():
        assert WorkerToken.query.count() == 0
        with pytest.raises(NotFound):  # not a member of org A: no such space
            workers.create_token("x", space_pk=team["spaces"]["a"][0], creator=accounts.get_user("out"))
        with pytest.raises(Forbidden):  # a hub-wide token: a hub admin's choice only
            workers.create_token("x", space_pk=None, creator=accounts.get_user("ann"))

    created = team["ann"].post("/api/v1/worker-tokens", json={"name": "a-box"})
    assert created.status_code == 201 and created.json["token"].startswith("ctw_")
    token_id = created.json["id"]
    listed = team["ann"].get("/api/v1/worker-tokens").json
    assert [t["id"] for t in listed] == [token_id] and "token" not in listed[0]
    assert team["bea"].get("/api/v1/worker-tokens").json == []  # B's admin sees none of A's
    for other in ("bea", "out", "carol"):  # another space's credential: no such token
        assert team[other].delete(f"/api/v1/worker-tokens/{token_id}").status_code == 404
    assert team["max"].delete(f"/api/v1/worker-tokens/{token_id}").status_code == 403

    worker = make_worker(token=created.json["token"])
    wid = worker.register("a-box")
    assert worker.claim(wid)["id"] == team["a_task"]["id"]
    revoked = team["ann"].delete(f"/api/v1/worker-tokens/{token_id}")
    assert revoked.status_code == 200 and revoked.json["revoked"] is True
    for path, body in ((f"/{wid}/claim", {}), (f"/tasks/{team['a_task']['id']}/heartbeat", {}), ("/register", None)):
        assert worker.post(path, body or {"name": "a-box"}).status_code == 401

    with app.app_context():
        log = AuditEntry.query.filter_by(space_pk=team["spaces"]["a"][0]).order_by(AuditEntry.pk).all()
        worker_entries = [(e.action, e.actor, e.target, e.credential) for e in log if e.action.startswith("worker_")]
        credential = f"api_key:{team['ann'].key_id}"
        assert worker_entries == [
            ("worker_token.created", "ann", token_id, credential),
            ("worker_token.revoked", "ann", token_id, credential),
        ]
        assert not AuditEntry.query.filter(
            AuditEntry.space_pk == team["spaces"]["b"][0], AuditEntry.action.like("worker_token.%")
        ).count()
