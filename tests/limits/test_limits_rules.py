"""Request limits (hub/limits.py): what each refusal tells the caller, and
whose address a per-address limit counts behind trusted proxies."""

import pytest

# The SQLite pass is enough: the limits are counted and decided in Redis; the
# database only holds the users and their credentials here.
pytestmark = pytest.mark.sqlite_only


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def three_of_each(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=3/minute")
    monkeypatch.setenv("HUB_AUTH_FAILURE_RATE_LIMIT", "3/minute")
    monkeypatch.setenv("HUB_TOKEN_RATE_LIMIT", "3/minute")


def test_each_refusal_says_which_limit_it_met(three_of_each, app, make_user):
    from hub.services import oauth

    user = make_user("tess")
    for _ in range(3):
        assert user.get("/api/v1/me").status_code == 200
    tier = user.get("/api/v1/me")
    assert tier.status_code == 429 and tier.json["code"] == "rate_limited"
    assert tier.json["message"] == (
        "Rate limit of the free tier reached: 3 requests per 60 s. Retry after the time in Retry-After."
    )
    assert (tier.json["status"], tier.json["limit"], tier.json["window_seconds"], tier.json["tier"]) == (
        429,
        3,
        60,
        "free",
    )

    guesser = from_address(app, "10.0.0.66")
    for _ in range(3):
        assert guesser.get("/api/v1/me", headers=bearer("ct_wrong")).status_code == 401
    failures = guesser.get("/api/v1/me", headers=bearer("ct_wrong"))
    assert failures.status_code == 429 and "tier" not in failures.json
    assert failures.json["message"] == (
        "Too many failed authentications from this address: 3 per 60 s. Retry after the time in Retry-After."
    )

    with app.app_context():
        client, _secret = oauth.create_client("Zapier", ["https://zapier.com/dashboard/auth/oauth/return/App1/"])
        wrong = {"token": "cto_x", "client_id": client.client_id, "client_secret": "cts_guess"}
    prober = from_address(app, "10.0.0.67")
    for _ in range(3):
        assert prober.post("/oauth/introspect", data=wrong).status_code == 401
    secrets = prober.post("/oauth/introspect", data=wrong)
    assert secrets.status_code == 429 and "tier" not in secrets.json
    assert secrets.json["message"] == (
        "Too many attempts: 3 per 60 s from this address. Retry after the time in Retry-After."
    )
    assert 1 <= int(secrets.headers["Retry-After"]) <= 60
    # Written once, by the hub (flask-limiter's own writer is off).
    assert [secrets.headers.getlist(name) for name in ("X-RateLimit-Limit", "RateLimit-Limit", "Retry-After")] == [
        ["3"],
        ["3"],
        [secrets.headers["Retry-After"]],
    ]


@pytest.fixture
def behind_proxies(monkeypatch, three_of_each):
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "127.0.0.1, 10.9.0.0/16")


def guesses(client, forwarded=None, count=4):
    headers = {**bearer("ct_wrong"), **({"X-Forwarded-For": forwarded} if forwarded is not None else {})}
    return [client.get("/api/v1/me", headers=headers).status_code for _ in range(count)]


def test_a_chain_of_trusted_proxies_only_counts_its_first_hop(behind_proxies, app):
    proxy = from_address(app, "127.0.0.1")
    assert guesses(proxy, "10.9.0.5, 10.9.0.4") == [401, 401, 401, 429]
    assert guesses(proxy, "10.9.0.6, 10.9.0.4", count=1) == [401]  # another first hop: its own count
    assert guesses(proxy, " 10.9.0.5 ,10.9.0.9", count=1) == [429]  # the same first hop, spaces and all


def test_a_trusted_proxy_without_x_forwarded_for_is_counted_itself(behind_proxies, app):
    proxy = from_address(app, "10.9.0.4")
    assert guesses(proxy) == [401, 401, 401, 429]
    assert guesses(from_address(app, "10.9.0.8"), count=1) == [401]


def test_a_hop_that_is_no_address_is_the_client(behind_proxies, app):
    proxy = from_address(app, "127.0.0.1")
    assert guesses(proxy, "unknown, 10.9.0.4") == [401, 401, 401, 429]
    assert guesses(proxy, "203.0.113.9, 10.9.0.4", count=1) == [401]


