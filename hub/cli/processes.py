"""``up`` and ``delivery-worker``: the processes that make a running hub."""

from __future__ import annotations

import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from hub import tiers
from hub.cli.supervisor import Child, GaveUp, PidFile, Supervisor, popen

# After SIGTERM the hub's processes get this long before SIGKILL; the
# embedded Redis, stopped last, 1 s more: a stop takes under 10 s.
STOP_SECONDS = 7.0
REDIS_STOP_SECONDS = 1.0
# Children run the interpreter with -P: a `hub/` folder in the current
# directory must not stand in for the package.
PYTHON = [sys.executable, "-P"]


@click.command("delivery-worker")
@with_appcontext
def delivery_worker():
    """Run a webhook delivery worker: it sends deliveries, retries failed
    ones and sweeps up what never reached Redis. `up` runs one; run more, on
    any host, to send more at once. (`worker` is an alias.)"""
    from hub.webhooks.worker import run_worker

    # The app itself, not the proxy: Flask's documented way (its types show current_app as the app).
    run_worker(current_app._get_current_object())  # type: ignore[attr-defined]


# Its first name, kept so that scripts and service files that run it go on working.
worker_alias = click.Command(
    "worker",
    callback=delivery_worker.callback,
    help="Alias of `delivery-worker` (its first name): run a webhook delivery worker.",
    hidden=True,
)


