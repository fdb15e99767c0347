"""Waiting on an MCP client session: ``until`` asks a check until it answers, woken by
what the session hears (``Heard``, filled by a notification handler) or every 0.1 s;
``AGENT``, the agent the MCP tests' reference worker runs."""

from __future__ import annotations

import inspect
import textwrap
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from support import DEADLINE_SCALE

# The agent the reference worker runs (command backend): it answers the prompt upper-cased, works
# on until cancelled when told to sleep, and asks once when told to ask (the reply resumes it).
AGENT = textwrap.dedent("""
    import os, sys, time
    prompt = sys.stdin.read()
    if "sleep" in prompt:
        time.sleep(300)  # a long job: the test cancels it
    if "ask" in prompt and "assistant:" not in prompt:
        with open(os.environ["CODETETHER_QUESTION_FILE"], "w") as question:
            question.write("Which branch?")
        sys.exit(0)
    print("done: " + prompt.upper())
""")


class Heard:
    """What a session heard (a notification handler adds each), so that ``until`` wakes on it."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._added = anyio.Event()

    async def add(self, item: Any) -> None:
        self.items.append(item)
        self._added.set()

    async def past(self, count: int, timeout: float) -> None:
        """Until more than ``count`` items are heard, or ``timeout`` seconds."""
        with anyio.move_on_after(timeout):
            while len(self.items) <= count:
                self._added = anyio.Event()
                await self._added.wait()


async def until(
    check: Callable[[], Any | Awaitable[Any]], *, heard: Heard | None = None, timeout: float = 60, message: str
) -> Any:
    """Ask ``check()`` (plain or async) until it answers something truthy, or fail
    at the deadline (times DEADLINE_SCALE): asked again each time ``heard``
    hears something (at least every 5 s), else every 0.1 s."""
    timeout *= DEADLINE_SCALE
    deadline = time.monotonic() + timeout
    while True:
        count = len(heard.items) if heard else 0
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        left = deadline - time.monotonic()
        assert left > 0, f"timed out after {timeout}s waiting for {message}"
        if heard:
            await heard.past(count, min(left, 5))
        else:
            await anyio.sleep(min(left, 0.1))
