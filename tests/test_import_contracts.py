"""The import contracts in pyproject.toml ([tool.importlinter]) hold: the hub
never imports a connector, the services and models never reach the web side,
the Zapier connector goes through connectors.base and the services, and the
rest. Run here too, so the README's test command checks them as CI does."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.sqlite_only  # no database: the SQLite pass is enough


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    # No cache: other checkouts' runs (and concurrent ones) must not answer for this tree.
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
