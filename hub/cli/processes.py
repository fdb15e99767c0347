"""``up`` and ``worker``: the processes that make a running hub."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command()
@with_appcontext
def worker():
    """Run the background job worker (webhook deliveries)."""
    from hub import jobs

    jobs.run_worker(current_app)


@click.command()
@click.option("--host", default=None, help="Listen address (default HUB_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default HUB_PORT, 5000).")
@with_appcontext
def up(host, port):
    """Run the whole hub on this machine: Redis, database, web, workers.

    Uses the embedded Redis unless REDIS_URL is set. Stops cleanly on Ctrl-C
    or SIGTERM; a second `up` keeps the data.
    """
    app = current_app._get_current_object()
    host = host or app.config["HUB_HOST"]
    port = port or app.config["HUB_PORT"]
    instance = Path(app.config["HUB_INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HUB_INSTANCE_PATH=str(instance), SECRET_KEY=app.config["SECRET_KEY"],
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])

    children: list[tuple[str, subprocess.Popen]] = []
    redis_server = None
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if not os.environ.get("REDIS_URL"):
            from hub.embedded_redis import EmbeddedRedis

            redis_server = EmbeddedRedis(instance).start()
            click.echo(f"Embedded Redis on {redis_server.url}")
        env["REDIS_URL"] = redis_server.url if redis_server else os.environ["REDIS_URL"]

        from flask_migrate import upgrade

        upgrade()
        _first_run_demo_user(app)
        children.append(("web", subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "--bind", f"{host}:{port}",
             "--workers", str(app.config["HUB_WEB_WORKERS"]), "--graceful-timeout", "20", "hub:create_app()"],
            env=env)))
        children.append(("worker", subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env)))
        click.echo(f"CodeTether Hub on http://{host}:{port}  (API docs: /docs; Ctrl-C stops)")
        while not stopping:
            for name, child in children:
                if child.poll() is not None:
                    click.echo(f"The {name} process exited with {child.returncode}; stopping.", err=True)
                    stopping = True
            time.sleep(0.2)
    finally:
        for _name, child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for _name, child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server:
            redis_server.stop()
        click.echo("Stopped.")


def _first_run_demo_user(app) -> None:
    from hub.services import accounts

    if accounts.list_users():
        return
    password = secrets.token_urlsafe(12)
    accounts.create_user("demo", password=password, tier="free")
    _key, plain = accounts.create_api_key("demo", name="demo")
    click.echo("First run: created user 'demo'.")
    click.echo(f"  password: {password}")
    click.echo(f"  API key:  {plain}")
    click.echo("  (shown once; make more with `codetether-hub api-keys create demo`)")
