"""The command backend runs the agent in its own process group and ends
that group when the worker dies, even by SIGKILL: no agent (nor anything it
started) keeps running for a worker that is gone."""

import signal
import time

import pytest
from support import wait_for
from support.agents import long_running_agent
from support.processes import alive

# The SQLite pass is enough: the agent backends ask nothing more of the database.
pytestmark = pytest.mark.sqlite_only


def test_a_killed_worker_takes_its_agent_and_the_agents_children_with_it(live_hub, caller, worker_token, tmp_path):
    command, pids = long_running_agent(tmp_path)
    worker = live_hub.agent_worker(worker_token, "--backend", "command", "--command", command, env={"PIDS": str(pids)})
    caller.create_task(prompt="run for a long time")
    agent = int(
        wait_for(
            lambda: (pids / "helper").exists() and (pids / "agent").read_text(),
            timeout=30,
            message="the agent to start",
        )
    )
    helper = int((pids / "helper").read_text())
    assert alive(agent) and alive(helper)

    killed = time.monotonic()
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    wait_for(
        lambda: not alive(agent) and not alive(helper),
        timeout=15,
        interval=0.05,
        message="the agent and its helper to end",
    )
    print(f"\nworker SIGKILLed: its agent and the agent's child ended within {time.monotonic() - killed:.1f} s")
