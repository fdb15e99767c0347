"""``codetether-hub zapier export DIR --base-url URL`` (a ``flask.commands``
plugin, so the hub's CLI finds it the way Flask finds its commands)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup


@click.group("zapier", cls=AppGroup)
def zapier():
    """The Zapier app for this hub."""


@zapier.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-url",
    help="The hub's public URL the app calls. Default: HUB_BASE_URL. "
    "Pass 'env' to read it from the app's BASE_URL environment variable.",
)
@click.option(
    "--force", is_flag=True, help="Write into DIRECTORY even if it is not empty (its app files are replaced)."
)
def export_command(directory: Path, base_url: str | None, force: bool):
    """Write a Zapier CLI app package to DIRECTORY, ready for `zapier push`."""
    # Here, not at the top: the hub's CLI loads this module (a flask.commands
    # plugin) on every command, and the connector brings in the whole API.
    from connectors.zapier import connector
    from connectors.zapier.export import export, unreachable

    if base_url is None:
        base_url = current_app.config["HUB_BASE_URL"]
    elif base_url == "env":
        base_url = None
    elif not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--base-url")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise click.ClickException(f"{directory} is not empty: pass --force to write the app's files there anyway.")
    reason = base_url and unreachable(base_url)
    if reason:
        click.echo(
            f"Warning: {base_url} is {reason}: Zapier's servers cannot reach it. Export again with "
            "--base-url (or HUB_BASE_URL) set to the hub's public HTTPS URL.",
            err=True,
        )
    for path in export(connector, directory, base_url):
        click.echo(f"wrote {path}")
    click.echo(
        "Next: cd into it, `npm install`, `zapier register` (once), `zapier push`, then\n"
        "`zapier env:set 1.0.0 CLIENT_ID=... CLIENT_SECRET=...` with the client from\n"
        "`codetether-hub clients create --name Zapier --redirect-uri <Zapier's redirect URI>`."
    )
