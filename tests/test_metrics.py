"""/metrics in Prometheus' text format: requests by route and status, tasks by
status, queue depth, delivery attempts and latency."""

import pytest
from prometheus_client.parser import text_string_to_metric_families


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_requests_are_counted_by_route_template_and_status(client, alice):
    before = scrape(client)
    task = alice.create_task()
    alice.get(f"/api/v1/tasks/{task['id']}")
    alice.get("/api/v1/tasks/task_nope")
    client.get("/no/such/page")
    after = scrape(client)

    def delta(**labels):
        return value(after, "hub_http_requests_total", **labels) - value(before, "hub_http_requests_total", **labels)

    assert delta(method="POST", route="/api/v1/tasks", status="201") == 1
    assert delta(method="GET", route="/api/v1/tasks/<task_id>", status="200") == 1
    assert delta(method="GET", route="/api/v1/tasks/<task_id>", status="404") == 1
    assert delta(method="GET", route="unmatched", status="404") == 1


def test_tasks_by_status_and_queue_depth(client, alice, app):
    from hub import jobs

    first = alice.create_task()
    alice.create_task()
    alice.post(f"/api/v1/tasks/{first['id']}/cancel")
    waiting = value(scrape(client), "hub_queue_depth", queue="deliveries")  # no worker runs here
    with app.app_context():
        waiting = len(jobs.queue("deliveries"))  # the webhook dispatch job the events queued
        jobs.queue("deliveries").enqueue("builtins.print", "waiting")
    samples = scrape(client)
    assert value(samples, "hub_tasks", status="pending") == 1
    assert value(samples, "hub_tasks", status="cancelled") == 1
    assert value(samples, "hub_tasks", status="completed") == 0
    assert value(samples, "hub_queue_depth", queue="deliveries") == waiting + 1


def test_delivery_attempts_and_latency(client):
    from hub.metrics import observe_delivery

    before = scrape(client)
    observe_delivery("delivered", 0.02)
    observe_delivery("failed", 3.0)
    after = scrape(client)
    for outcome in ("delivered", "failed"):
        assert (
            value(after, "hub_delivery_attempts_total", outcome=outcome)
            - value(before, "hub_delivery_attempts_total", outcome=outcome)
            == 1
        )
    assert (
        value(after, "hub_delivery_duration_seconds_count") - value(before, "hub_delivery_duration_seconds_count") == 2
    )
    assert (
        value(after, "hub_delivery_duration_seconds_bucket", le="0.025")
        - value(before, "hub_delivery_duration_seconds_bucket", le="0.025")
        == 1
    )


# -- who may scrape -------------------------------------------------------------


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_without_a_token_only_loopback_clients_that_came_through_no_proxy_may_scrape(app):
    for address in ("127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"):
        assert from_address(app, address).get("/metrics").status_code == 200, address
    for address in ("10.0.0.5", "192.0.2.1", "2001:db8::1", "::ffff:10.0.0.5"):
        hidden = from_address(app, address).get("/metrics")
        assert hidden.status_code == 404 and hidden.json["code"] == "not_found", address
        assert b"hub_http_requests_total" not in hidden.data
    # A proxy on this host relays outside clients from 127.0.0.1.
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}):
        assert from_address(app, "127.0.0.1").get("/metrics", headers=header).status_code == 404


@pytest.fixture
def metrics_token(monkeypatch, hub_env):
    token = "metrics-" + "s3cret" * 6
    monkeypatch.setenv("HUB_METRICS_TOKEN", token)
    return token


def test_with_a_token_only_its_bearer_may_scrape_from_anywhere(metrics_token, app):
    prometheus = from_address(app, "10.0.0.5")
    scraped = prometheus.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert scraped.status_code == 200 and b"hub_http_requests_total" in scraped.data
    local = from_address(app, "127.0.0.1")  # loopback no longer suffices
    assert local.get("/metrics").status_code == 401
    for wrong in (metrics_token[:-1], metrics_token + "x", "", metrics_token.upper()):
        refused = local.get("/metrics", headers={"Authorization": f"Bearer {wrong}"})
        assert refused.status_code == 401 and b"hub_" not in refused.data


@pytest.fixture
def few_auth_failures(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_AUTH_FAILURE_RATE_LIMIT", "3/minute")


def test_guessing_the_metrics_token_is_limited_per_address(metrics_token, few_auth_failures, app):
    guesser = from_address(app, "10.0.0.66")
    statuses = [guesser.get("/metrics", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    limited = guesser.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert (
        from_address(app, "10.0.0.5").get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}).status_code
        == 200
    )
