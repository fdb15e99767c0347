"""``codetether-hub agent-worker``: run the reference agent worker."""

from __future__ import annotations

import logging
import signal
import socket
import sys

import click


@click.command("agent-worker")
@click.option(
    "--hub",
    "hub_url",
    envvar="HUB_BASE_URL",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="The hub's URL (default HUB_BASE_URL).",
)
@click.option(
    "--token",
    envvar="HUB_WORKER_TOKEN",
    required=True,
    help="Worker token from `worker-tokens create` (better: set HUB_WORKER_TOKEN, out of `ps`).",
)
@click.option("--backend", type=click.Choice(["command", "openai"]), required=True)
@click.option(
    "--command",
    "command_line",
    envvar="HUB_AGENT_COMMAND",
    help="command backend: the agent command line (default HUB_AGENT_COMMAND).",
)
@click.option(
    "--timeout",
    type=float,
    envvar="HUB_AGENT_TIMEOUT",
    default=3600,
    show_default=True,
    help="Seconds an agent may run before its task fails.",
)
@click.option("--openai-base-url", envvar="HUB_OPENAI_BASE_URL", help="openai backend: API base URL.")
@click.option("--openai-api-key", envvar="HUB_OPENAI_API_KEY", help="openai backend: API key.")
@click.option("--openai-model", envvar="HUB_OPENAI_MODEL", help="openai backend: model when a task names none.")
@click.option(
    "--openai-ask/--no-openai-ask",
    envvar="HUB_OPENAI_ASK",
    default=False,
    help="openai backend: offer the model an ask_user tool to ask the user a question (default HUB_OPENAI_ASK).",
)
@click.option("--name", default=socket.gethostname, help="Worker name, unique per token (default: host name).")
@click.option("--codebase", "codebases", multiple=True, help="Serve only this codebase id (repeatable).")
@click.option("--agent-type", "agent_types", multiple=True, help="Run only this agent type (repeatable).")
def agent_worker(
    hub_url,
    token,
    backend,
    command_line,
    timeout,
    openai_base_url,
    openai_api_key,
    openai_model,
    openai_ask,
    name,
    codebases,
    agent_types,
):
    """Run the reference agent worker: claim tasks and run them."""
    from hub.agent.client import HubClient, TokenRefused
    from hub.agent.runner import AgentWorker, Backend

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s agent-worker: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns the worker's own
    if backend == "command":
        if not command_line:
            raise click.UsageError("the command backend needs --command (or HUB_AGENT_COMMAND)")
        from hub.agent.backends.command import CommandBackend

        runner: Backend = CommandBackend(command_line, timeout=timeout)
    else:
        if not openai_base_url:
            raise click.UsageError("the openai backend needs --openai-base-url (or HUB_OPENAI_BASE_URL)")
        from hub.agent.backends.openai import OpenAIBackend

        runner = OpenAIBackend(
            openai_base_url, api_key=openai_api_key, model=openai_model, timeout=timeout, ask=openai_ask
        )

    # SIGTERM behaves like Ctrl-C: leave the wait, stop a running agent.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    worker = AgentWorker(HubClient(hub_url, token), runner, name=name, codebases=codebases, agent_types=agent_types)
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        click.echo("agent-worker stopped.", err=True)
    except TokenRefused as error:
        click.echo(f"The hub refused the worker token: {error}", err=True)
        sys.exit(3)
