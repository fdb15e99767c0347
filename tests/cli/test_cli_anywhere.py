"""The CLI run where there is no hub: one line says so and what to do, and
nothing is left behind; only `db upgrade` (and `up`) create an instance.
`--help` shows the hub's commands, not Flask's."""

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.plugins import LOGGED, SAID_ELSEWHERE

# The SQLite pass is enough: run where no hub is set up, the CLI makes the
# instance's own SQLite database whichever database the pass tests.
pytestmark = pytest.mark.sqlite_only

NO_HUB = (
    "users list",
    "api-keys create demo",
    "clients list",
    "worker-tokens list",
    "deliveries list",
    "deliveries replay --subscription hook_x",
    "db current",
)


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A folder with no hub in it, and no hub settings in the environment."""
    for name in ("HUB_INSTANCE_PATH", "DATABASE_URL", "SECRET_KEY", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    # The connectors' "mounted" lines are logged once a process (on stderr, which
    # the runner mixes in): only the first app this test process builds logs them,
    # and these tests check what the command itself says, whatever ran before.
    monkeypatch.setenv(LOGGED, SAID_ELSEWHERE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("command", NO_HUB)
def test_commands_outside_a_hub_say_so_in_one_line_and_create_nothing(elsewhere, command):
    result = run(*command.split())
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    line = result.output
    assert f"No hub database in {elsewhere / 'instance'}" in line
    assert "HUB_INSTANCE_PATH" in line and "codetether-hub db upgrade" in line
    assert list(elsewhere.iterdir()) == []


def test_settings_only_commands_and_help_create_nothing(elsewhere):
    assert run("--help").exit_code == 0
    assert run("users", "--help").exit_code == 0
    exported = run("zapier", "export", "app", "--base-url", "https://hub.example.com")
    assert exported.exit_code == 0, exported.output
    assert [p.name for p in elsewhere.iterdir()] == ["app"]


def test_db_upgrade_creates_the_hub_then_commands_work(elsewhere):
    assert run("db", "upgrade").exit_code == 0
    assert {p.name for p in (elsewhere / "instance").iterdir()} >= {"hub.db", "secret_key"}
    created = run("users", "create", "root", "--admin")
    assert created.exit_code == 0, created.output
    assert "root" in run("users", "list").output


def test_a_database_without_tables_says_to_upgrade(elsewhere):
    (elsewhere / "instance").mkdir()
    (elsewhere / "instance" / "hub.db").touch()
    result = run("users", "list")
    assert result.exit_code == 1
    assert result.output == "Error: The database has no hub tables: run `codetether-hub db upgrade` first.\n"


def test_database_url_without_the_instance_that_keeps_the_secret_key(elsewhere, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{elsewhere / 'hub.db'}")
    result = run("deliveries", "list")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "SECRET_KEY" in result.output and "HUB_INSTANCE_PATH" in result.output
    assert list(elsewhere.iterdir()) == []


def test_help_lists_the_hubs_commands_first_and_hides_flasks(elsewhere):
    text = run("--help").output
    commands, options = text.index("Run a hub:"), text.index("Options:")
    assert commands < options
    for name in (
        "up",
        "delivery-worker",
        "agent-worker",
        "users",
        "api-keys",
        "clients",
        "worker-tokens",
        "db",
        "deliveries",
        "zapier",
    ):
        line = next(line for line in text[commands:options].splitlines() if line.split()[:1] == [name])
        assert len(line.split(None, 1)[1]) > 10, f"{name} has a one-line description"
    for hidden in ("run", "shell", "routes", "limiter", "openapi"):
        assert not any(line.split()[:1] == [hidden] for line in text.splitlines())
    for option in ("--app", "--env-file", "--debug"):
        assert option not in text
    for flasks in ("run", "shell", "routes"):  # Flask's development server is not the hub's `up`
        assert run(flasks, "--help").exit_code == 2
