"""Find Tasks (list): the matching tasks as one item, so one Zap step can post
a digest ("every day at 9, post yesterday's completed tasks to Slack")."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from connectors.base import hub

LIMIT = 100  # tasks listed; `count` says how many matched
RESULT_CHARS = 2000  # of a task's result in its line item (Find Task gives the whole)
EXCERPT_CHARS = 150  # of a result or error in the summary: a line a task keeps a post readable
STATES = ("created", "completed", "failed", "cancelled")


def find_tasks(user: hub.User, **filters: Any) -> list[dict[str, Any]]:
    """One digest of the tasks matching ``filters`` (Find Task's), newest first."""
    found, more = hub.list_tasks(user, limit=LIMIT, **filters)
    count = hub.count_tasks(user, **filters) if more else len(found)
    ids = ",".join(task["id"] for task in found)
    return [
        {
            "id": "digest_" + hashlib.sha256(f"{count}:{ids}".encode()).hexdigest()[:16],
            "count": count,
            "more": more,
            "summary": summary(found, count, filters),
            "tasks": [line(task) for task in found],
        }
    ]


LINE = ("id", "title", "status", "url", "result", "error", "created_at", "completed_at", "failed_at", "cancelled_at")


def line(task: hub.Task) -> dict[str, Any]:
    return {**{key: task[key] for key in LINE}, "result": _cut(task["result"], RESULT_CHARS)}


def summary(found: list[hub.Task], count: int, filters: dict[str, Any]) -> str:
    """A heading naming the filters, then a line per task (and an excerpt of
    its result or error), e.g. ``2 completed tasks, completed between … :``."""
    status = filters.get("status")
    noun = f"{status} task" if status else "task"
    heading = f"{count} {noun}{'' if count == 1 else 's'}{_where(filters)}"
    if not found:
        return f"No {noun}s{_where(filters)}."
    if count > len(found):
        heading += f" (the newest {len(found)} listed)"
    lines = [f"{heading}:"]
    for task in found:
        lines.append(f"- {task['title']} ({task['status']} {_at(_when(task))}): {task['url']}")
        text = task["result"] if task["status"] == "completed" else task["error"]
        if text:
            lines.append(f"  {_cut(' '.join(text.split()), EXCERPT_CHARS)}")
    return "\n".join(lines)


def _where(filters: dict[str, Any]) -> str:
    parts = []
    if filters.get("codebase_id"):
        parts.append(f"in {filters['codebase_id']}")
    if filters.get("external_id"):
        parts.append(f"for {filters['external_id']}")
    if filters.get("task_id"):
        parts.append(f"with ID {filters['task_id']}")
    for state in STATES:
        after, before = filters.get(f"{state}_after"), filters.get(f"{state}_before")
        if after and before:
            parts.append(f"{state} between {_at(after)} and {_at(before)}")
        elif after:
            parts.append(f"{state} since {_at(after)}")
        elif before:
            parts.append(f"{state} before {_at(before)}")
    return "".join(f", {part}" for part in parts)


REACHED = {"running": "started_at", "completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at"}


def _when(task: hub.Task) -> str:
    """When it reached its status (a pending task: when it was created)."""
    reached: str | None = task.get(REACHED.get(task["status"], ""))
    return reached or task["created_at"]


def _at(moment: datetime | str) -> str:
    """A filter's time, or a task's (the API's ISO 8601 in UTC), to the minute."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _cut(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"
