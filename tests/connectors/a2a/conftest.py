"""One live hub per test module (gunicorn, as deployed, one worker) with the
reference agent worker, and the official a2a-sdk client against it:
``a2a_hub``, ``a2a_user``, ``a2a_client``, ``a2a_agent``, ``push_worker``. A module shares its
hub to keep CI lean; tests tell their data apart by user."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from support.delivery import FAST, DeliveryWorker
from support.live_hub import LiveHub
from support.module_hub import module_hub, user_keys

ENDPOINT = "/connectors/a2a"
# The reference agent worker's command backend runs this for each task: the prompt (the conversation) on stdin.
AGENT = textwrap.dedent("""
    import os, sys, time
    prompt = sys.stdin.read()
    if "sleep" in prompt:
        print("started", flush=True)
        time.sleep(300)  # a long job: the test cancels it
    if "ask" in prompt and "assistant:" not in prompt:  # asks once; the reply comes in the conversation
        with open(os.environ["CODETETHER_QUESTION_FILE"], "w") as question:
            question.write("Which branch?")
        sys.exit(0)
    print("working on it", flush=True)
    print("done: " + prompt.strip().splitlines()[-1].upper())
""")


@pytest.fixture(scope="module")
def a2a_hub(request) -> Iterator[LiveHub]:
    """The module's hub; where the module sets ``PUSHES = True``, with deliveries
    to loopback and quick retries (see ``push_worker``)."""
    with pytest.MonkeyPatch.context() as patch:
        if getattr(request.module, "PUSHES", False):
            for name, value in FAST.items():
                patch.setenv(name, value)
        with module_hub(request, "a2a-hub") as hub:
            yield hub


@pytest.fixture(scope="module")
def push_worker(a2a_hub) -> Iterator[DeliveryWorker]:
    """A delivery worker for the module's hub (its settings are in the environment while the module runs)."""
    worker = DeliveryWorker().start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def a2a_user(a2a_hub) -> Callable[..., str]:
    """``a2a_user("ada", scopes=None, tier="enterprise")``: a new user's API
    key (every scope unless given)."""
    return user_keys(a2a_hub)


@pytest.fixture(scope="module")
def a2a_agent(a2a_hub, tmp_path_factory):
    """One reference agent worker (command backend, the AGENT script): one task at a time."""
    from hub.services import workers

    script = tmp_path_factory.mktemp("agent") / "agent.py"
    script.write_text(AGENT)
    with a2a_hub.app.app_context():
        token = workers.create_token("a2a-tests")[1]
    return a2a_hub.agent_worker(token, "--backend", "command", "--command", f"{sys.executable} {script}")


@asynccontextmanager
async def _client(base: str, key: str, *, streaming: bool = True) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=120)) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
        made = ClientFactory(ClientConfig(httpx_client=http, streaming=streaming)).create(card)
        try:
            yield made
        finally:
            await made.close()


@pytest.fixture
def a2a_client_for():
    """``async with a2a_client_for(base, key) as client``: the official client
    for the hub at ``base``, made from the card it resolved at its root."""
    return _client


@pytest.fixture(scope="module")
def a2a_client(a2a_hub):
    """``async with a2a_client(key, streaming=True) as client``: the official
    client for the module's hub, made from the card it resolved at its root."""

    def client(key: str, *, streaming: bool = True):
        return _client(a2a_hub.base, key, streaming=streaming)

    return client
