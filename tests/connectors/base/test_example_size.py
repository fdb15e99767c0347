"""The guide's promise, kept by its example (tests/connectors/example_connector):
a connector with the seed's seven operations fits in under 150 lines of Python
and imports nothing of the hub but ``connectors.base``."""

import ast
import sys
from pathlib import Path

import pytest
from support import repo_root

pytestmark = pytest.mark.sqlite_only  # opens no database

PACKAGE = repo_root() / "tests/connectors/example_connector/codetether_example_connector"
ALLOWED = ("connectors.base", "marshmallow")  # and the standard library


def modules() -> list[Path]:
    found = sorted(PACKAGE.rglob("*.py"))
    assert found, PACKAGE
    return found


def test_the_example_package_is_under_150_lines():
    lines = sum(1 for path in modules() for line in path.read_text().splitlines() if line.strip())
    assert lines < 150, f"{lines} non-blank lines in {PACKAGE.name}"


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:  # not the package's own modules
            names.append(node.module or "")
    return names


def test_the_example_imports_only_connectors_base_marshmallow_and_the_standard_library():
    for path in modules():
        for name in imported(path):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or any(name == a or name.startswith(f"{a}.") for a in ALLOWED)
            assert allowed, f"{path.name} imports {name}"
            assert top != "hub", f"{path.name} imports {name}: a connector uses connectors.base.hub"
