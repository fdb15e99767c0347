"""hub.db.begin_write: a write that follows a read (every API write follows
the auth lookup) starts from what others committed meanwhile; after
begin_read (a GET's statements on PostgreSQL run without a transaction) it is
still one transaction. And the pool's idle-connection ping leaves a connection
ready for begin_read."""

from sqlalchemy import func, select, text, update

from hub.db import begin_read, begin_write, db
from hub.models import User


def test_a_write_after_a_read_sees_what_others_committed_meanwhile(app_ctx, alice):
    count = select(func.count()).select_from(User)
    before = db.session.scalar(count)  # the session now holds a read transaction
    with db.engine.begin() as other:
        other.execute(
            text(
                # A bare row (the test is about who sees it): alice's space stands in for bob's own.
                "INSERT INTO users (username, tier, is_admin, created_at, personal_space_pk) "
                "SELECT 'bob', 'free', false, CURRENT_TIMESTAMP, personal_space_pk FROM users WHERE username = 'alice'"
            )
        )
    begin_write()
    assert db.session.scalar(count) == before + 1
    db.session.execute(update(User).where(User.username == "bob").values(tier="pro"))
    db.session.commit()
    with db.engine.connect() as other:
        assert other.scalar(text("SELECT tier FROM users WHERE username = 'bob'")) == "pro"


def test_a_second_begin_write_commits_the_first_write(app_ctx, alice):
    db.session.scalar(select(User.pk))
    begin_write()
    db.session.execute(update(User).where(User.username == "alice").values(tier="pro"))
    begin_write()  # a new transaction: the first write is committed, not lost
    db.session.rollback()
    with db.engine.connect() as other:
        assert other.scalar(text("SELECT tier FROM users WHERE username = 'alice'")) == "pro"


def test_a_write_after_a_read_only_start_is_still_one_transaction(app_ctx, alice):
    begin_read()
    db.session.scalar(select(User.pk))
    begin_write()
    db.session.execute(update(User).where(User.username == "alice").values(tier="pro"))
    db.session.execute(update(User).where(User.username == "alice").values(is_admin=True))
    db.session.rollback()  # both changes go: neither was committed on its own
    with db.engine.connect() as other:
        assert other.execute(text("SELECT tier, is_admin FROM users WHERE username = 'alice'")).one() == ("free", False)


def test_a_get_on_a_connection_pinged_after_idling_answers(client, alice, monkeypatch):
    import importlib

    # Every checkout pings, as one does after 5 s idle.
    monkeypatch.setattr(importlib.import_module("hub.db"), "IDLE_PING_SECONDS", 0.0)
    for _ in range(2):
        assert alice.get("/api/v1/me").status_code == 200
