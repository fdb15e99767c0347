"""codetether-hub: run a hub and administer it.

Every setting comes from the environment (see docs/configuration.md); the hub's
state is in the instance folder (HUB_INSTANCE_PATH, default ./instance).
"""

from __future__ import annotations

import os

import click
from flask.cli import FlaskGroup
from flask_migrate.cli import db as db_commands
from sqlalchemy.exc import OperationalError, ProgrammingError

from hub import config as settings
from hub import create_app
from hub.agent.cli import agent_worker
from hub.cli.accounts import api_keys, users
from hub.cli.clients import clients
from hub.cli.deliveries import deliveries
from hub.cli.orgs import orgs_group
from hub.cli.processes import delivery_worker, up, worker_alias
from hub.cli.workers import worker_tokens
from hub.errors import HubError

# The help lists the hub's commands in these groups, in this order, each in one line.
SECTIONS = (
    (
        "Run a hub",
        (
            ("up", "Run the whole hub here: Redis, database, web, workers."),
            ("delivery-worker", "Send webhook deliveries (`up` runs one); alias: worker."),
            ("agent-worker", "Run an agent worker: claim tasks and run them."),
        ),
    ),
    (
        "Accounts and access",
        (
            ("users", "Create, list, disable users; set their tier and password."),
            ("orgs", "Create organisations; manage their members, roles and tier."),
            ("api-keys", "Create, list and revoke users' API keys (ct_...)."),
            ("clients", "Register, list and revoke OAuth2 clients (e.g. Zapier)."),
            ("worker-tokens", "Create, list and revoke agent workers' tokens (ctw_...)."),
        ),
    ),
    (
        "Operations",
        (
            ("db", "Migrate the database: `db upgrade` (`up` does it for you)."),
            ("deliveries", "List webhook deliveries; replay failed ones."),
            ("zapier", "Write the Zapier app for this hub."),
        ),
    ),
)
# Flask extensions' own commands, left out of the help.
HIDDEN = {"limiter"}
# Commands that set a hub up: they alone create the instance folder.
CREATE_INSTANCE = {("up",), ("db", "upgrade")}
# Commands that read settings but no database.
NO_DATABASE = {("zapier", "export")}


class HubGroup(FlaskGroup):
    """Flask's CLI group minus Flask's own commands and options (run, shell,
    routes, --app, --env-file, --debug): the app is always the hub."""

    def __init__(self, **kw):
        super().__init__(add_default_commands=False, **kw)
        self.params = [p for p in self.params if p.name not in ("app", "env_file", "debug")]

    # The hub's commands are all registered here: listing or finding one
    # never loads the app (which would need a hub where it is run).
    def _load_plugin_commands(self):
        super()._load_plugin_commands()
        for name in HIDDEN & set(self.commands):
            self.commands[name].hidden = True

    def get_command(self, ctx, name):
        self._load_plugin_commands()
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx):
        self._load_plugin_commands()
        return click.Group.list_commands(self, ctx)

    def format_help(self, ctx, formatter):
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_commands(ctx, formatter)
        self.format_options(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text("`codetether-hub COMMAND --help` tells more about one.")

    def format_commands(self, ctx, formatter):
        listed = {name for _title, rows in SECTIONS for name, _line in rows}
        others = [
            (name, command.get_short_help_str(limit=60))
            for name in self.list_commands(ctx)
            if name not in listed and not (command := self.get_command(ctx, name)).hidden
        ]
        width = max(len(name) for _title, rows in (*SECTIONS, ("", others)) for name, _line in rows)
        for title, rows in (*SECTIONS, ("Other", others)):
            if rows:
                with formatter.section(title):  # one column width for all sections
                    formatter.write_dl([(name.ljust(width), line) for name, line in rows])

    def format_options(self, ctx, formatter):
        rows = [r for p in self.get_params(ctx) if (r := p.get_help_record(ctx))]
        with formatter.section("Options"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HubError as error:
            raise click.ClickException(error.message) from None
        except (OperationalError, ProgrammingError) as error:
            if _missing_table(error):
                raise click.ClickException(
                    "The database has no hub tables: run `codetether-hub db upgrade` first."
                ) from None
            raise


def _missing_table(error) -> bool:
    text = str(error.orig)
    return "no such table" in text or type(error.orig).__name__ == "UndefinedTable"


def load_app():
    """The hub, for the command being run. Only `up` and `db upgrade` create
    an instance folder; the rest refuse in one line where there is no hub."""
    command = _command_path(click.get_current_context(silent=True))
    if command in CREATE_INSTANCE:
        os.umask(0o077)  # the database and the secret key it writes are the owner's alone (as under `up`)
        settings.create_instance()
    elif command not in NO_DATABASE:
        problem = _no_hub_here()
        if problem:
            raise click.ClickException(problem)
    try:
        return create_app()
    except settings.SettingError as error:
        raise click.ClickException(str(error)) from None


def _command_path(ctx) -> tuple[str, ...]:
    """("db", "upgrade") for `codetether-hub db upgrade`, whether the app is
    loaded by the subcommand or by its group (Flask-Migrate's `db` does)."""
    names = [ctx.invoked_subcommand] if ctx is not None and ctx.invoked_subcommand else []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return tuple(reversed(names))


def _no_hub_here() -> str | None:
    instance = settings.instance_path()
    if not os.environ.get("DATABASE_URL") and not (instance / "hub.db").is_file():
        return (
            f"No hub database in {instance}: run this where the hub's instance folder is, set "
            "HUB_INSTANCE_PATH (or DATABASE_URL) to it, or create one here with `codetether-hub db upgrade`."
        )
    if not os.environ.get("SECRET_KEY") and not instance.is_dir():
        return (
            f"No instance folder at {instance}, which keeps the hub's SECRET_KEY: set HUB_INSTANCE_PATH "
            "to the hub's, or SECRET_KEY."
        )
    return None


@click.group(
    cls=HubGroup, create_app=load_app, add_version_option=False, load_dotenv=False, set_debug_flag=False, help=__doc__
)
def main():
    pass


main.add_command(users)
main.add_command(api_keys)
main.add_command(orgs_group)
main.add_command(clients)
main.add_command(up)
main.add_command(delivery_worker)
main.add_command(worker_alias)
main.add_command(worker_tokens)
main.add_command(agent_worker)
main.add_command(deliveries)
main.add_command(db_commands, "db")
