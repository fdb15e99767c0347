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

    jobs.run_worker(current_app._get_current_object())


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
    # One metrics folder for web and worker, so /metrics shows deliveries too
    # (gunicorn empties it as it starts, before the worker delivers anything).
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(instance / "metrics"))

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
        agent = _agent_worker(app, host, port, env)
        if agent:
            children.append(("agent worker", agent))
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
        if "REDIS_URL" in env:
            from hub import wakeups

            wakeups.release_waiting(env["REDIS_URL"])  # or gunicorn waits out each long-poll
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
    key, plain = accounts.create_api_key("demo", name="demo")
    click.echo("First run: created user 'demo'.")
    click.echo(f"  password: {password}")
    click.echo(f"  API key:  {plain}  (id {key.id}: `codetether-hub api-keys revoke {key.id}`)")
    click.echo("  (shown once; make more with `codetether-hub api-keys create demo`)")
    tasks, rate = (app.config[name].get("free") for name in ("HUB_TIER_CONCURRENT_TASKS", "HUB_TIER_RATE_LIMITS"))
    click.echo(f"  'demo' is on the free tier: {tasks or 'unlimited'} unfinished (pending or running) tasks at once,"
               f" {rate or 'unlimited'} requests.")
    click.echo("An admin account (no limits, the /admin/ pages): "
               "`codetether-hub users create admin --admin --password '...'`.")


UP_TOKEN_NAME = "up: agent worker"


def _agent_worker(app, host: str, port: int, env: dict) -> subprocess.Popen | None:
    """One reference agent worker when a backend is configured; otherwise
    say plainly that tasks wait for a worker, and how to attach one."""
    config = app.config
    backend = "command" if config["HUB_AGENT_COMMAND"] else "openai" if config["HUB_OPENAI_BASE_URL"] else None
    if backend is None:
        click.echo("No agent backend configured: tasks stay `pending` until an agent worker attaches.\n"
                   "  Set HUB_AGENT_COMMAND (an agent command line) or HUB_OPENAI_BASE_URL + HUB_OPENAI_MODEL\n"
                   "  (e.g. a local Ollama) before `up`, or attach one yourself:\n"
                   "    codetether-hub worker-tokens create my-worker\n"
                   f"    HUB_WORKER_TOKEN=ctw_... codetether-hub agent-worker --hub http://{host}:{port} "
                   "--backend command --command 'your-agent --print'")
        return None
    from hub.services import workers

    # A fresh token per run (only hashes are kept); the last run's is revoked.
    for token in workers.list_tokens():
        if token.name == UP_TOKEN_NAME and token.revoked_at is None:
            workers.revoke_token(token.id)
    _token, plain = workers.create_token(UP_TOKEN_NAME)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    click.echo(f"Agent worker: {backend} backend, taking tasks from http://{local}:{port}")
    return subprocess.Popen([sys.executable, "-m", "hub", "agent-worker", "--hub", f"http://{local}:{port}",
                             "--backend", backend, "--name", "up"], env={**env, "HUB_WORKER_TOKEN": plain})
