"""A third party's connector, installed with pip from tests/connectors/
example_connector, is discovered, mounted and passes the conformance kit with
plain pytest in its own folder outside the hub's repository. The kit runs there
only: the same class in this suite would run the same checks on the same
connector a second time (Zapier's conformance class runs the kit in this suite)."""

import os
import shutil
import subprocess
import sys

import pytest
from support import repo_root

EXAMPLE = repo_root() / "tests/connectors/example_connector"


# The kit runs its own hub on SQLite (connectors.base.testing.plugin): nothing for the PostgreSQL pass.
@pytest.mark.sqlite_only
def test_its_own_tests_pass_with_plain_pytest_in_its_folder_outside_the_hub_repository(tmp_path):
    """As its author runs them: `python -m pytest` in a copy of the folder,
    with the environment's hub (the kit's plugin and fixtures installed with
    it) and nothing of this repository's tests/ (its conftest.py, fixtures,
    support modules)."""
    folder = tmp_path / "example_connector"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    assert not folder.resolve().is_relative_to(repo_root())
    # Nothing of this run's: its hub settings, xdist's worker, pytest options.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HUB_", "PYTEST_", "PYTHON"))
        and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    }

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfE"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    report = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert f"rootdir: {folder}" in run.stdout, report
    assert "tests/test_conformance.py" in run.stdout, report
    assert " passed" in run.stdout.splitlines()[-1], report


def test_it_is_an_installed_distribution_not_part_of_the_hub():
    from importlib.metadata import distribution

    dist = distribution("codetether-example-connector")
    assert any(ep.name == "example" and ep.group == "codetether_hub.connectors" for ep in dist.entry_points)


def test_its_routes_work_for_a_user(alice):
    body = {"title": "Explain", "prompt": "What does this repo do?", "agent_type": "general"}
    created = alice.post("/connectors/example/actions/create_task", json=body)
    assert created.status_code == 201 and created.json["task"]["status"] == "pending"
    task_id = created.json["task"]["id"]
    assert alice.get(f"/api/v1/tasks/{task_id}").json["agent_type"] == "general"
    found = alice.get(f"/connectors/example/searches/find_task?task_id={task_id}").json
    assert [item["task"]["id"] for item in found] == [task_id]
    cancelled = alice.post("/connectors/example/actions/cancel_task", json={"task_id": task_id})
    assert cancelled.status_code == 200 and cancelled.json["task"]["status"] == "cancelled"
    assert [step["id"] for step in cancelled.json["timeline"]] == ["created", "cancelled"]
    assert [item["task"]["id"] for item in alice.get("/connectors/example/triggers/new_task").json] == [task_id]
