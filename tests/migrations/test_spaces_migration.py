"""0015 (spaces) on a database holding data: at 0014 two users own tasks,
codebases, conversations, hooks, events, API keys, an OAuth grant and token
and a worker token (written as 0014's tables take them). Up: each user has a
personal space holding all their objects, and their credentials still work.
An org made then, with a task, is dropped by the way down, which keeps the
personal data; up again, everything personal is still there."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from support.users import ApiUser

from hub.crypto import hash_secret
from hub.db import db, utcnow

BEFORE = "0014_task_callbacks_many"
USERS = ("alice", "bob")
_counter = itertools.count(1)


def insert(table: str, **values) -> int:
    """A row as the schema of the moment takes it: the columns given, and a
    value for every other NOT NULL column without a default; its pk."""
    found = sa.Table(table, sa.MetaData(), autoload_with=db.session.connection())
    row = dict(values)
    for column in found.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        kind = column.type.python_type if hasattr(column.type, "python_type") else str
        if kind is datetime:
            row[column.name] = datetime(2026, 12, 1)
        elif kind is bool:
            row[column.name] = False
        elif kind is int:
            row[column.name] = 0
        elif kind is dict:
            row[column.name] = {}
        else:
            row[column.name] = f"{column.name[:20]}-{next(_counter)}"
    result = db.session.execute(found.insert().values(**row).returning(found.c.pk))
    return result.scalar_one()


def old_data() -> dict:
    """Each user's objects and credentials, written at 0014."""
    now = datetime(2026, 12, 1)
    made: dict = {}
    client = insert(
        "oauth_clients",
        client_id="cli_old",
        name="Zapier",
        redirect_uris="https://zapier.example/return",
        created_at=now,
    )
    for name in USERS:
        user = insert("users", username=name, tier="free", is_admin=False, created_at=now)
        insert("codebases", id="global", user_pk=user, name="Global")
        codebase = insert("codebases", id=f"cb_{name}", user_pk=user, name=f"{name}'s repo")
        conversation = insert(
            "conversations", id=f"conv-{name}", user_pk=user, codebase_pk=codebase, created_at=now, updated_at=now
        )
        insert("messages", id=f"msg_{name}", conversation_pk=conversation, role="user", content=f"hi {name}")
        task = insert(
            "tasks",
            id=f"task_{name}",
            user_pk=user,
            codebase_pk=codebase,
            conversation_pk=conversation,
            title=f"{name}'s task",
            prompt="look",
            status="pending",
            created_at=now,
            updated_at=now,
        )
        insert("events", id=f"evt_{name}", user_pk=user, type="task.created", task_id=f"task_{name}", data={})
        insert(
            "subscriptions",
            id=f"hook_{name}",
            user_pk=user,
            event="task.created",
            target_url="http://127.0.0.1:9/h",
            format="standard",
            failure_count=0,
            created_at=now,
        )
        key = f"ct_{name}_old_key_0123456789abcdefghijklmnopqrstuv"
        insert(
            "api_keys",
            id=f"key_{name}",
            user_pk=user,
            name="old",
            prefix=key[:10],
            key_hash=hash_secret(key),
            scopes="tasks:read tasks:write codebases:read codebases:write messages:read messages:write",
            created_at=now,
        )
        access = f"cto_old-access-token-of-{name}-0123456789"
        insert("oauth_grants", user_pk=user, client_pk=client, scope="tasks:read", created_at=now, updated_at=now)
        insert(
            "oauth_tokens",
            id=f"tok_{name}",
            user_pk=user,
            client_pk=client,
            access_hash=hash_secret(access),
            refresh_hash=None,
            scope="tasks:read",
            issued_at=now,
            access_expires_at=utcnow() + timedelta(hours=1),
        )
        made[name] = {"pk": user, "task": task, "key": key, "access": access}
    worker = "ctw_old_worker_token_0123456789abcdef"
    insert("worker_tokens", id="wt_old", name="old", prefix=worker[:10], token_hash=hash_secret(worker), created_at=now)
    made["worker"] = worker
    return made


OWNED = ("tasks", "codebases", "conversations", "events", "subscriptions", "api_keys", "oauth_grants", "oauth_tokens")


