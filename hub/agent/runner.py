"""The worker loop: register, claim (long-poll), run the backend while
heartbeating, report the outcome."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hub.agent.client import HubClient

log = logging.getLogger("hub.agent")


@dataclass
class Outcome:
    """How a run ended: ``ok`` with the result, not ``ok`` with the error,
    or ``asks``: ``text`` is a question for the user (the task waits for
    the reply, then runs again with the conversation so far)."""

    ok: bool
    text: str
    asks: bool = False


class Backend(Protocol):
    """Runs one task's agent: ``output`` takes text as it comes, ``cancelled``
    is set when the agent must stop; returns how the task ended."""

    def run(self, task: dict, output: Callable[[str], None], cancelled: threading.Event) -> Outcome: ...


class Run:
    """One task's run: output waiting to be reported, and the stop signal."""

    def __init__(self, task: dict):
        self.task = task
        self.cancelled = threading.Event()
        self.outcome: Outcome | None = None
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def output(self, text: str) -> None:
        with self._lock:
            self._pending.append(text)

    def take_output(self) -> str | None:
        with self._lock:
            text, self._pending = "".join(self._pending), []
        return text or None


class AgentWorker:
    def __init__(self, client: HubClient, backend: Backend, *, name: str, codebases=(), agent_types=()):
        self.client, self.backend = client, backend
        self.name, self.codebases, self.agent_types = name, list(codebases), list(agent_types)

    def run_forever(self) -> None:
        info = self.client.register(self.name, self.codebases, self.agent_types)
        log.info("worker %s (%s) registered; waiting for tasks", info["name"], info["worker_id"])
        while True:
            task = self.client.claim(info["worker_id"], wait=info["poll_seconds"])
            if task:
                self.execute(task, info["heartbeat_seconds"])

    def execute(self, task: dict, heartbeat_seconds: float) -> None:
        run = Run(task)
        log.info("running %s (%s)", task["id"], task["title"])
        thread = threading.Thread(target=self._run_backend, args=(run,), daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(heartbeat_seconds)
                if thread.is_alive() and self.client.heartbeat(task["id"], run.take_output()).get("cancel"):
                    log.info("%s was cancelled (or taken back); stopping its agent", task["id"])
                    run.cancelled.set()
                    thread.join()
                    return
        finally:
            if thread.is_alive():  # leaving on a signal: stop the agent too
                run.cancelled.set()
                thread.join(15)
        leftover = run.take_output()
        if leftover and self.client.heartbeat(task["id"], leftover).get("cancel"):
            return
        outcome = run.outcome or Outcome(False, "The agent backend stopped without an outcome.")
        if outcome.asks:
            self.client.ask(task["id"], outcome.text)
            log.info("%s asks the user a question", task["id"])
            return
        self.client.finish(task["id"], outcome.ok, outcome.text)
        log.info("%s %s", task["id"], "completed" if outcome.ok else "failed")

    def _run_backend(self, run: Run) -> None:
        try:
            run.outcome = self.backend.run(run.task, run.output, run.cancelled)
        except Exception as error:  # a backend bug fails the task, not the worker
            log.exception("backend error on %s", run.task["id"])
            run.outcome = Outcome(False, f"Agent backend error: {type(error).__name__}: {error}")
