"""A hub answering HTTP on 127.0.0.1, and what tests do to it: its admin
CLI, users, OAuth clients, calls to its API, reference agent workers.

It runs in one of two ways (the fixtures in tests/fixtures/hubs.py choose):
in this process, on the in-process server (quick to start; ``app`` is the
very app that serves), or as deployed, gunicorn with hub/gunicorn_conf.py in
a process of its own (``app`` is then one made here on the same settings,
for the tests' own service calls)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
from click.testing import CliRunner

from support import DEADLINE_SCALE, wait_for
from support.oauth import PKCE_VERIFIER, ZAPIER_REDIRECT
from support.processes import collect

# As deployed (docs/deploy.md): settings from the environment, gthread workers, JSON logs.
DEPLOYED = ("-c", "python:hub.gunicorn_conf", "hub.wsgi:app")


class Gunicorn:
    """gunicorn on 127.0.0.1:``port`` (HUB_PORT) with ``args``; its output kept in ``lines``."""

    def __init__(self, port: int, args=DEPLOYED, *, env: dict, cwd=None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args],
            cwd=cwd,
            env={**env, "HUB_HOST": "127.0.0.1", "HUB_PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = collect(self.process.stdout)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, base: str) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + self.output())
            try:
                return httpx.get(base + "/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=60, interval=0.05, message="gunicorn to answer")

    def stop(self, timeout: float = 40) -> int | None:
        """SIGTERM, as a service manager stops it; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


class LiveHub:
    def __init__(self, base: str, app, server):
        self.base, self.app, self.server = base, app, server  # server: a Served or a Gunicorn
        self.agent_workers: list[tuple[subprocess.Popen, list[str]]] = []

    def url(self, path: str) -> str:
        return self.base + path

    def cli(self, *args):
        """The admin CLI in this process, on the hub's settings; parsed when ``--json``."""
        from hub.cli import main

        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output) if "--json" in args else result.output

    def create_client(self, *extra, redirect_uri=ZAPIER_REDIRECT, name="Zapier"):
        return self.cli("clients", "create", "--name", name, "--redirect-uri", redirect_uri, *extra, "--json")

    def create_user(self, username, password="correct horse battery", **kw):
        from hub.services import accounts

        with self.app.app_context():
            accounts.create_user(username, password=password, **kw)
        return username, password

    def token(self, **form):
        """POST /oauth/token. A code exchange sends the verifier of
        ``authorize_url``'s default challenge unless given one
        (``code_verifier=None``: none at all)."""
        if form.get("grant_type") == "authorization_code":
            form.setdefault("code_verifier", PKCE_VERIFIER)
        return httpx.post(self.url("/oauth/token"), data={k: v for k, v in form.items() if v is not None}, timeout=30)

    def exchange(self, client, code, **extra):
        """Trade a code from ``connect`` for tokens as Zapier does (form body, secret in it)."""
        return self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=client["redirect_uris"][0],
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            **extra,
        )

    def refresh(self, client, refresh_token, **extra):
        """Trade a refresh token for new tokens as Zapier does (form body, secret in it)."""
        return self.token(
            grant_type="refresh_token",
            refresh_token=refresh_token,
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            **extra,
        )

    def api(self, path, token, method="GET", **kw):
        return httpx.request(method, self.url(path), headers={"Authorization": f"Bearer {token}"}, **kw, timeout=30)

    def agent_worker(self, token: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        """Start `codetether-hub agent-worker` against this hub (stopped with it)."""
        worker = subprocess.Popen(
            [sys.executable, "-m", "hub", "agent-worker", "--hub", self.base, *args],
            env={**os.environ, "HUB_WORKER_TOKEN": token, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.agent_workers.append((worker, collect(worker.stderr)))
        return worker

    def stop(self) -> int | None:
        """Agent workers first, then the server; gunicorn's exit status."""
        for worker, _log in self.agent_workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker, log in self.agent_workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
            print(f"--- agent worker {worker.pid} ---\n{''.join(log)[-3000:]}")  # shown when a test fails
        self.agent_workers.clear()
        code = self.server.stop()
        if isinstance(self.server, Gunicorn):
            print("--- hub ---\n" + self.server.output()[-3000:])
        from hub.db import db

        with self.app.app_context():
            db.engine.dispose()
        return code


class Caller:
    """A user calling a live hub's API over HTTP."""

    def __init__(self, base: str, key: str):
        self.http = httpx.Client(
            base_url=base + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=10 * DEADLINE_SCALE
        )

    def create_task(self, **fields):
        response = self.http.post("/tasks", json={"title": "t", "prompt": "p", **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def task(self, task_id):
        return self.http.get(f"/tasks/{task_id}").json()

    def wait_status(self, task_id, *statuses, timeout=30):
        return wait_for(
            lambda: (t := self.task(task_id))["status"] in statuses and t,
            timeout=timeout,
            interval=0.05,
            message=f"{task_id} to become {'/'.join(statuses)}",
        )
