"""`codetether-hub zapier export`: a warning when Zapier could not reach the
base URL, and no files overwritten in a folder that is not empty."""

import json

import pytest
from click.testing import CliRunner

from hub.cli import main

# The export writes files from the declarations, reading no database: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only


def export(directory, *args):
    return CliRunner().invoke(main, ["zapier", "export", str(directory), *args])


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://127.0.0.1:5000", "a loopback address"),
        ("http://localhost:8000/", "a loopback address"),
        ("http://[::1]:5000", "a loopback address"),
        ("https://192.168.1.20", "a private address"),
        ("http://10.0.0.5:5000", "a private address"),
    ],
)
def test_a_base_url_zapier_cannot_reach_is_exported_with_a_warning(hub_env, tmp_path, base_url, reason):
    result = export(tmp_path / "app", "--base-url", base_url)
    assert result.exit_code == 0, result.output
    assert f"Warning: {base_url} is {reason}: Zapier's servers cannot reach it." in result.stderr
    assert "--base-url" in result.stderr
    assert base_url.rstrip("/") in (tmp_path / "app" / "definition.json").read_text()


@pytest.mark.parametrize(
    "args", [["--base-url", "https://hub.example.com"], ["--base-url", "env"], ["--base-url", "http://8.8.8.8"]]
)
def test_a_public_base_url_has_no_warning(hub_env, tmp_path, args):
    result = export(tmp_path / "app", *args)
    assert result.exit_code == 0 and "Warning" not in result.stderr


def test_a_folder_that_is_not_empty_needs_force(hub_env, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "package.json").write_text('{"name": "my own project"}')
    refused = export(folder, "--base-url", "https://hub.example.com")
    assert refused.exit_code == 1
    assert refused.output == f"Error: {folder} is not empty: pass --force to write the app's files there anyway.\n"
    assert json.loads((folder / "package.json").read_text()) == {"name": "my own project"}

    forced = export(folder, "--base-url", "https://hub.example.com", "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads((folder / "package.json").read_text())["name"] == "codetether-hub-zapier"
    # An empty folder is fine without --force.
    (tmp_path / "empty").mkdir()
    assert export(tmp_path / "empty", "--base-url", "https://hub.example.com").exit_code == 0
