"""A real hub on loopback for tests that need real processes: gunicorn
(gthread, as `up` runs it) on the test's database and Redis, plus helpers
to start reference agent workers against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading

import httpx
import pytest
from conftest import free_port, wait_for


class LiveHub:
    def __init__(self, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--graceful-timeout",
                "1",
                "hub:create_app()",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(self._ready, timeout=30, interval=0.05, message="the hub to answer")
        self.workers: list[subprocess.Popen] = []

    def _read(self):
        for line in self.process.stderr:
            self.log.append(line)

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError("the hub exited:\n" + "".join(self.log))
        try:
            return httpx.get(self.url + "/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def agent_worker(self, token: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        """Start `codetether-hub agent-worker` against this hub."""
        log = tempfile.TemporaryFile("w+")
        worker = subprocess.Popen(
            [sys.executable, "-m", "hub", "agent-worker", "--hub", self.url, *args],
            env={**self.env, "HUB_WORKER_TOKEN": token, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        self.workers.append((worker, log))
        return worker

    def stop(self):
        for worker, _log in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker, log in self.workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
            log.seek(0)
            print(f"--- agent worker {worker.pid} ---\n{log.read()[-3000:]}")  # shown when a test fails
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        print("--- hub ---\n" + "".join(self.log)[-3000:])


class Caller:
    """A user calling the live hub over HTTP."""

    def __init__(self, url: str, key: str):
        self.http = httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=10)

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


@pytest.fixture
def live_hub(hub_env):
    hub = LiveHub(hub_env)
    yield hub
    hub.stop()


@pytest.fixture
def worker_token(app):
    from hub.services import workers

    with app.app_context():
        return workers.create_token("tests")[1]


@pytest.fixture
def caller(app, live_hub):
    from hub.services import accounts

    with app.app_context():
        accounts.create_user("carol", tier="enterprise")  # polls freely: no request limit
        _key, plain = accounts.create_api_key("carol")
    return Caller(live_hub.url, plain)
