"""The ``codetether-hub`` command: admin tasks and the processes of a hub.

``db`` comes from Flask-Migrate (``codetether-hub db upgrade``).
"""
from __future__ import annotations

import json

import click
from flask.cli import FlaskGroup

from hub import create_app
from hub.cli.accounts import api_keys, users
from hub.cli.deliveries import deliveries
from hub.cli.clients import clients
from hub.cli.processes import up, worker
from hub.cli.workers import worker_tokens
from hub.agent.cli import agent_worker
from hub.errors import HubError


class HubGroup(FlaskGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HubError as error:
            raise click.ClickException(error.message) from None


@click.group(cls=HubGroup, create_app=lambda: create_app(), add_version_option=False,
             load_dotenv=False, help=__doc__)
def main():
    pass


main.add_command(users)
main.add_command(api_keys)
main.add_command(clients)
main.add_command(up)
main.add_command(worker)
main.add_command(worker_tokens)
main.add_command(agent_worker)
main.add_command(deliveries)


def echo_json(obj: dict) -> None:
    click.echo(json.dumps(obj))
