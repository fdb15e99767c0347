"""A delivery's status has one owner, hub/webhooks/states.py: its tables are
the documented ones, it refuses a move they do not allow (writing nothing),
and no other module writes a delivery's status."""

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from support.delivery import deliveries, subscribe

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "hub" / "webhooks" / "states.py"


def documented_moves() -> dict[str, set[tuple[str, str]]]:
    """docs/webhooks.md's "Delivery states" table: {"new"|"plain"|"replay": {(from, to)}}."""
    section = (ROOT / "docs" / "webhooks.md").read_text().split("### Delivery states", 1)[1]
    moves: dict[str, set[tuple[str, str]]] = {"new": set(), "plain": set(), "replay": set()}
    for source, new, when in re.findall(r"^\| (\(new\)|`\w+`) \| `(\w+)` \| (.+?) \|$", section, re.M):
        kind = "new" if source == "(new)" else "replay" if when == "replay only" else "plain"
        moves[kind].add((source.strip("`"), new))
    return moves


def test_the_tables_are_the_documented_ones():
    from hub.models.webhooks import DELIVERY_STATUSES
    from hub.webhooks import states

    def pairs(table):
        return {(source, new) for source, targets in table.items() for new in targets}

    documented = documented_moves()
    assert set(states.TRANSITIONS) == set(DELIVERY_STATUSES)
    assert documented["new"] == {("(new)", states.INITIAL)}
    assert pairs(states.TRANSITIONS) == documented["plain"]
    assert pairs(states.REPLAYS) == documented["replay"]


def test_an_illegal_move_is_refused_and_writes_nothing(app, alice, receiver):
    from sqlalchemy import select

    from hub.db import db, utcnow
    from hub.models import Delivery
    from hub.webhooks import delivery, in_flight, outcomes, states
    from hub.webhooks.sender import Outcome

    hook = subscribe(alice, receiver, "task.created")
    alice.create_task()  # no worker runs: this test drives the fan-out and its outcome itself
    with app.app_context():
        _, [planned] = delivery.fan_out(app.config)
        outcomes.record([planned], [Outcome(200, 1.0)], [utcnow()], app.config)
        done = db.session.scalar(select(Delivery).where(Delivery.id == planned.delivery_id))
        assert done.status == "delivered" and done.next_attempt_at is None

        # delivered -> retrying is a replay's move, nobody else's; delivered -> sending is nobody's.
        later = utcnow() + timedelta(minutes=5)
        with pytest.raises(states.IllegalTransition, match=r"'delivered' to 'retrying' \(only a replay may\)"):
            states.transition(done, "retrying", next_attempt_at=later)
        with pytest.raises(states.IllegalTransition, match="'delivered' to 'sending'"):
            states.row("delivered", "sending", utcnow(), pk=done.pk)
        with pytest.raises(states.IllegalTransition, match="'delivered' to 'sending'"):
            states.moving("delivered", "sending", utcnow())
        with pytest.raises(states.IllegalTransition, match="'sending' to 'retrying' by a replay"):
            states.check("sending", "retrying", replay=True)
        db.session.commit()
        db.session.expire_all()
        assert done.status == "delivered" and done.next_attempt_at is None

        # A stopping worker or a stalled lane handing the (long recorded) attempt back leaves it alone.
        assert in_flight.hand_back([planned]) == 0
        outcomes.release([planned], later)
        db.session.expire_all()
        assert done.status == "delivered" and done.attempts == 1

    # The documented path: a replay makes it `retrying`; while it is, a second replay is refused.
    assert alice.post(f"/api/v1/deliveries/{planned.delivery_id}/replay").status_code == 202
    [replayed] = deliveries(alice, hook["id"])
    assert replayed["status"] == "retrying"
    again = alice.post(f"/api/v1/deliveries/{planned.delivery_id}/replay")
    assert again.status_code == 409 and again.json["code"] == "delivery_in_progress"


def _status_writes(tree: ast.AST, statuses: tuple[str, ...]) -> list[int]:
    """Lines that write a `status`: `x.status = `, `x["status"] = `,
    `{"status": "failed"}`, `.values(status=...)`, `Delivery(status=...)`,
    `status="failed"` as an argument, `setattr(x, "status", ...)`."""

    def is_status(node):
        return isinstance(node, ast.Constant) and node.value == "status"

    def is_delivery_status(node):
        return isinstance(node, ast.Constant) and node.value in statuses

    lines = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if (isinstance(target, ast.Attribute) and target.attr == "status") or (
                isinstance(target, ast.Subscript) and is_status(target.slice)
            ):
                lines.append(node.lineno)
        if isinstance(node, ast.Dict) and any(
            is_status(key) and is_delivery_status(value) for key, value in zip(node.keys, node.values, strict=True)
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for keyword in node.keywords:
                if keyword.arg == "status" and (name in ("values", "Delivery") or is_delivery_status(keyword.value)):
                    lines.append(node.lineno)
            if name == "setattr" and len(node.args) > 1 and is_status(node.args[1]):
                lines.append(node.lineno)
    return sorted(lines)


def test_only_the_owner_writes_a_delivery_status():
    """So the rule stays in one place: every module that touches deliveries
    changes their status through hub/webhooks/states.py."""
    from hub.models.webhooks import DELIVERY_STATUSES

    writers = {}
    for path in sorted((ROOT / "hub").rglob("*.py")):
        source = path.read_text()
        if path == OWNER or not re.search(r"\bDelivery\b", source):
            continue
        lines = _status_writes(ast.parse(source), DELIVERY_STATUSES)
        if lines:
            writers[str(path.relative_to(ROOT))] = lines
    assert writers == {}, f"a delivery's status is written outside hub/webhooks/states.py: {writers}"
    # The check finds the forms it looks for.
    assert _status_writes(
        ast.parse('d.status = "failed"\nupdate(T).values(status=s)\nrows = [{"status": "sending"}]'), DELIVERY_STATUSES
    ) == [1, 2, 3]