def test_spaces_up_and_down_with_existing_data(app, client):
    with app.app_context():
        downgrade(revision=BEFORE)
        db.session.remove()
        made = old_data()
        db.session.commit()
        db.session.remove()
        upgrade()
        db.session.remove()
        for name in USERS:
            user_pk = made[name]["pk"]
            space = db.session.execute(
                sa.text(
                    "SELECT s.pk, s.kind, m.role FROM users u JOIN spaces s ON s.pk = u.personal_space_pk "
                    "JOIN memberships m ON m.space_pk = s.pk AND m.user_pk = u.pk WHERE u.pk = :u"
                ),
                {"u": user_pk},
            ).one()
            assert (space.kind, space.role) == ("personal", "owner")
            for table in OWNED:  # all their objects are in their personal space, none anywhere else
                spaces = db.session.scalars(
                    sa.text(f"SELECT DISTINCT space_pk FROM {table} WHERE user_pk = :u"), {"u": user_pk}
                ).all()
                assert spaces == [space.pk], (name, table, spaces)
        hub_wide = db.session.scalar(sa.text("SELECT space_pk FROM worker_tokens WHERE id = 'wt_old'"))
        assert hub_wide is None  # every token was hub-wide: it stays so
        db.session.remove()

    for name in USERS:
        holder = ApiUser(client, name, made[name]["key"], f"key_{name}")
        listed = holder.get("/api/v1/tasks")
        assert listed.status_code == 200, listed.json
        assert [t["id"] for t in listed.json] == [f"task_{name}"]
        assert {c["id"] for c in holder.get("/api/v1/codebases").json} == {"global", f"cb_{name}"}
        assert [h["id"] for h in holder.get("/api/v1/hooks").json] == [f"hook_{name}"]
        conversation = holder.get(f"/api/v1/conversations/conv-{name}/messages")
        assert [m["content"] for m in conversation.json] == [f"hi {name}"], conversation.json
        app_token = ApiUser(client, name, made[name]["access"], None).get(f"/api/v1/tasks/task_{name}")
        assert app_token.status_code == 200, app_token.json
    worker = ApiUser(client, None, made["worker"], None).post("/api/v1/worker/register", json={"name": "w"})
    assert worker.status_code == 200, worker.json

    # An org (alice owner, bob member) with a task: the way down drops it, and only it.
    from hub.models import Membership
    from hub.services import accounts, spaces

    with app.app_context():
        org = spaces.new_space("org", "Team", slug="team", tier="pro")
        spaces.furnish(org, accounts.get_user("alice"))
        db.session.add(Membership(space_pk=org.pk, user_pk=made["bob"]["pk"], role="member"))
        db.session.commit()
        org_key = accounts.create_api_key("bob", space_pk=org.pk)[1]
    org_task = ApiUser(client, "bob", org_key, None).create_task(title="the team's")["id"]

    with app.app_context():
        db.session.remove()
        downgrade(revision=BEFORE)
        db.session.remove()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert not tables & {"spaces", "memberships", "invitations", "audit_entries", "share_links"}
        ids = set(db.session.scalars(sa.text("SELECT id FROM tasks")))
        assert ids == {"task_alice", "task_bob"}, ids  # the org's task is gone, the personal ones stay
        assert db.session.scalar(sa.text("SELECT count(*) FROM codebases")) == 4  # each user's global and repo
        assert db.session.scalar(sa.text("SELECT count(*) FROM messages")) == 2
        keys = set(db.session.scalars(sa.text("SELECT id FROM api_keys")))
        assert keys == {"key_alice", "key_bob"}  # the org's key went with the org
        assert db.session.scalar(sa.text("SELECT count(*) FROM worker_tokens")) == 1
        db.session.remove()
        upgrade()
        db.session.remove()

    for name in USERS:
        holder = ApiUser(client, name, made[name]["key"], f"key_{name}")
        assert [t["id"] for t in holder.get("/api/v1/tasks").json] == [f"task_{name}"]
        assert holder.get(f"/api/v1/tasks/{org_task}").status_code == 404
