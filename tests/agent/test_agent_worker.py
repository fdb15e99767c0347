"""The reference agent worker as a real process, running a real program,
against a real hub (gunicorn) on loopback."""

import contextlib
import os
import signal
import sys
import textwrap

import pytest
from support import wait_for
from support.live_hub import Caller
from support.processes import alive

AGENT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    prompt = sys.stdin.read()
    Path(os.environ["PIDS"], os.environ["CODETETHER_TASK_ID"]).write_text(str(os.getpid()))
    print("working on", os.environ["CODETETHER_TASK_TITLE"], flush=True)
    if "sleep" in prompt:
        time.sleep(120)  # a long job: the test times it out, stops or kills it
    if "crash" in prompt:
        print("it broke", file=sys.stderr)
        sys.exit(3)
    print("cwd=" + os.getcwd())
    print("secret=" + str("HUB_WORKER_TOKEN" in os.environ))
    print("done: " + prompt.upper())
""")


@pytest.fixture
def agent(tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    pids = tmp_path / "pids"
    pids.mkdir()
    return f"{sys.executable} {script}", pids


def test_command_backend_completes_a_task_created_over_the_api(live_hub, caller, worker_token, agent, tmp_path):
    command, pids = agent
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    codebase = caller.http.post("/codebases", json={"name": "app", "path": str(checkout)}).json()["codebase_id"]
    live_hub.agent_worker(worker_token, "--backend", "command", "--command", command, env={"PIDS": str(pids)})
    task = caller.create_task(title="Say hi", prompt="hello agent", codebase_id=codebase)
    done = caller.wait_status(task["id"], "completed", "failed")
    assert done["status"] == "completed", done
    assert "done: HELLO AGENT" in done["result"]
    assert f"cwd={checkout}" in done["result"] and "secret=False" in done["result"]
    assert done["started_at"] and done["completed_at"] and done["duration_seconds"] >= 0
    output = "".join(c["text"] for c in caller.http.get(f"/tasks/{task['id']}/output").json())
    assert "working on Say hi" in output


def test_non_zero_exit_and_timeout_fail_the_task(live_hub, caller, worker_token, agent):
    command, pids = agent
    live_hub.agent_worker(
        worker_token, "--backend", "command", "--command", command, "--timeout", "2", env={"PIDS": str(pids)}
    )
    crashed = caller.create_task(prompt="please crash")
    failed = caller.wait_status(crashed["id"], "completed", "failed")
    assert failed["status"] == "failed" and "status 3" in failed["error"] and "it broke" in failed["error"]
    slow = caller.create_task(prompt="sleep forever")
    failed = caller.wait_status(slow["id"], "completed", "failed", timeout=30)
    assert failed["status"] == "failed" and "timed out" in failed["error"]
    pid = int((pids / slow["id"]).read_text())
    wait_for(lambda: not alive(pid), timeout=10, message="the timed-out agent to be gone")


def test_cancel_during_a_run_stops_the_agent_process(live_hub, caller, worker_token, agent):
    command, pids = agent
    live_hub.agent_worker(worker_token, "--backend", "command", "--command", command, env={"PIDS": str(pids)})
    task = caller.create_task(prompt="sleep please")
    caller.wait_status(task["id"], "running")
    pid = int(
        wait_for(lambda: (pids / task["id"]).exists() and (pids / task["id"]).read_text(), message="the agent to start")
    )
    assert alive(pid)
    assert caller.http.post(f"/tasks/{task['id']}/cancel").json()["status"] == "cancelled"
    wait_for(lambda: not alive(pid), timeout=15, message="the agent process to be stopped")
    assert caller.task(task["id"])["status"] == "cancelled"
    # The worker is free again and takes the next task.
    after = caller.create_task(prompt="next one")
    assert caller.wait_status(after["id"], "completed", "failed")["status"] == "completed"


def test_two_workers_racing_for_200_tasks_run_each_once(app, live_hub, worker_token, tmp_path):
    from hub.services import accounts, tasks

    ran = tmp_path / "ran.log"
    with app.app_context():
        user = accounts.create_user("racer", tier="enterprise")
        created = [tasks.create_task(user, title=f"t{i}", prompt="p").id for i in range(200)]
    # A real program per task: append the task id (O_APPEND lines are atomic).
    command = f"sh -c 'echo $CODETETHER_TASK_ID >> {ran}'"
    for name in ("left", "right"):
        live_hub.agent_worker(worker_token, "--backend", "command", "--command", command, "--name", name)

    def finished():
        with app.app_context():
            from hub.models import Task

            return Task.query.filter(Task.status.in_(("completed", "failed"))).count() == 200

    wait_for(finished, timeout=180, interval=0.2, message="all 200 tasks to finish")
    lines = ran.read_text().split()
    assert sorted(lines) == sorted(created)  # every task ran, none twice
    with app.app_context():
        from hub.models import Event, Task, Worker

        assert Task.query.filter_by(status="completed").count() == 200
        assert Event.query.filter_by(type="task.started").count() == 200
        by_worker = {w.name: Task.query.filter_by(worker_pk=w.pk).count() for w in Worker.query}
    assert sum(by_worker.values()) == 200 and set(by_worker) == {"left", "right"}


def test_sigkilled_worker_task_is_retried_then_fails_after_max_retries(start_hub, app, agent):
    from hub.services import accounts, workers

    with app.app_context():
        accounts.create_user("dave", tier="enterprise")
        key = accounts.create_api_key("dave")[1]
        token = workers.create_token("tests")[1]
    hub = start_hub(process=True, HUB_WORKER_LEASE_SECONDS="1", HUB_TASK_MAX_RETRIES="2")
    command, pids = agent
    agents = []
    try:
        caller = Caller(hub.base, key)
        task = caller.create_task(prompt="sleep until killed")
        assert task["max_retries"] == 2
        for attempt in range(3):
            for old in pids.iterdir():
                old.unlink()
            worker = hub.agent_worker(
                token,
                "--backend",
                "command",
                "--command",
                command,
                "--name",
                f"doomed-{attempt}",
                env={"PIDS": str(pids)},
            )
            wait_for(
                lambda attempt=attempt: (
                    (t := caller.task(task["id"]))["status"] == "running" and t["retry_count"] == attempt
                ),
                timeout=30,
                message=f"run {attempt + 1}",
            )
            pid = int(wait_for(lambda: (pids / task["id"]).exists() and (pids / task["id"]).read_text()))
            agents.append(pid)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        # A worker that waits for work notices the last lapsed lease.
        hub.agent_worker(
            token, "--backend", "command", "--command", command, "--name", "survivor", env={"PIDS": str(pids)}
        )
        failed = caller.wait_status(task["id"], "failed", timeout=30)
        assert failed["retry_count"] == 2 and "lease" in failed["error"] and failed["completed_at"] is None
    finally:
        for pid in agents:  # the killed workers' orphaned agents
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
