"""`codetether-hub up` under faults, injected into the real processes it
runs: a child killed (restarted, deliveries resume), a child that keeps
dying (a loud stop, non-zero), `up` itself killed (nothing left running;
the next `up` takes over), and a stop while a long-poll is open and a
webhook receiver hangs (under 10 s; the delivery goes back to the queue).

Each test prints what it measured (run with -s to see it)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest
import redis
from support import free_port, wait_for
from support.agents import long_running_agent
from support.processes import alive, descendants
from support.receiver import Answer
from support.up_hub import COMMAND, UpHub

# The SQLite pass is enough: `up` always runs on its own embedded SQLite.
pytestmark = pytest.mark.sqlite_only

# As an admin would set them: webhooks may reach this machine, and the
# demo user (free tier) is not held back by the tier limits.
SETTINGS = {
    "HUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    "HUB_TIER_CONCURRENT_TASKS": "free=unlimited",
    "HUB_TIER_RATE_LIMITS": "free=unlimited",
}
# How long a step may wait on a restarted process: each one imports the hub
# afresh, which on a busy 2-core machine takes tens of seconds (up to 25 s
# measured while the suite and mutation runs shared the machine).
RESTART_DEADLINE = 120


def subscribe(hub, receiver, path):
    response = httpx.post(
        hub.base + "/api/v1/hooks",
        headers=hub.headers(),
        json={"event": "task.created", "target_url": receiver.url(path)},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def create_task(hub, title):
    """Create a task as a client would: retried while the hub answers 503 or
    cannot be reached (a request may wait on the listening socket while the
    web server restarts; none may fail for good)."""

    def attempt():
        try:
            response = httpx.post(
                hub.base + "/api/v1/tasks", json={"title": title, "prompt": "p"}, headers=hub.headers(), timeout=30
            )
        except httpx.HTTPError:
            return None
        assert response.status_code in (201, 503), f"create answered {response.status_code}: {response.text!r}"
        return response.status_code == 201 and response.json()

    return wait_for(attempt, timeout=RESTART_DEADLINE, interval=0.2, message=f"the hub to take task {title!r}")


def tell(error, hub):
    """Add what `up` printed to a failure: its restarts, and its processes'
    tracebacks, say why a request or a task went wrong."""
    error.args = (f"{error}\n--- up's output (its end):\n{hub.output()[-8000:]}",)


def delivered(receiver, path, task_id, timeout=RESTART_DEADLINE):
    return wait_for(
        lambda: [r for r in receiver.received(path) if r.json()["data"]["task_id"] == task_id],
        timeout=timeout,
        interval=0.05,
        message=f"the delivery of {task_id}",
    )


def test_up_restarts_what_dies_keeps_delivering_and_gives_up_loudly_on_what_keeps_dying(tmp_path, receiver):
    instance = tmp_path / "instance"
    agent = f"{sys.executable} -c \"print('done')\""
    # Leases far longer than a step may wait: a task taken into a dead lease
    # (by a killed worker's claim) fails the step rather than pass as slow.
    lease = str(RESTART_DEADLINE * 3)
    hub = UpHub(instance, free_port(), HUB_AGENT_COMMAND=agent, HUB_WORKER_LEASE_SECONDS=lease, **SETTINGS)
    try:
        subscribe(hub, receiver, "/hook")
        delivered(receiver, "/hook", create_task(hub, "before")["task_id"])
        # A key in the embedded Redis, on disk in its append-only file.
        store = redis.Redis(unix_socket_path=str(instance / "redis.sock"))
        store.set("kept-across-restarts", "yes")
        wait_for(
            lambda: b"kept-across-restarts" in (instance / "appendonly.aof").read_bytes(),
            message="the key in the append-only file",
        )

        for name, marker in (
            ("delivery worker", "hub delivery-worker"),
            ("embedded Redis", "redis-server"),
            ("web server", "gunicorn"),
            ("agent worker", "agent-worker"),
        ):
            pid = hub.child(marker)
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            task = create_task(hub, f"after the {name} died")
            delivered(receiver, "/hook", task["task_id"])
            print(f"\nSIGKILL of the {name}: a new task delivered {time.monotonic() - killed:.1f} s later", end="")
            url = f"{hub.base}/api/v1/tasks/{task['task_id']}"
            wait_for(
                lambda url=url: httpx.get(url, headers=hub.headers(), timeout=30).json()["status"] == "completed",
                timeout=RESTART_DEADLINE,
                interval=0.1,
                message="the task to be done",
            )
            print(f", done by the agent worker {time.monotonic() - killed:.1f} s later")
            restarts = [line for line in hub.lines if line.startswith(f"up: the {name} (PID {pid})")]
            assert len(restarts) == 1 and "killed by SIGKILL; restarting it" in restarts[0], hub.output()
            assert hub.process.poll() is None
        assert store.get("kept-across-restarts") == b"yes"  # Redis came back with its data
        assert httpx.get(hub.base + "/api/v1/tasks", headers=hub.headers(), timeout=30).status_code == 200

        # A child that keeps dying: up stops everything and says so, non-zero.
        last = None
        for _ in range(10):
            if hub.process.poll() is not None:
                break
            pid = wait_for(
                lambda last=last: (
                    hub.process.poll() is not None or ((p := hub.find("hub delivery-worker")) not in (None, last) and p)
                ),
                timeout=RESTART_DEADLINE,
                message="the delivery worker to be restarted",
            )
            if pid is True:
                break
            last = pid
            os.kill(pid, signal.SIGKILL)
        everything = descendants(hub.process.pid)
        assert hub.process.wait(30) == 1, hub.output()
        assert "*** up: The delivery worker (PID" in hub.output() and "times within 60 s. Giving up" in hub.output()
        assert "Stopped." in hub.output()
        assert not [pid for pid in everything if alive(pid)]
    except AssertionError as error:
        tell(error, hub)
        raise
    finally:
        hub.kill()


def test_killing_up_ends_everything_it_started_and_the_next_up_takes_over(tmp_path):
    command, pids = long_running_agent(tmp_path)
    instance, port = tmp_path / "instance", free_port()
    settings = {"HUB_AGENT_COMMAND": command, "PIDS": str(pids)}
    hub = UpHub(instance, port, **settings)
    everything = []
    try:
        create_task(hub, "a long job")
        agent = int(
            wait_for(
                lambda: (pids / "helper").exists() and (pids / "agent").read_text(),
                timeout=60,
                message="the agent to start",
            )
        )
        helper = int((pids / "helper").read_text())

        # A second `up` on the same instance folder refuses, naming the first.
        second = UpHub(instance, free_port(), wait=False, **settings)
        assert second.process.wait(60) == 1
        assert f"Another `codetether-hub up` (PID {hub.process.pid}) is running on {instance}" in second.output()

        everything = descendants(hub.process.pid)
        assert {agent, helper} <= set(everything)
        killed = time.monotonic()
        hub.process.kill()
        wait_for(
            lambda: not [pid for pid in everything if alive(pid)],
            timeout=30,
            interval=0.05,
            message="every process of the killed up to end",
        )
        print(
            f"\nSIGKILL of up: its {len(everything)} processes (web, workers, Redis, the agent and its "
            f"helper) ended within {time.monotonic() - killed:.1f} s"
        )
    finally:
        hub.kill()
        for pid in everything:  # what outlived it (without the fix)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    again = UpHub(instance, port, **settings)
    try:
        assert f"the previous `up` (PID {hub.process.pid}) ended without stopping; taking over" in again.output()
        assert (
            httpx.get(again.base + "/api/v1/tasks", headers=hub.headers(), timeout=30).json()[0]["title"]
            == "a long job"
        )
    finally:
        assert again.stop()[0] == 0, again.output()


def test_a_new_up_ends_what_a_dead_up_left_running(tmp_path):
    """Should a process of a killed `up` outlive it (it ignored the signal),
    the next `up` ends it before taking the instance over."""
    from hub import lifeline
    from hub.cli.supervisor import PidFile

    # A child of a dead `up` that ignores SIGTERM and stays alive until ended.
    leftover = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(300)",
        ],
        process_group=0,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert leftover.stdout.readline() == "ready\n"
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "up.pid").write_text(
        json.dumps(
            {
                "pid": gone.pid,
                "started": 1,
                "children": {
                    "delivery worker": [leftover.pid, lifeline.start_time(leftover.pid)],
                    "web server": [gone.pid, 12345],
                },
            }
        )
    )
    said = []
    pid_file = PidFile(tmp_path / "up.pid")
    try:
        pid_file.take_over(echo=lambda text, err=False: said.append(text), grace=1)
    finally:
        pid_file.release()
    assert leftover.wait(10) == -signal.SIGKILL
    assert said == [
        f"up: the previous `up` (PID {gone.pid}) ended without stopping; taking over: "
        f"ending its delivery worker (PID {leftover.pid})"
    ]


def test_stop_is_prompt_with_a_long_poll_open_and_a_webhook_receiver_hanging(tmp_path, receiver):
    hang = threading.Event()
    receiver.plan("/slow", Answer(hold=hang))
    instance, port = tmp_path / "instance", free_port()
    agent = f"{sys.executable} -c \"print('done')\""
    hub = UpHub(instance, port, HUB_AGENT_COMMAND=agent, **SETTINGS)
    claim = {}
    try:
        token = json.loads(
            subprocess.run(
                [COMMAND, "worker-tokens", "create", "test", "--hub-wide", "--json"],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "HUB_INSTANCE_PATH": str(instance)},
            ).stdout
        )["token"]
        worker = httpx.Client(
            base_url=hub.base + "/api/v1/worker", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        # It serves a codebase no task names: its claim waits, whatever is created.
        worker_id = worker.post("/register", json={"name": "test", "codebases": ["cb_elsewhere"]}).json()["worker_id"]

        def long_poll():
            started = time.monotonic()
            try:
                claim["answer"] = worker.post(f"/{worker_id}/claim", json={"wait": 20}, timeout=60).json()
            except httpx.HTTPError as error:
                claim["answer"] = repr(error)
            claim["at"] = time.monotonic()
            claim["waited"] = claim["at"] - started

        subscribe(hub, receiver, "/slow")
        poller = threading.Thread(target=long_poll, daemon=True)
        poller.start()
        task = create_task(hub, "held")
        receiver.wait_for(1, "/slow", timeout=60)  # the send hangs from here on
        assert poller.is_alive()
        code, seconds = hub.stop()
        print(f"\nStop with a long-poll open and a send hung: {seconds:.1f} s")
        assert code == 0, hub.output()
        assert seconds < 10, hub.output()
        poller.join(10)
        assert claim["answer"] == {"task": None} and claim["waited"] < 15
    finally:
        hub.kill()
        hang.set()

    # The cut send went back to the queue: due again, its attempt logged.
    with sqlite3.connect(instance / "hub.db") as db:
        status, error = db.execute("SELECT status, last_error FROM deliveries").fetchone()
    assert status == "retrying" and "the hub was stopping" in error
    again = UpHub(instance, port, **SETTINGS)
    try:
        sent = receiver.wait_for(2, "/slow", timeout=60)
        assert sent[0].headers["webhook-id"] == sent[1].headers["webhook-id"]
        assert sent[1].json()["data"]["task_id"] == task["task_id"]
    finally:
        assert again.stop()[0] == 0
