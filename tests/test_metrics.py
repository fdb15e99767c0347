"""/metrics in Prometheus' text format: requests by route and status, tasks by
status, queue depth, delivery attempts and latency."""
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
        assert value(after, "hub_delivery_attempts_total", outcome=outcome) - \
            value(before, "hub_delivery_attempts_total", outcome=outcome) == 1
    assert value(after, "hub_delivery_duration_seconds_count") - value(before, "hub_delivery_duration_seconds_count") == 2
    assert value(after, "hub_delivery_duration_seconds_bucket", le="0.025") - \
        value(before, "hub_delivery_duration_seconds_bucket", le="0.025") == 1
