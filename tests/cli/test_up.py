"""`codetether-hub up` as a newcomer runs it: embedded Redis, migrations,
demo user, gunicorn, worker; Ctrl-C stops it all; a second run keeps data."""

import os
import signal
import stat
import subprocess
import sys

import httpx
import pytest
from support import free_port, wait_for
from support.up_hub import COMMAND, UpHub

# The SQLite pass is enough: `up` always runs on its own embedded SQLite.
pytestmark = pytest.mark.sqlite_only


def test_up_runs_the_hub_and_keeps_data(tmp_path):
    """Ctrl-C (SIGINT) stops the first run, a service manager's SIGTERM the
    second: each stops everything cleanly. The second run finds the folder
    as an older hub left it (looser modes: tightened again) and an agent
    backend configured (its worker does the first run's task). One test, as
    each `up` start costs tens of seconds."""
    # Run from a folder that holds a `hub/` directory (say, the one holding
    # a checkout): no process of the hub may import it instead of the package.
    folder = tmp_path / "work"
    (folder / "hub").mkdir(parents=True)
    (folder / "hub" / "__init__.py").write_text("raise SystemExit('imported ./hub instead of the hub')\n")
    instance = tmp_path / "instance"
    port = free_port()
    hub = UpHub(instance, port, cwd=folder)
    try:
        assert "tasks stay `pending` until an agent worker attaches" in hub.output()
        headers = hub.headers()
        created = httpx.post(
            hub.base + "/api/v1/tasks", json={"title": "Hello", "prompt": "World"}, headers=headers, timeout=30
        )
        assert created.status_code == 201
        # No HUB_BASE_URL: URLs the hub hands out name the port `up` listens on.
        assert created.json()["url"].startswith(f"http://127.0.0.1:{port}/")
        metadata = httpx.get(hub.base + "/.well-known/oauth-authorization-server", timeout=30).json()
        assert metadata["issuer"] == f"http://127.0.0.1:{port}"
        assert_private(instance)
    finally:
        code, _seconds = hub.stop(signal.SIGINT)
    assert_stopped(hub, code, instance)

    # Files written before the 0700/0600 rule, or by a command run with a looser umask.
    instance.chmod(0o755)
    (instance / "redis.log").chmod(0o644)
    agent = f"{sys.executable} -c \"import sys; print('agent says: ' + sys.stdin.read())\""
    again = UpHub(instance, port, cwd=folder, HUB_AGENT_COMMAND=agent)
    try:
        assert "API key:" not in again.output()
        assert "Agent worker: command backend" in again.output()
        assert_private(instance)
        listed = httpx.get(again.base + "/api/v1/tasks", headers=headers, timeout=30).json()
        assert [t["task_id"] for t in listed] == [created.json()["task_id"]]
        url = f"{again.base}/api/v1/tasks/{created.json()['id']}"
        done = wait_for(
            lambda: (
                (t := httpx.get(url, headers=headers, timeout=30).json())["status"] in ("completed", "failed") and t
            ),
            timeout=60,
            interval=0.2,
            message="the agent worker to do the first run's task",
        )
        assert done["status"] == "completed" and done["result"].strip() == "agent says: World"
    finally:
        code, _seconds = again.stop(signal.SIGTERM)
    assert_stopped(again, code, instance)


def assert_stopped(hub, code, instance):
    """Exit 0, said so, and nothing left listening or running."""
    assert code == 0, hub.output()
    assert "Stopped." in hub.output()
    assert "imported ./hub" not in hub.output() and "restarting" not in hub.output(), hub.output()
    with pytest.raises(httpx.HTTPError):
        httpx.get(hub.base + "/openapi.json", timeout=1)
    assert not (instance / "redis.sock").exists() or not _redis_answers(instance)


def assert_private(instance):
    """The instance folder is 0700 and every file the hub wrote in it 0600:
    the database and its WAL, Redis' files, the secret key, metrics."""
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    files = [path for path in instance.rglob("*") if path.is_file()]
    assert {"hub.db", "hub.db-wal", "appendonly.aof", "redis.log", "secret_key"} <= {p.name for p in files}
    loose = {
        str(path.relative_to(instance)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in instance.rglob("*")
        if stat.S_IMODE(path.stat().st_mode) & 0o077
    }
    assert loose == {}


def test_any_command_that_makes_the_instance_folder_makes_it_private(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_", "DATABASE_", "SECRET_"))}
    instance = tmp_path / "instance"
    subprocess.run(
        [COMMAND, "db", "upgrade"], env={**env, "HUB_INSTANCE_PATH": str(instance)}, check=True, capture_output=True
    )
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    written = {path.name: stat.S_IMODE(path.stat().st_mode) for path in instance.iterdir()}
    assert "hub.db" in written and set(written.values()) == {0o600}, written


def _redis_answers(instance):
    import redis

    try:
        return redis.Redis(unix_socket_path=str(instance / "redis.sock"), socket_timeout=0.5).ping()
    except (redis.ConnectionError, OSError):
        return False
