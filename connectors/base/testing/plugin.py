"""The conformance kit's pytest plugin, installed with the hub (entry point
``pytest11``: ``codetether_hub_kit``), so a connector's tests run with plain
``pytest`` in the connector's own folder.

Its fixtures make a hub of their own: ``hub_app`` on a temporary, migrated
SQLite database with its own Redis (the embedded one, as ``codetether-hub
up`` runs it), ``hub_user(...)`` for users with chosen scopes and tiers,
``hook_receiver`` for deliveries on 127.0.0.1 and ``hub_delivery_worker``
that sends them. Names start with ``hub_`` or ``hook_``, so they never shadow
a project's own fixtures, and the hub is imported inside the fixtures only:
loading the plugin in another project's pytest costs nothing.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from connectors.base.testing.support import DeliveryWorker, HookReceiver, HubUser
    from hub.embedded_redis import EmbeddedRedis

# The checks' asserts show both sides when they fail, as in a test module.
pytest.register_assert_rewrite("connectors.base.testing.conformance")


@pytest.fixture(scope="session")
def hub_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """The kit's Redis: the embedded redis-server, on a Unix socket in a temporary folder."""
    from hub.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("hub-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hub_template_database(tmp_path_factory: pytest.TempPathFactory, hub_redis: EmbeddedRedis) -> Path:
    """A SQLite database migrated once; each test gets a copy."""
    from flask_migrate import upgrade

    from hub import create_app
    from hub.db import db

    folder = tmp_path_factory.mktemp("hub-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_INSTANCE_PATH", str(folder))  # not ./instance in the caller's folder
        database = f"sqlite:///{folder / 'hub.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": hub_redis.url, "SECRET_KEY": "kit"})
        with app.app_context():
            upgrade()
            db.engine.dispose()
    return folder / "hub.db"


@pytest.fixture
def hub_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_redis: EmbeddedRedis, hub_template_database: Path
) -> Iterator[dict[str, str]]:
    """This test's hub settings, set in the environment as an admin sets
    them (so the delivery worker process reads them too): its own copy of the
    database, the kit's Redis (emptied), and webhooks allowed to reach
    127.0.0.0/8 (the SSRF guard's own setting) with quick retries."""
    import redis

    database = tmp_path / "hub.db"
    shutil.copy(hub_template_database, database)
    settings = {
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": hub_redis.url,
        "SECRET_KEY": "codetether-hub-kit",
        "HUB_BASE_URL": "http://hub.test",
        "HUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        "HUB_WEBHOOK_TIMEOUT": "5",
        "HUB_WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1",
        "HUB_WEBHOOK_SWEEP_INTERVAL": "0.2",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    redis.Redis.from_url(hub_redis.url).flushdb()
    yield settings
    from connectors.base.testing.support import wait_for

    # Rate-limit hits are recorded by a thread within 0.1 s: in this test, not after the next one emptied Redis.
    wait_for(
        lambda: not any(t.name == "hub-limit-record" for t in threading.enumerate()),
        message="rate limit hits to be recorded",
    )


@pytest.fixture
def hub_app(hub_settings: dict[str, str]) -> Iterator[Flask]:
    """The hub's Flask app on this test's database, every installed and enabled connector mounted."""
    from hub import create_app
    from hub.db import db

    app = create_app({"TESTING": True})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def hub_client(hub_app: Flask) -> FlaskClient:
    return hub_app.test_client()


@pytest.fixture
def hub_user(hub_app: Flask, hub_client: FlaskClient) -> Callable[..., HubUser]:
    """``hub_user("ada", tier="pro", scopes=["tasks:read"])``: a new user with
    one API key of those scopes (all of them by default), calling the hub with it."""
    from connectors.base.testing.support import HubUser
    from hub.services import accounts

    def make(username: str = "alice", tier: str = "free", scopes: list[str] | None = None) -> HubUser:
        with hub_app.app_context():
            accounts.create_user(username, tier=tier)
            key, plain = accounts.create_api_key(username, scopes=scopes)
        return HubUser(hub_client, username, plain, key.id)

    return make


@pytest.fixture
def hook_receiver() -> Iterator[HookReceiver]:
    """A webhook receiver on 127.0.0.1 that records what it gets."""
    from connectors.base.testing.support import HookReceiver

    receiver = HookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def hub_delivery_worker(tmp_path: Path, hub_app: Flask) -> Iterator[DeliveryWorker]:
    """A ``codetether-hub delivery-worker`` process on this test's hub: it
    sends hook deliveries for real (stopped after the test)."""
    from connectors.base.testing.support import DeliveryWorker

    worker = DeliveryWorker(tmp_path / "delivery-worker.log").start()
    yield worker
    worker.stop()
