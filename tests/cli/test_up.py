"""`codetether-hub up` as a newcomer runs it: embedded Redis, migrations,
demo user, gunicorn, worker; Ctrl-C stops it all; a second run keeps data."""
import os
import re
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from conftest import free_port, wait_for


class Hub:
    def __init__(self, instance, port, **settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_", "DATABASE_", "SECRET_"))}
        env.update(HUB_INSTANCE_PATH=str(instance), HUB_WEB_WORKERS="1", **settings)
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "up", "--port", str(port)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(self._ready, timeout=60, interval=0.1, message="the hub to answer")

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError("up exited early:\n" + "".join(self.lines))
        try:
            return httpx.get(self.base + "/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self):
        return "".join(self.lines)

    def stop(self, sig=signal.SIGINT):
        self.process.send_signal(sig)
        return self.process.wait(60)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_up_runs_the_hub_and_keeps_data(tmp_path, stop_signal):
    instance = tmp_path / "instance"
    port = free_port()
    hub = Hub(instance, port)
    try:
        key = re.search(r"API key:\s+(ct_\S+)", hub.output()).group(1)
        assert "tasks stay `pending` until an agent worker attaches" in hub.output()
        headers = {"Authorization": f"Bearer {key}"}
        created = httpx.post(hub.base + "/api/v1/tasks", json={"title": "Hello", "prompt": "World"}, headers=headers)
        assert created.status_code == 201
    finally:
        code = hub.stop(stop_signal)
    assert code == 0, hub.output()
    assert "Stopped." in hub.output()
    # Nothing left listening or running.
    with pytest.raises(httpx.HTTPError):
        httpx.get(hub.base + "/openapi.json", timeout=1)
    assert not (instance / "redis.sock").exists() or not _redis_answers(instance)

    again = Hub(instance, port)
    try:
        assert "API key:" not in again.output()
        listed = httpx.get(again.base + "/api/v1/tasks", headers=headers).json()
        assert [t["task_id"] for t in listed] == [created.json()["task_id"]]
    finally:
        assert again.stop() == 0


def _redis_answers(instance):
    import redis

    try:
        return redis.Redis(unix_socket_path=str(instance / "redis.sock"), socket_timeout=0.5).ping()
    except (redis.ConnectionError, OSError):
        return False


def test_up_runs_an_agent_worker_when_a_backend_is_configured(tmp_path):
    agent = f"{sys.executable} -c \"import sys; print('agent says: ' + sys.stdin.read())\""
    hub = Hub(tmp_path / "instance", free_port(), HUB_AGENT_COMMAND=agent)
    try:
        assert "Agent worker: command backend" in hub.output()
        key = re.search(r"API key:\s+(ct_\S+)", hub.output()).group(1)
        headers = {"Authorization": f"Bearer {key}"}
        task = httpx.post(hub.base + "/api/v1/tasks", json={"title": "Hello", "prompt": "hi there"},
                          headers=headers).json()
        done = wait_for(lambda: (t := httpx.get(f"{hub.base}/api/v1/tasks/{task['id']}", headers=headers).json())
                        ["status"] in ("completed", "failed") and t, timeout=60, interval=0.2, message="the task to finish")
        assert done["status"] == "completed" and done["result"].strip() == "agent says: hi there"
    finally:
        assert hub.stop() == 0, hub.output()