@pytest.fixture
def two_a_minute(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=2/minute")


def test_agent_workers_and_a_hub_with_limits_off_are_not_limited(two_a_minute, app, alice, client):
    from hub import create_app
    from hub.services import workers

    with app.app_context():
        _token, plain = workers.create_token("w")
    headers = bearer(plain)
    wid = client.post("/api/v1/worker/register", json={"name": "w"}, headers=headers).json["worker_id"]
    claims = [client.post(f"/api/v1/worker/{wid}/claim", json={}, headers=headers) for _ in range(4)]
    assert [r.status_code for r in claims] == [200] * 4  # the hub's own infrastructure, not a user's traffic
    assert "RateLimit-Limit" not in claims[-1].headers

    unlimited = create_app({"TESTING": True, "RATELIMIT_ENABLED": False}).test_client()
    answers = [unlimited.get("/api/v1/me", headers=alice.headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4 and "RateLimit-Limit" not in answers[-1].headers
    wrong = [unlimited.get("/api/v1/me", headers=bearer("ct_wrong")).status_code for _ in range(12)]
    assert wrong == [401] * 12  # failed authentications are not limited either


def test_the_fixed_window_strategy_counts_and_refuses_in_a_fixed_window(two_a_minute, hub_env, alice):
    import redis

    from hub import create_app

    fixed = create_app({"TESTING": True, "RATELIMIT_STRATEGY": "fixed-window"}).test_client()
    answers = [fixed.get("/api/v1/me", headers=alice.headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["1", "0", "0"]
    assert answers[2].json["tier"] == "free" and 1 <= int(answers[2].headers["Retry-After"]) <= 60
    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    (key,) = store.keys("*hub-limit-fixed-window*")
    assert store.type(key) == b"string"  # a counter: the strategy asked for, not the hub's moving window


def test_limits_work_on_a_redis_reached_by_its_unix_socket(two_a_minute, hub_env, alice, tmp_path):
    import redis

    from hub import create_app
    from hub.embedded_redis import EmbeddedRedis

    local = EmbeddedRedis(tmp_path / "socket-redis").start()
    try:
        assert local.url.startswith("unix://")
        app = create_app({"TESTING": True, "REDIS_URL": local.url})
        client = app.test_client()
        assert [client.get("/api/v1/me", headers=alice.headers).status_code for _ in range(3)] == [200, 200, 429]
        assert redis.Redis.from_url(local.url).keys("*hub-limit*")  # counted there, not in the process's memory
    finally:
        local.stop()


def test_flask_limiters_redis_errors_are_one_outage_and_its_other_errors_pass(app, caplog):
    import logging

    from redis.exceptions import ConnectionError as RedisConnectionError

    from hub import create_app
    from hub.limits import REDIS_DOWN

    library = logging.getLogger("flask-limiter")
    for installed in [f for f in library.filters if type(f).__name__ == "_FailOpenFilter"]:
        library.removeFilter(installed)  # as in a fresh process: the first app installs it
    create_app({"TESTING": True})
    caplog.set_level(logging.WARNING)
    try:
        raise ValueError("a bug")
    except ValueError:
        library.error("Failed to rate limit", exc_info=True)
    try:
        raise RedisConnectionError("refused")
    except RedisConnectionError:
        library.error("Failed to rate limit", exc_info=True)
    try:
        assert [r.getMessage() for r in caplog.records if r.name == "flask-limiter"] == ["Failed to rate limit"]
        assert [r.exc_info[0] for r in caplog.records if r.name == "flask-limiter"] == [ValueError]
        assert any("not enforced while Redis is unreachable" in r.getMessage() for r in caplog.records)
    finally:
        REDIS_DOWN.cleared()


def test_behind_trusted_proxies_a_direct_client_still_counts_as_itself(behind_proxies, app):
    direct = from_address(app, "10.0.0.66")  # not a trusted proxy: its X-Forwarded-For means nothing
    statuses = [guesses(direct, f"198.51.100.{n}", count=1)[0] for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_a_hop_that_is_no_address_is_never_taken_for_a_proxy(behind_proxies, app):
    proxy = from_address(app, "127.0.0.1")
    # The hop before it could be anything its sender wrote: "unknown" is the client.
    statuses = [guesses(proxy, f"203.0.113.{n}, unknown, 10.9.0.4", count=1)[0] for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_failed_authentications_redis_cannot_count_are_logged_as_the_outage(own_redis, app, client, caplog):
    import logging

    from hub.limits import REDIS_DOWN

    REDIS_DOWN.cleared()  # an outage an earlier test left open in this process
    own_redis.stop()
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="hub.limits")
    assert [client.get("/api/v1/me", headers=bearer("ct_wrong")).status_code for _ in range(3)] == [401] * 3
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.limits"]
    assert len(lines) == 1 and "not enforced while Redis is unreachable" in lines[0], lines
    assert "failed authentications not counted" in lines[0]


def test_the_outage_ends_when_failed_authentications_are_counted_again(own_redis, hub_env, caplog):
    """With flask-limiter's own strategies too (the hub's moving window also
    says so when Redis answers it)."""
    import logging

    from hub import create_app
    from hub.limits import REDIS_DOWN

    client = create_app({"TESTING": True, "RATELIMIT_STRATEGY": "fixed-window"}).test_client()
    REDIS_DOWN.cleared()  # an outage an earlier test left open in this process
    own_redis.stop()
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="hub.limits")
    assert client.get("/api/v1/me", headers=bearer("ct_wrong")).status_code == 401
    own_redis.start()
    assert client.get("/api/v1/me", headers=bearer("ct_wrong")).status_code == 401  # no tier limit on this path
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.limits"]
    assert len(lines) == 2 and "cleared after" in lines[1], lines


@pytest.fixture
def two_windows(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_TIER_RATE_LIMITS", "free=5/minute;3/hour")


def test_flask_limiters_own_strategies_report_the_shortest_window_until_one_refuses(two_windows, alice):
    from hub import create_app

    fixed = create_app({"TESTING": True, "RATELIMIT_STRATEGY": "fixed-window"}).test_client()
    answers = [fixed.get("/api/v1/me", headers=alice.headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [(r.headers["RateLimit-Limit"], r.headers["RateLimit-Remaining"]) for r in answers] == [
        ("5", "4"),
        ("5", "3"),
        ("5", "2"),
        ("3", "0"),
    ]


def test_the_outage_ends_when_a_tier_limit_is_counted_again(hub_env, make_user, caplog):
    """flask-limiter's own strategies: the tier limit says so too, for a
    credential the process already knows (no failed-authentication read).
    Redis paused for writes: the limit's hit times out, the principal
    cache's subscription stays."""
    import logging

    import redis

    from hub import create_app
    from hub.limits import REDIS_DOWN

    store = redis.Redis.from_url(hub_env["REDIS_URL"])
    user = make_user("olga")
    user.client = create_app({"TESTING": True, "RATELIMIT_STRATEGY": "fixed-window"}).test_client()
    assert user.get("/api/v1/me").status_code == 200  # the credential now known to this process
    REDIS_DOWN.cleared()  # an outage an earlier test left open in this process
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="hub.limits")
    store.execute_command("CLIENT", "PAUSE", 20000, "WRITE")
    try:
        assert user.get("/api/v1/me").status_code == 200  # fails open
    finally:
        store.execute_command("CLIENT", "UNPAUSE")
    assert user.get("/api/v1/me").headers["RateLimit-Limit"] == "60"  # counted again
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.limits"]
    assert len(lines) == 2 and "cleared after" in lines[1], lines


def test_headers_flask_limiter_cannot_read_are_left_out_and_logged_as_the_outage(own_redis, three_of_each, app, caplog):
    """Its own strategies read the window after the hit: a Redis that took
    the hit and refuses the read (here: TTL denied to the hub) costs the
    headers, never the answer."""
    import logging

    import redis

    from hub import create_app
    from hub.limits import REDIS_DOWN

    fixed = create_app({"TESTING": True, "RATELIMIT_STRATEGY": "fixed-window"}).test_client()
    wrong = {"token": "cto_x", "client_id": "cli_none", "client_secret": "cts_guess"}
    first = fixed.post("/oauth/introspect", data=wrong)
    assert first.status_code == 400 and first.headers["X-RateLimit-Remaining"] == "2"  # no such client
    REDIS_DOWN.cleared()
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="hub.limits")
    redis.Redis.from_url(own_redis.url).execute_command("ACL", "SETUSER", "default", "-ttl")
    answer = fixed.post("/oauth/introspect", data=wrong)
    assert answer.status_code == 400 and answer.json == first.json and "X-RateLimit-Remaining" not in answer.headers
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.limits"]
    assert len(lines) == 1 and "rate limit headers left out" in lines[0], lines
    REDIS_DOWN.cleared()
