"""The hub under gunicorn as deployed (gunicorn.conf.py, wsgi:app): JSON log
lines with the request id, no credential in any of them, /metrics adding up
across worker processes, and a clean exit on SIGTERM."""

import json

import httpx
import pytest
from support import repo_root, wait_for

# The SQLite pass is enough: gunicorn's log lines, metrics and exit do not depend
# on the database.
pytestmark = pytest.mark.sqlite_only


def test_gunicorn_logs_json_without_secrets_and_metrics_add_up(hub_env, make_user, start_hub):
    user = make_user("carol", password="a carol-only passphrase 7")
    # From the checkout, as docs/deploy.md runs it: gunicorn reads ./gunicorn.conf.py.
    hub = start_hub(process=True, gunicorn=("wsgi:app",), cwd=repo_root(), HUB_WEB_WORKERS="2", HUB_WEB_THREADS="2")
    lines = hub.server.lines
    auth = {"Authorization": f"Bearer {user.key}"}
    with httpx.Client(base_url=hub.base, timeout=30) as http:
        created = http.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}, headers=auth)
        assert created.status_code == 201
        echoed = http.get("/api/v1/tasks", headers={**auth, "X-Request-ID": "lb-1234"})
        assert echoed.headers["X-Request-ID"] == "lb-1234"
        made = http.get("/api/v1/tasks", headers=auth).headers["X-Request-ID"]
        assert len(made) == 32
        # Credentials in the places they must never be logged from.
        assert http.get(f"/api/v1/tasks?api_key={user.key}&access_token={user.key}").status_code == 401
        assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {user.key}x"}).status_code == 401
        link_tokens = ("cti_" + "L" * 40, "cts_" + "S" * 40)  # an invitation's and a share link's, in the path
        assert http.get(f"/invitations/{link_tokens[0]}").status_code == 302  # to sign in
        assert http.get(f"/share/{link_tokens[1]}").status_code == 404
        for _ in range(20):
            assert http.get("/healthz").status_code == 200
        # Several scrapes: whichever worker answers, the totals are the same.
        totals = set()
        for _ in range(4):
            text = http.get("/metrics").text
            line = next(
                line
                for line in text.splitlines()
                if line.startswith("hub_http_requests_total") and 'route="/healthz"' in line and 'status="200"' in line
            )
            totals.add(float(line.rsplit(" ", 1)[1]))
        assert totals == {20.0}
        assert 'hub_tasks{status="pending"} 1.0' in text
    assert hub.stop() == 0, "".join(lines)  # SIGTERM: a clean stop

    wait_for(lambda: any("Shutting down" in line for line in lines), timeout=5, message="the last log lines")
    records = [json.loads(line) for line in lines]  # every line is JSON
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert {"method": "GET", "path": "/api/v1/tasks", "status": 200, "request_id": "lb-1234"}.items() <= next(
        r for r in access if r["request_id"] == "lb-1234"
    ).items()
    assert any(r["request_id"] == made for r in access)
    everything = "".join(lines)
    assert any(r["path"] == "/invitations/…" for r in access)
    for secret in (user.key, user.key[3:], hub_env["SECRET_KEY"], "a carol-only passphrase 7", *link_tokens):
        assert secret not in everything
