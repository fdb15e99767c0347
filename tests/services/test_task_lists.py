"""Listing a user's tasks: pages and whether more follow, and each filter
(the Zapier searches and dropdowns use the ones the REST list does not)."""

import pytest

from hub.db import begin_write, db
from hub.services import tasks


@pytest.fixture
def user(app_ctx, make_user):
    from hub.services.accounts import get_user

    make_user("alice", tier="enterprise")  # more than five unfinished tasks
    return get_user("alice")


def titles(found):
    return [task.title for task in found]


@pytest.mark.parametrize(
    ("count", "limit", "pages"),
    [
        (4, 2, [(["t3", "t2"], True), (["t1", "t0"], False), ([], False)]),  # a last page exactly full
        (3, 2, [(["t2", "t1"], True), (["t0"], False)]),
        (2, 5, [(["t1", "t0"], False)]),
    ],
)
def test_pages_say_whether_more_follow(user, count, limit, pages):
    for i in range(count):
        tasks.create_task(user, title=f"t{i}", prompt="p")
    for page, (expected, more) in enumerate(pages):
        found, has_more = tasks.list_tasks(user, page=page, limit=limit)
        assert (titles(found), has_more) == (expected, more), page
    assert tasks.count_tasks(user) == count


def test_search_takes_percent_underscore_and_slash_literally(user):
    for title in ("50% done", "500 done", "a_b", "axb", "a/b", "ab", "A/B upper"):
        tasks.create_task(user, title=title, prompt="p")
    assert sorted(titles(tasks.list_tasks(user, search="50%")[0])) == ["50% done"]
    assert sorted(titles(tasks.list_tasks(user, search="a_b")[0])) == ["a_b"]
    assert sorted(titles(tasks.list_tasks(user, search="a/b")[0])) == ["A/B upper", "a/b"]
    assert tasks.count_tasks(user, search="DONE") == 2  # any case
    tasks.create_task(user, title="quiet title", prompt="the Needle is in the prompt")
    assert titles(tasks.list_tasks(user, search="needle")[0]) == ["quiet title"]  # the prompt counts too


def test_filters_by_statuses_id_and_codebase(user):
    from hub.services import codebases

    created = [tasks.create_task(user, title=f"t{i}", prompt="p") for i in range(3)]
    begin_write()
    tasks.transition(created[0], "running")
    tasks.transition(created[1], "cancelled")
    db.session.commit()
    assert titles(tasks.list_tasks(user, status=("pending", "running"))[0]) == ["t2", "t0"]
    assert titles(tasks.list_tasks(user, status="cancelled")[0]) == ["t1"]
    assert titles(tasks.list_tasks(user, task_id=created[1].id)[0]) == ["t1"]
    assert tasks.list_tasks(user, task_id=created[1].id, status="pending")[0] == []

    other = codebases.create_codebase(user, name="api", path="/srv/api")
    elsewhere = tasks.create_task(user, codebase_id=other.id, title="there", prompt="p")
    assert titles(tasks.list_tasks(user, codebase_id=other.id)[0]) == ["there"]
    assert tasks.count_tasks(user, codebase_id=elsewhere.codebase_id) == 1
    assert tasks.count_tasks(user, status=("pending", "running")) == 3


def test_time_filters_take_their_start_and_leave_out_their_end(user):
    from datetime import datetime, timedelta

    created = [tasks.create_task(user, title=f"t{i}", prompt="p") for i in range(3)]
    base = datetime(2026, 1, 1, 12, 0, 0)
    begin_write()
    for i, task in enumerate(created):  # a minute apart, finished an hour later
        task.created_at = base + timedelta(minutes=i)
        task.completed_at = base + timedelta(hours=1, minutes=i)
    db.session.commit()
    at, done = base + timedelta(minutes=1), base + timedelta(hours=1, minutes=1)
    assert titles(tasks.list_tasks(user, created_after=at)[0]) == ["t2", "t1"]
    assert titles(tasks.list_tasks(user, created_before=at)[0]) == ["t0"]
    assert titles(tasks.list_tasks(user, completed_after=done)[0]) == ["t2", "t1"]
    assert titles(tasks.list_tasks(user, completed_before=done)[0]) == ["t0"]
    assert tasks.count_tasks(user, created_after=at, created_before=base + timedelta(minutes=2)) == 1
