"""The conformance kit itself (connectors.base.testing): what it says when
its connector is not mounted, and that its plugin costs another project's
pytest nothing."""

import os
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points

import pytest

from connectors.base.testing import ConnectorConformance
from hub import plugins

# The kit runs its own hub on SQLite: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only


def test_a_connector_not_mounted_fails_the_kit_naming_the_refusal_reasons(hub_settings, monkeypatch):
    real = list(entry_points(group=plugins.GROUP))
    broken = EntryPoint("zapper", "connectors.zapier:connector", plugins.GROUP)  # key does not match its name
    monkeypatch.setattr(plugins, "entry_points", lambda group: [*real, broken])
    monkeypatch.setenv("HUB_CONNECTORS_DISABLED", "example")
    from hub import create_app

    app = create_app({"TESTING": True})

    class Zapper(ConnectorConformance):
        connector_key = "zapper"

    with pytest.raises(pytest.fail.Exception) as failed:
        Zapper().mounted(app)

    message = str(failed.value)
    assert "connector 'zapper' is not mounted" in message
    [refusal] = [line for line in message.splitlines() if line.startswith("  zapper: ")]
    assert "'zapier'" in refusal  # the reason: the manifest's key is not the entry point's name
    assert "Disabled by the settings: ['example']" in message


def test_the_plugin_loads_in_any_pytest_run_without_importing_the_hub(tmp_path):
    """Installed with the hub, the plugin is loaded by every pytest run in the
    environment: it imports the hub only when a test asks for its fixtures."""
    (tmp_path / "test_other_project.py").write_text(
        "import sys\n\n"
        "def test_it():\n"
        "    assert 'connectors.base.testing.plugin' in sys.modules\n"
        "    assert [m for m in sys.modules if m.split('.')[0] in ('hub', 'flask', 'sqlalchemy')] == []\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST_", "PYTHON"))}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
