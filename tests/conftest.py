"""Shared fixtures: a real Redis, a migrated database per test (SQLite, or
PostgreSQL when HUB_TEST_DATABASE=postgresql), and helpers to act as a user
over HTTP. Fixtures shared by several folders come in as plugins from
tests/fixtures/; helpers are plain modules in tests/support/."""

from __future__ import annotations

import shutil
import socket
import threading

import pytest
import redis as redis_lib
from support import TEST_DATABASE, free_port, wait_for
from support.users import ApiUser

from hub.embedded_redis import EmbeddedRedis

pytest_plugins = ["fixtures.hubs", "fixtures.webhooks"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port()).start()
    yield server
    server.stop()


def _migrate(url: str, redis_url: str) -> None:
    from flask_migrate import upgrade

    from hub import create_app
    from hub.db import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    from support.postgres_server import PostgresServer

    server = PostgresServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_db(request, tmp_path_factory, redis_server):
    """A database migrated once from empty; each test gets a copy: a copied
    SQLite file, or a PostgreSQL database cloned from this template."""
    if TEST_DATABASE == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = server.create_database()
        _migrate(server.url(name), redis_server.url)
        return name
    path = tmp_path_factory.mktemp("template") / "hub.db"
    _migrate(f"sqlite:///{path}", redis_server.url)
    return path


@pytest.fixture
def database_url(request, tmp_path, template_db):
    """The URL of this test's own freshly migrated database."""
    if TEST_DATABASE == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = server.create_database(template=template_db)
        yield server.url(name)
        server.drop_database(name)
    else:
        db_path = tmp_path / "hub.db"
        shutil.copy(template_db, db_path)
        yield f"sqlite:///{db_path}"


@pytest.fixture
def hub_env(tmp_path, monkeypatch, database_url, redis_server):
    """Environment for a hub in this test: its own instance folder and
    database, the shared Redis (flushed)."""
    env = {
        "HUB_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "test-secret",
        "HUB_BASE_URL": "http://hub.test",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    redis_lib.Redis.from_url(redis_server.url).flushdb()
    yield env
    # Hits a limiter admitted without asking Redis are recorded within 0.1 s:
    # let that happen in this test, not after the next one flushed Redis.
    wait_for(
        lambda: not any(t.name == "hub-limit-record" for t in threading.enumerate()),
        message="rate limit hits to be recorded",
    )


@pytest.fixture
def set_hub_env(hub_env, monkeypatch):
    """``set_hub_env(NAME=value, ...)``: settings for this test's hub, in the
    environment (as an admin sets them) and in ``hub_env``."""

    def set_env(**settings):
        for name, value in settings.items():
            monkeypatch.setenv(name, str(value))
            hub_env[name] = str(value)

    return set_env


@pytest.fixture
def own_redis(tmp_path, set_hub_env):
    """A Redis for this test alone, to stop and start again (sparing the session's)."""
    server = EmbeddedRedis(tmp_path / "own-redis", port=free_port()).start()
    set_hub_env(REDIS_URL=server.url)
    yield server
    server.stop()


@pytest.fixture
def no_dns(monkeypatch):
    """Names fail to resolve, IP literals still parse: no URL a test makes up
    becomes a DNS query leaving the machine."""
    real = socket.getaddrinfo

    def numeric_only(host, port, family=0, type=0, proto=0, flags=0):
        return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)


@pytest.fixture
def app(hub_env):
    from hub import create_app

    app = create_app({"TESTING": True})
    yield app
    with app.app_context():
        from hub.db import db

        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    """An app context for tests that call services directly. Requests made
    meanwhile get their own context (and session), as in production."""
    with app.app_context():
        yield app
        from hub.db import db

        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app, client):
    from hub.services import accounts

    def make(username="alice", tier="free", scopes=None, **kw):
        with app.app_context():
            accounts.create_user(username, tier=tier, **kw)
            key, plain = accounts.create_api_key(username, scopes=scopes)
        return ApiUser(client, username, plain, key.id)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def run(hub_env):
    """The admin CLI in this process: ``run("users", "create", "x")`` asserts
    exit code 0 unless ``ok=False``, and returns click's result."""
    from click.testing import CliRunner

    from hub.cli import main

    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def other(app):
    """A second process's view of the same hub: its own app, credential
    cache and test client (what another gunicorn worker would see)."""
    from hub import create_app
    from hub.db import db

    second = create_app({"TESTING": True})
    yield second.test_client()
    with second.app_context():
        db.engine.dispose()
