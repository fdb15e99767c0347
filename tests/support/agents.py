"""Agents for the command backend, as scripts a test writes out."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

# Starts a child of its own, writes its PID and the child's into $PIDS, and
# runs for five minutes: a busy agent the test must see ended, not one that ends.
_LONG_RUNNING = textwrap.dedent("""
    import os, subprocess, sys, time
    from pathlib import Path
    pids = Path(os.environ["PIDS"])
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    (pids / "agent").write_text(str(os.getpid()))
    (pids / "helper").write_text(str(helper.pid))
    time.sleep(300)
""")


def long_running_agent(folder: Path) -> tuple[str, Path]:
    """The agent's command line, and the folder to give it as $PIDS (where
    the files ``agent`` and ``helper`` appear once it runs)."""
    script, pids = folder / "agent.py", folder / "pids"
    script.write_text(_LONG_RUNNING)
    pids.mkdir()
    return f"{sys.executable} {script}", pids


# Asks on its first run; once answered (the conversation on stdin), deploys what the user said.
_ASKS_FIRST = textwrap.dedent("""
    import os, sys
    prompt = sys.stdin.read()
    if "assistant:" not in prompt:
        with open(os.environ["CODETETHER_QUESTION_FILE"], "w") as question:
            question.write("Which branch should I deploy?")
    else:
        print("Deployed " + prompt.strip().splitlines()[-1])
""")


def asking_agent(folder: Path) -> str:
    """The command line of an agent that asks "Which branch should I deploy?"
    on its first run and, once answered, prints "Deployed <the answer>"."""
    script = folder / "asking_agent.py"
    script.write_text(_ASKS_FIRST)
    return f"{sys.executable} {script}"