@click.command()
@click.option("--host", default=None, help="Listen address (default HUB_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default HUB_PORT, 5000).")
@with_appcontext
def up(host, port):
    """Run the whole hub on this machine: Redis, database, web, workers.

    Uses the embedded Redis unless REDIS_URL is set. Restarts a process
    that dies (and gives up, exiting non-zero, on one that keeps dying).
    Stops cleanly on Ctrl-C or SIGTERM; a second `up` keeps the data.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # as in delivery_worker
    host = host or app.config["HUB_HOST"]
    port = port or app.config["HUB_PORT"]
    os.umask(0o077)  # what the hub and its children write is the owner's alone
    instance = Path(app.config["HUB_INSTANCE_PATH"])
    _make_private(instance)
    pid_file = PidFile(instance / "up.pid")
    pid_file.take_over()
    listener = _listen(host, port)
    local_url = f"http://{_url_host(host)}:{port}"
    # Without HUB_BASE_URL, task URLs and OAuth metadata name where we listen.
    base_url = (os.environ.get("HUB_BASE_URL") or local_url).rstrip("/")
    app.config["HUB_BASE_URL"] = base_url
    env = dict(
        os.environ,
        HUB_INSTANCE_PATH=str(instance),
        SECRET_KEY=app.config["SECRET_KEY"],
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        HUB_BASE_URL=base_url,
    )
    # One metrics folder for web and worker, so /metrics shows deliveries too.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(instance / "metrics"))
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor = Supervisor(on_change=pid_file.record)
    redis_child = None
    failed = False
    try:
        if not os.environ.get("REDIS_URL"):
            from hub.embedded_redis import EmbeddedRedis

            redis_server = EmbeddedRedis(instance)

            def start_redis() -> subprocess.Popen:
                process = redis_server.start().process
                assert process is not None  # start() returns once Redis answers
                return process

            redis_child = supervisor.add(
                Child("embedded Redis", start_redis, stop=lambda: redis_server.stop(REDIS_STOP_SECONDS))
            )
            click.echo(f"Embedded Redis on {redis_server.url}")
        env["REDIS_URL"] = redis_server.url if redis_child else os.environ["REDIS_URL"]

        from flask_migrate import upgrade

        upgrade()
        _make_private(instance)  # a database made by this upgrade, or files from before this rule
        _first_run_demo_user(app)
        fd = listener.fileno()
        supervisor.add(
            Child(
                "web server",
                lambda: popen(
                    [
                        *PYTHON,
                        "-m",
                        "gunicorn",
                        "-c",
                        "python:hub.gunicorn_conf",
                        "--bind",
                        f"fd://{fd}",
                        "--workers",
                        str(app.config["HUB_WEB_WORKERS"]),
                        "--graceful-timeout",
                        str(int(STOP_SECONDS) - 2),
                        "hub:create_app()",
                    ],
                    env=env,
                    pass_fds=(fd,),
                    # gunicorn puts its working directory first on sys.path: the folder that holds this package.
                    cwd=Path(__file__).resolve().parents[2],
                ),
            )
        )
        supervisor.add(Child("delivery worker", lambda: popen([*PYTHON, "-m", "hub", "delivery-worker"], env=env)))
        agent = _agent_worker(app, local_url, env)
        if agent:
            supervisor.add(Child("agent worker", agent))
        click.echo(f"CodeTether Hub on {local_url}  (API docs: /docs; Ctrl-C stops)")
        while not stopping:
            supervisor.check()
            time.sleep(0.2)
    except GaveUp as error:
        failed = True
        click.echo(f"\n*** up: {error}\n*** Stopping the hub.\n", err=True)
    finally:
        supervisor.stop([c for c in supervisor.children if c is not redis_child], STOP_SECONDS)
        if redis_child:
            supervisor.stop([redis_child], REDIS_STOP_SECONDS)
        listener.close()
        pid_file.release()
        click.echo("Stopped.")
    # Nothing is left to clean up: skip the interpreter's teardown, a large
    # part of a stop on a busy machine (see bench/README.md, "Stopping").
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failed else 0)


def _make_private(instance: Path) -> None:
    """The instance folder holds the database, the secret key and Redis'
    data: it is 0700, and what is in it is its owner's alone (also files
    made before this rule, or by a command run with a looser umask)."""
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    uid = os.getuid()
    for folder, dirs, files in os.walk(instance):
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            try:
                info = os.lstat(path)
                if info.st_uid == uid and not os.path.islink(path) and info.st_mode & 0o077:
                    os.chmod(path, info.st_mode & 0o700)
            except OSError:
                pass


def _listen(host: str, port: int) -> socket.socket:
    """``up`` holds the listening socket and hands it to gunicorn (fd://):
    a restarted web server takes over the connections waiting on it, and a
    port in use is reported at once."""
    try:
        family, _type, _proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.create_server(address, family=family, backlog=2048)
    except OSError as error:
        hint = (
            ": another hub or program uses it; stop it, or pick another port with --port"
            if error.errno == errno.EADDRINUSE
            else f": {error.strerror or error}"
        )
        raise click.ClickException(f"Cannot listen on {host}:{port}{hint}.") from None
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    """How a local client reaches ``host`` (the wildcard addresses by loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


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
    rate, tasks = tiers.for_tier("free")
    click.echo(
        f"  'demo' is on the free tier: {tasks or 'unlimited'} unfinished (pending or running) tasks at once,"
        f" {rate or 'unlimited'} requests."
    )
    click.echo(
        "An admin account (no limits, the /admin/ pages): `codetether-hub users create admin --admin --password '...'`."
    )


UP_TOKEN_NAME = "up: agent worker"


def _agent_worker(app, local_url: str, env: dict):
    """How to start one reference agent worker when a backend is configured;
    otherwise say plainly that tasks wait for a worker, and how to attach one."""
    config = app.config
    backend = "command" if config["HUB_AGENT_COMMAND"] else "openai" if config["HUB_OPENAI_BASE_URL"] else None
    if backend is None:
        click.echo(
            "No agent backend configured: tasks stay `pending` until an agent worker attaches.\n"
            "  Set HUB_AGENT_COMMAND (an agent command line) or HUB_OPENAI_BASE_URL + HUB_OPENAI_MODEL\n"
            "  (e.g. a local Ollama) before `up`, or attach one yourself:\n"
            "    codetether-hub worker-tokens create my-worker --space USERNAME_OR_ORG\n"
            f"    HUB_WORKER_TOKEN=ctw_... codetether-hub agent-worker --hub {local_url} "
            "--backend command --command 'your-agent --print'"
        )
        return None
    from hub.services import workers

    # A fresh token per run (only hashes are kept); the last run's is revoked.
    for token in workers.list_tokens():
        if token.name == UP_TOKEN_NAME and token.revoked_at is None:
            workers.revoke_token(token.id)
    # The worker `up` starts is the hub's own, on the hub's machine: it serves every space.
    _token, plain = workers.create_token(UP_TOKEN_NAME, space_pk=None)
    click.echo(f"Agent worker: {backend} backend, taking tasks from {local_url}")
    return lambda: popen(
        [*PYTHON, "-m", "hub", "agent-worker", "--hub", local_url, "--backend", backend, "--name", "up"],
        env={**env, "HUB_WORKER_TOKEN": plain},
    )
