"""The ``command`` backend: run an agent command line (an AI coding CLI, a
script) in the codebase's directory, prompt on stdin, task fields in
``CODETETHER_*`` environment variables, output streamed back.

An agent asks the user a question by writing it to the file named by
``CODETETHER_QUESTION_FILE`` and exiting with status 0: the task waits for
the reply, then runs again with the whole conversation on stdin."""

from __future__ import annotations

import collections
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from hub.agent.runner import Outcome

# The hub's own secrets stay with the worker, not the agent it runs.
WITHHELD = ("HUB_", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")
KILL_GRACE = 5.0
KEEPER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keeper.py")


class CommandBackend:
    def __init__(self, command: str, *, timeout: float = 3600.0):
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("the agent command is empty")
        self.timeout = timeout

    def run(self, task: dict, output, cancelled: threading.Event) -> Outcome:
        path = task.get("codebase_path")
        if path and not os.path.isdir(path):
            return Outcome(False, f"Codebase directory {path!r} does not exist on this worker.")
        # Outside the codebase: the question file is the worker's, not the repository's.
        scratch = tempfile.mkdtemp(prefix=f"codetether-{task['id']}-")
        question = os.path.join(scratch, ".question")
        try:
            outcome = self._run(task, path or scratch, output, cancelled, question)
            asked = _read_question(question)
            if outcome.ok and asked:
                return Outcome(False, asked, asks=True)
            return outcome
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, task: dict, cwd: str, output, cancelled: threading.Event, question: str) -> Outcome:
        try:
            # Own session: cancel and timeout stop the agent and its children;
            # the keeper ends them all should this worker die (hub/agent/keeper.py).
            proc = subprocess.Popen(
                [sys.executable, "-I", KEEPER, str(os.getpid()), str(KILL_GRACE), *self.argv],
                cwd=cwd,
                env={**environment(task), "CODETETHER_QUESTION_FILE": question},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            return Outcome(False, f"Could not start the agent command {self.argv[0]!r}: {error}")
        stdout: list[str] = []
        stderr: collections.deque[str] = collections.deque(maxlen=200)
        threads = [
            threading.Thread(target=_feed, args=(proc.stdin, stdin_text(task)), daemon=True),
            threading.Thread(target=_read, args=(proc.stdout, output, stdout.append), daemon=True),
            threading.Thread(target=_read, args=(proc.stderr, output, stderr.append), daemon=True),
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.timeout
        stopped = None
        while proc.poll() is None:
            if cancelled.is_set():
                stopped = "cancelled"
            elif time.monotonic() > deadline:
                stopped = f"The agent command timed out after {self.timeout:g} s and was stopped."
            if stopped:
                stop(proc)
                break
            cancelled.wait(0.05)
        for thread in threads:
            thread.join(5)
        if stopped:
            return Outcome(False, stopped)
        if proc.returncode == 0:
            return Outcome(True, "".join(stdout))
        detail = "".join(stderr).strip() or "".join(stdout)[-4000:].strip()
        return Outcome(
            False,
            f"The agent command exited with status {proc.returncode}." + (f"\n{detail[-4000:]}" if detail else ""),
        )


def environment(task: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(WITHHELD)}
    fields = {
        "TASK_ID": task["id"],
        "TASK_TITLE": task.get("title"),
        "AGENT_TYPE": task.get("agent_type"),
        "MODEL": task.get("model"),
        "PRIORITY": task.get("priority"),
        "CODEBASE_ID": task.get("codebase_id"),
        "CODEBASE_PATH": task.get("codebase_path"),
        "CONVERSATION_ID": task.get("conversation_id"),
        "RETRY_COUNT": task.get("retry_count"),
        "TASK_URL": task.get("url"),
    }
    env.update({f"CODETETHER_{name}": str(value) for name, value in fields.items() if value is not None})
    return env


def stdin_text(task: dict) -> str:
    """The prompt, or, once the task is a conversation (a Send Message
    turn, or a task whose agent asked and was answered), the conversation
    so far, as the hub writes a conversation's prompt."""
    messages = task.get("messages") or []
    if len(messages) < 2:
        return task.get("prompt") or ""
    lines = ["Continue this conversation; reply to the last user message.", ""]
    for message in messages:
        lines += [f"{message['role']}:", message["content"], ""]
    return "\n".join(lines).rstrip() + "\n"


def _read_question(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return ""


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the agent's process group, SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Children that outlived the leader still share its group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _feed(pipe, text: str) -> None:
    try:
        pipe.write(text.encode())
        pipe.close()
    except (BrokenPipeError, OSError):
        pass  # the agent does not read its stdin


def _read(pipe, output, keep) -> None:
    for line in iter(pipe.readline, b""):
        text = line.decode(errors="replace")
        keep(text)
        output(text)
    pipe.close()
