"""An organisation's tier limits are shared by its members: parallel creates
from two members never pass the org's unfinished-task limit together, while
each member's personal space keeps its own; the request rate is counted per
space too. A tier change applies at once (the principal cache is told)."""

from collections import Counter

import pytest
from support.parallel import parallel, post

TASK = {"title": "Fix the build", "prompt": "Make CI green"}


@pytest.fixture
def team(app, client):
    """A free-tier org (alice owner, bob member), each member's key acting in
    it and their personal keys."""
    from hub.db import db
    from hub.models import Membership
    from hub.services import accounts, spaces

    with app.app_context():
        for name in ("alice", "bob"):
            accounts.create_user(name, tier="free")
        space = spaces.new_space("org", "Team", slug="team", tier="free")
        spaces.furnish(space, accounts.get_user("alice"))
        db.session.add(Membership(space_pk=space.pk, user_pk=accounts.get_user("bob").pk, role="member"))
        db.session.commit()
        return {
            f"{name}@{where}": accounts.create_api_key(name, space_pk=space.pk if where == "team" else None)[1]
            for name in ("alice", "bob")
            for where in ("team", "own")
        }


def test_two_members_share_the_orgs_five_unfinished_tasks_and_keep_their_own(app, live_url, team):
    # 10 creates from each member in the org, 6 from each in their personal space, all at once.
    senders = ["alice@team", "bob@team"] * 10 + ["alice@own", "bob@own"] * 6
    responses = parallel(len(senders), lambda i: post(live_url, team[senders[i]], "/api/v1/tasks", TASK))
    made = Counter(senders[i] for i, r in enumerate(responses) if r.status_code == 201)
    assert made["alice@team"] + made["bob@team"] == 5, made
    assert made["alice@own"] == made["bob@own"] == 5, made  # each personal space: its own five
    refused = [r.json() for r in responses if r.status_code != 201]
    assert {r["code"] for r in refused} == {"concurrency_limit"}, refused
    assert {(r["limit"], r["tier"]) for r in refused} == {(5, "free")}
    listed = httpx_get(live_url, team["bob@team"], "/api/v1/tasks")
    assert len(listed) == 5  # the org's five, whoever made them

    # The owner raises the org's tier: the next create is admitted at once, by the same credentials.
    from hub.services import orgs

    with app.app_context():
        orgs.set_tier(None, "team", "pro")
    again = post(live_url, team["bob@team"], "/api/v1/tasks", TASK)
    assert again.status_code == 201, again.json()
    assert post(live_url, team["alice@own"], "/api/v1/tasks", TASK).json()["code"] == "concurrency_limit"


def test_the_orgs_request_rate_is_counted_across_its_members(live_url, team, set_hub_env):
    # 30 requests each from alice and bob in the org: the org's 60 a minute are used up together.
    seen = [
        httpx_get(live_url, team["alice@team" if i % 2 else "bob@team"], "/api/v1/me", full=True) for i in range(60)
    ]
    assert all(r.status_code == 200 for r in seen), [r.status_code for r in seen]
    assert [r.headers["RateLimit-Remaining"] for r in seen[-2:]] == ["1", "0"]  # one count for both members
    for key in ("alice@team", "bob@team"):
        refused = httpx_get(live_url, team[key], "/api/v1/me", full=True)
        assert refused.status_code == 429, refused.text
        assert refused.json()["tier"] == "free" and refused.json()["limit"] == 60
        assert (refused.headers["RateLimit-Limit"], refused.headers["RateLimit-Remaining"]) == ("60", "0")
    # Their personal spaces count their own requests.
    own = httpx_get(live_url, team["bob@own"], "/api/v1/me", full=True)
    assert own.status_code == 200 and own.headers["RateLimit-Remaining"] == "59"


def httpx_get(url, key, path, *, full=False):
    import httpx

    response = httpx.get(url + path, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return response if full else response.json()
