"""The database down, full or read-only: writes answer 503
`service_unavailable` with Retry-After (not 500), /readyz names the database
(it commits a write, so a database that still answers reads is caught),
nothing is half-written, the worker logs the outage once, and everything
resumes by itself when the fault clears."""

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from support import TEST_DATABASE, free_port, wait_for
from support.delivery import subscribe, wait_delivery
from support.postgres_server import PostgresServer
from support.users import ApiUser

on_postgresql = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="a PostgreSQL fault (run on that pass)")
on_sqlite = pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="an SQLite fault (run on that pass)")


def create(user, **headers):
    return user.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}, headers=headers)


def assert_unavailable(response):
    assert response.status_code == 503, response.json
    assert response.json["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


def readiness(client):
    response = client.get("/readyz")
    return response.status_code, response.json["checks"]


def task_count(user) -> int:
    return len(user.get("/api/v1/tasks?limit=100").json)


def end_sessions(url):
    """End the hub's pooled connections (as a failover does), so new ones
    see the database's new settings."""
    admin = sa.create_engine(url)
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()


def set_read_only(url, on: bool):
    """As a failover to a read-only server would: new sessions cannot write."""
    url = sa.engine.make_url(url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        setting = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
        conn.execute(sa.text(f'ALTER DATABASE "{url.database}" {setting}'))
    admin.dispose()
    end_sessions(url)


@on_postgresql
def test_a_read_only_database_refuses_writes_with_503_and_is_not_ready(alice, client, hub_env, monkeypatch):
    """A standby, or default_transaction_read_only: reads work, writes fail."""
    monkeypatch.setattr(
        sys.modules["hub.db"], "IDLE_PING_SECONDS", 0.0
    )  # pooled connections ended by the failover are replaced
    assert create(alice).status_code == 201
    set_read_only(hub_env["DATABASE_URL"], True)

    assert readiness(client) == (503, {"database": "unavailable", "redis": "ok"})  # SELECT 1 would pass
    assert alice.get("/api/v1/tasks").status_code == 200  # reads still work
    assert_unavailable(create(alice))
    assert_unavailable(create(alice, **{"Idempotency-Key": "k1"}))

    set_read_only(hub_env["DATABASE_URL"], False)
    assert create(alice, **{"Idempotency-Key": "k1"}).status_code == 201  # the key was not left taken
    assert readiness(client) == (200, {"database": "ok", "redis": "ok"})
    assert task_count(alice) == 2  # the two acknowledged creates, nothing of the refused ones


class RestartablePostgres(PostgresServer):
    """A cluster of this test's own, to stop and start again on its data."""

    halted = False

    def halt(self) -> None:
        self.stop_cluster()
        self.halted = True

    def resume(self) -> None:
        self.start_cluster()
        self.halted = False

    def stop(self) -> None:
        if self.halted:
            self.resume()
        super().stop()


@pytest.fixture
def own_postgres(webhook_settings, set_hub_env):
    """A migrated database on a PostgreSQL cluster of this test's own."""
    from flask_migrate import upgrade

    from hub import create_app

    server = RestartablePostgres(free_port()).start()
    set_hub_env(DATABASE_URL=server.url(server.create_database()))
    app = create_app({"TESTING": True})
    with app.app_context():
        upgrade()
    yield server, app
    with app.app_context():
        from hub.db import db

        db.engine.dispose()
    server.stop()


@on_postgresql
def test_postgresql_stopped_then_started_again(own_postgres, receiver, start_delivery_worker):
    from hub.services import accounts

    server, app = own_postgres
    with app.app_context():
        accounts.create_user("erin", tier="enterprise")
        key, plain = accounts.create_api_key("erin")
    erin = ApiUser(app.test_client(), "erin", plain, key.id)
    worker = start_delivery_worker()
    hook = subscribe(erin, receiver)
    assert create(erin).status_code == 201
    wait_delivery(erin, hook["id"], lambda d: d[0]["status"] == "delivered", timeout=30)

    server.halt()
    assert_unavailable(create(erin))
    assert readiness(erin.client)[0] == 503
    wait_for(
        lambda: any("sweep failing" in line for line in worker.lines()),
        15,
        message="the worker to notice the outage",
    )
    # The outage lasting two seconds is the scenario: the sweeper meets it
    # ten times a second meanwhile (the "cleared" line counts them, below).
    time.sleep(2)

    server.resume()
    started = time.monotonic()
    wait_for(lambda: create(erin).status_code == 201, 30, interval=0.1, message="creates to succeed again")
    recovered = time.monotonic() - started
    print(f"creates succeed again {recovered:.2f} s after PostgreSQL is back")
    assert readiness(erin.client) == (200, {"database": "ok", "redis": "ok"})
    receiver.wait_for(2, timeout=30)  # and the worker delivers again, without a restart
    assert task_count(erin) == 2  # nothing half-written by the refused create
    wait_for(
        lambda: any("sweep failing: cleared" in line for line in worker.lines()),
        15,
        message="the worker to log that the outage is over",
    )
    lines = worker.lines()
    assert sum("sweep failing" in line for line in lines) == 2, "\n".join(lines)  # started, cleared
    cleared = next(line for line in lines if "sweep failing: cleared" in line)
    assert int(re.search(r"\((\d+) occurrence", cleared).group(1)) >= 10, cleared  # met again and again
    # A traceback the first time a fault is met, not at every sweep (ten a second here).
    assert sum(line.startswith("Traceback") for line in lines) <= 2, "\n".join(lines)


@pytest.fixture
def small_disk(tmp_path, template_db, set_hub_env):
    """The database on a small file system of its own (tmpfs), to fill."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill here: {done.stderr.decode().strip()}")
    shutil.copy(template_db, mount / "hub.db")
    set_hub_env(DATABASE_URL=f"sqlite:///{mount / 'hub.db'}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder):
    """Write zeros until the file system is full; returns the filler."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@on_sqlite
def test_a_full_disk_answers_503_and_recovers_when_space_is_freed(small_disk, make_user, client):
    alice = make_user("alice", tier="enterprise")
    assert create(alice).status_code == 201
    filler = fill(small_disk)

    assert_unavailable(create(alice))
    assert_unavailable(create(alice, **{"Idempotency-Key": "k1"}))
    assert readiness(client) == (503, {"database": "unavailable", "redis": "ok"})
    assert alice.get("/api/v1/me").status_code == 200  # reads still work

    os.unlink(filler)
    assert create(alice, **{"Idempotency-Key": "k1"}).status_code == 201
    assert readiness(client) == (200, {"database": "ok", "redis": "ok"})
    assert task_count(alice) == 2


def test_a_key_left_reserved_by_a_request_that_died_is_taken_over(alice, app):
    """A fault between reserving an Idempotency-Key (its own transaction) and
    the create leaves the key reserved with no answer, if freeing it failed
    too (the database went away, or the worker was killed). A retry once
    the request timeout has passed runs, instead of 409 for a day."""
    from hub.db import db
    from hub.idempotency import request_fingerprint
    from hub.models import IdempotencyKey
    from hub.services import accounts, idempotency

    with app.test_request_context("/api/v1/tasks", method="POST", json={"title": "t", "prompt": "p"}):
        idempotency.reserve(accounts.get_user("alice"), "k1", request_fingerprint())  # all it got to do
    in_flight = create(alice, **{"Idempotency-Key": "k1"})
    assert in_flight.status_code == 409 and in_flight.json["code"] == "idempotency_in_flight"  # may still run

    with app.app_context():  # the request timeout passes (gunicorn would have ended it)
        db.session.execute(
            sa.update(IdempotencyKey).values(
                created_at=IdempotencyKey.created_at
                - sa.text(f"interval '{app.config['HUB_WEB_TIMEOUT'] + 1} seconds'")
                if db.engine.dialect.name == "postgresql"
                else sa.func.datetime(IdempotencyKey.created_at, f"-{app.config['HUB_WEB_TIMEOUT'] + 1} seconds")
            )
        )
        db.session.commit()
    assert create(alice, **{"Idempotency-Key": "k1"}).status_code == 201
    replay = create(alice, **{"Idempotency-Key": "k1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert task_count(alice) == 1
