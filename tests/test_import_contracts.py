"""The import contracts in pyproject.toml ([tool.importlinter]) hold: the hub
never imports a connector, the services and models never reach the web side,
connectors (Zapier, the example package) reach the hub only through
connectors.base, and the rest. Run here too, so the README's test command
checks them as CI does."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The example connector's own folder first: the contracts read its code as it is here, installed or not.
EXAMPLE = ROOT / "tests" / "connectors" / "example_connector"

pytestmark = pytest.mark.sqlite_only  # no database: the SQLite pass is enough


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    # No cache: other checkouts' runs (and concurrent ones) must not answer for this tree.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
