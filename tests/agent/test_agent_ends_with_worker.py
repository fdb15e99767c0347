"""The command backend runs the agent in its own process group and ends
that group when the worker dies, even by SIGKILL: no agent (nor anything it
started) keeps running for a worker that is gone."""

import signal
import sys
import textwrap
import time

from conftest import wait_for
from live_hub import caller, live_hub, worker_token  # noqa: F401  (fixtures)
from up_hub import alive

AGENT = textwrap.dedent("""
    import os, subprocess, sys, time
    from pathlib import Path
    pids = Path(os.environ["PIDS"])
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    (pids / "agent").write_text(str(os.getpid()))
    (pids / "helper").write_text(str(helper.pid))
    time.sleep(300)
""")


def test_a_killed_worker_takes_its_agent_and_the_agents_children_with_it(live_hub, caller, worker_token, tmp_path):
    script, pids = tmp_path / "agent.py", tmp_path / "pids"
    script.write_text(AGENT)
    pids.mkdir()
    worker = live_hub.agent_worker(
        worker_token, "--backend", "command", "--command", f"{sys.executable} {script}", env={"PIDS": str(pids)}
    )
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
