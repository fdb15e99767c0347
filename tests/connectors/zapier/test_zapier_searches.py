"""The searches, driven by Zapier's own runtime against a live hub (in this
process, on loopback): Find Tasks (list), the one-item digest a daily Zap
posts; Find Task's External ID and time filters; Find or Create Task (one
task per External ID when a Zap runs again); Cancel Task's link to Find Task.
Tasks finish through the hub's own services, as the worker API's would."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from support.zapier_node import connected_runtime

pytestmark = pytest.mark.sqlite_only  # Zapier's runtime asks nothing more of the database

USERNAME, PASSWORD = "sam", "correct horse battery"
TIMES = {"created_at", "completed_at", "failed_at", "cancelled_at"}
LINE_KEYS = {"id", "title", "status", "url", "result", "error", *TIMES}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Zap:
    """A connected Zapier account on a live hub."""

    def __init__(self, hub, runtime):
        self.hub, self.runtime = hub, runtime
        self.definition = json.loads((runtime.app_dir / "definition.json").read_text())

    def find(self, search: str, **filters) -> list[dict]:
        return self.runtime.run(f"searches.{search}.operation.perform", inputData=filters)

    def create_task(self, **fields) -> dict:
        return self.runtime.run("creates.create_task.operation.perform", inputData={"prompt": "p", **fields})

    def find_or_create(self, key: str, search_input: dict, create_input: dict) -> dict:
        """What Zapier does with the app's searchOrCreates[key]: the search,
        and the create only when the search finds nothing; the step's result
        is the first found or the created."""
        pair = self.definition["searchOrCreates"][key]
        found = self.find(pair["search"], **search_input)
        if found:
            return found[0]
        return self.runtime.run(f"creates.{pair['create']}.operation.perform", inputData=create_input)

    def finish(self, task: dict, status: str, **outcome) -> None:
        """The agent takes the task and ends it (``status``: completed or failed)."""
        from hub.db import db
        from hub.models import User
        from hub.services import tasks

        with self.hub.app.app_context():
            user = db.session.query(User).filter_by(username=USERNAME).one()
            row = tasks.get_task(user, task["id"])
            tasks.transition(row, "running")
            tasks.transition(row, status, **outcome)
            db.session.commit()
            db.session.remove()

    def completed_tasks(self, count: int) -> None:
        """``count`` tasks made and completed one after another (the free
        tier allows a few unfinished at once)."""
        from hub.db import db
        from hub.models import User
        from hub.services import tasks

        with self.hub.app.app_context():
            user = db.session.query(User).filter_by(username=USERNAME).one()
            for n in range(count):
                task = tasks.create_task(user, title=f"Task {n}", prompt="p")
                row = tasks.get_task(user, task.id)
                tasks.transition(row, "running")
                tasks.transition(row, "completed", result=f"Done {n}")
                db.session.commit()
            db.session.remove()


@pytest.fixture
def zap(start_hub, tmp_path):
    hub = start_hub()
    runtime = connected_runtime(hub, tmp_path / "app", USERNAME, PASSWORD)
    yield Zap(hub, runtime)
    runtime.stop()


def test_find_tasks_gives_one_digest_of_the_tasks_by_the_time_of_their_own_state(zap):
    start = datetime.now(UTC)
    fixed = zap.create_task(title="Fix the login bug")
    zap.finish(fixed, "completed", result="Fixed a missing null check in login.py;\n\ntests pass.")
    broke = zap.create_task(title="Upgrade the database")
    zap.finish(broke, "failed", error="The repository is gone.")
    waiting = zap.create_task(title="Write the changelog")
    end = datetime.now(UTC)

    # "Yesterday's completed tasks": the completed one only; the failed one has no completed_at.
    [digest] = zap.find("find_tasks", status="completed", completed_after=iso(start), completed_before=iso(end))
    assert (digest["count"], digest["more"]) == (1, False)
    [line] = digest["tasks"]
    assert set(line) == LINE_KEYS
    done = zap.find("find_task", task_id=fixed["id"])[0]
    assert {k: line[k] for k in LINE_KEYS} == {k: done[k] for k in LINE_KEYS}
    assert line["status"] == "completed" and line["url"].endswith(f"/tasks/{fixed['id']}") and not line["failed_at"]
    assert digest["summary"] == (
        f"1 completed task, completed between {start:%Y-%m-%d %H:%M} UTC and {end:%Y-%m-%d %H:%M} UTC:\n"
        f"- Fix the login bug (completed {done['completed_at'][:16].replace('T', ' ')} UTC): {line['url']}\n"
        "  Fixed a missing null check in login.py; tests pass."
    )

    # "Every hour, find failed tasks": found by failed_after, never by completed_after.
    [failed] = zap.find("find_tasks", failed_after=iso(start))
    assert [t["id"] for t in failed["tasks"]] == [broke["id"]] and failed["count"] == 1
    assert failed["tasks"][0]["error"] == "The repository is gone." and failed["tasks"][0]["failed_at"]
    assert "Upgrade the database (failed" in failed["summary"] and "The repository is gone." in failed["summary"]
    assert [t["id"] for t in zap.find("find_tasks", completed_after=iso(start))[0]["tasks"]] == [fixed["id"]]

    # Every task made since the start, newest first; none completed before it.
    [made] = zap.find("find_tasks", created_after=iso(start))
    assert [t["status"] for t in made["tasks"]] == ["pending", "failed", "completed"]
    assert [t["id"] for t in made["tasks"]] == [waiting["id"], broke["id"], fixed["id"]]
    [none] = zap.find("find_tasks", status="completed", completed_before=iso(start))
    assert (none["count"], none["tasks"]) == (0, [])
    assert none["summary"] == f"No completed tasks, completed before {start:%Y-%m-%d %H:%M} UTC."
    # The same tasks, the same digest id; other tasks, another.
    assert zap.find("find_tasks", created_after=iso(start))[0]["id"] == made["id"] != failed["id"]


def test_find_tasks_lists_the_newest_100_and_counts_every_match(zap):
    zap.completed_tasks(101)
    [digest] = zap.find("find_tasks", status="completed")
    assert (digest["count"], digest["more"], len(digest["tasks"])) == (101, True, 100)
    assert [t["title"] for t in digest["tasks"]] == [f"Task {n}" for n in range(100, 0, -1)]  # Task 0 left out
    heading, *lines = digest["summary"].split("\n")
    assert heading == "101 completed tasks (the newest 100 listed):"
    assert len(lines) == 200 and lines[0].startswith("- Task 100 (completed") and lines[1] == "  Done 100"


def test_find_task_by_external_id_and_by_the_time_of_each_state(zap):
    start = datetime.now(UTC)
    issue = zap.create_task(title="Fix #42", external_id="octo/app#42")
    other = zap.create_task(title="Fix #43", external_id="octo/app#43")
    zap.finish(issue, "failed", error="No access to octo/app.")
    zap.finish(other, "completed", result="Done.")

    [found] = zap.find("find_task", external_id="octo/app#42")
    assert (found["id"], found["external_id"], found["status"]) == (issue["id"], "octo/app#42", "failed")
    assert zap.find("find_task", external_id="octo/app#44") == []
    assert [t["id"] for t in zap.find("find_task", failed_after=iso(start))] == [issue["id"]]
    assert [t["id"] for t in zap.find("find_task", completed_after=iso(start))] == [other["id"]]
    assert zap.find("find_task", failed_before=iso(start)) == []
    assert [t["id"] for t in zap.find("find_task", created_after=iso(start))] == [other["id"], issue["id"]]
    assert zap.find("find_task", cancelled_after=iso(start)) == []
    # Bad input: Zapier shows the hub's error naming the field.
    answer = zap.runtime.answer("searches.find_task.operation.perform", inputData={"failed_after": "last tuesday"})
    assert "failed_after" in answer["error"]["message"]


def test_find_or_create_task_makes_one_task_per_external_id_when_the_zap_runs_again(zap):
    assert zap.definition["searchOrCreates"] == {
        "find_task": {
            "key": "find_task",
            "display": {
                "label": "Find or Create Task",
                "description": zap.definition["searchOrCreates"]["find_task"]["display"]["description"],
            },
            "search": "find_task",
            "create": "create_task",
        }
    }
    issue = {"external_id": "octo/app#7"}
    create = {"title": "Fix #7", "prompt": "The login page 500s", **issue}

    first = zap.find_or_create("find_task", issue, create)
    again = zap.find_or_create("find_task", issue, create)  # the Zap runs again for the same issue
    assert first["status"] == "pending" and again["id"] == first["id"] and again["title"] == "Fix #7"
    assert [t["id"] for t in zap.find("find_task", **issue)] == [first["id"]]  # one task, not two
    other = zap.find_or_create("find_task", {"external_id": "octo/app#8"}, {**create, "external_id": "octo/app#8"})
    assert other["id"] != first["id"]

    # Cancel Task's field takes what a Find Task step found.
    cancelled = zap.runtime.run("creates.cancel_task.operation.perform", inputData={"task_id": again["id"]})
    assert (cancelled["id"], cancelled["status"]) == (first["id"], "cancelled")


def test_the_definition_links_cancel_task_to_find_task_and_lists_digest_line_items(client):
    app = client.get("/connectors/zapier/definition.json").json
    [task_field] = app["creates"]["cancel_task"]["operation"]["inputFields"]
    assert task_field["search"] == "find_task.id"
    assert task_field["dynamic"] == "cancellable_task_choices.id.label"  # the dropdown stays

    digest = app["searches"]["find_tasks"]
    assert digest["display"]["label"] == "Find Tasks (list)"
    outputs = {f["key"]: f for f in digest["operation"]["outputFields"]}
    assert [outputs[k].get("type") for k in ("count", "more", "summary")] == ["integer", "boolean", "string"]
    assert {c["key"] for c in outputs["tasks"]["children"]} == LINE_KEYS and "type" not in outputs["tasks"]
    inputs = {f["key"]: f for f in digest["operation"]["inputFields"]}
    assert inputs == {f["key"]: f for f in app["searches"]["find_task"]["operation"]["inputFields"]}
    for state in ("created", "completed", "failed", "cancelled"):
        assert inputs[f"{state}_after"]["type"] == inputs[f"{state}_before"]["type"] == "datetime"
    assert inputs["external_id"]["type"] == "string"


def test_a_search_or_create_must_pair_a_declared_search_and_action():
    from dataclasses import replace

    from connectors.base import InvalidConnector, SearchOrCreate, validate
    from connectors.zapier.declarations import connector

    pair = SearchOrCreate(search="find_tusk", action="create_tusk", label="Find or Create", description="d")
    with pytest.raises(InvalidConnector) as refused:
        validate(replace(connector, search_or_creates=(*connector.search_or_creates, pair)))
    assert refused.value.problems == [
        "search-or-create 'find_tusk': search 'find_tusk' is not declared",
        "search-or-create 'find_tusk': action 'create_tusk' is not declared",
    ]
