"""The hub under gunicorn as deployed (gunicorn.conf.py, wsgi:app): JSON log
lines with the request id, no credential in any of them, /metrics adding up
across worker processes, and a clean exit on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import threading

import httpx
from conftest import free_port, repo_root, wait_for


def test_gunicorn_logs_json_without_secrets_and_metrics_add_up(hub_env, make_user, tmp_path):
    user = make_user("carol", password="a carol-only passphrase 7")
    port = free_port()
    env = dict(
        os.environ,
        HUB_PORT=str(port),
        HUB_WEB_WORKERS="2",
        HUB_WEB_THREADS="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=repo_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    base = f"http://127.0.0.1:{port}"

    def up():
        assert process.poll() is None, "".join(lines)
        try:
            return httpx.get(base + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, interval=0.1, message="gunicorn to answer")
        auth = {"Authorization": f"Bearer {user.key}"}
        with httpx.Client(base_url=base, timeout=30) as http:
            created = http.post("/api/v1/tasks", json={"title": "t", "prompt": "p"}, headers=auth)
            assert created.status_code == 201
            echoed = http.get("/api/v1/tasks", headers={**auth, "X-Request-ID": "lb-1234"})
            assert echoed.headers["X-Request-ID"] == "lb-1234"
            made = http.get("/api/v1/tasks", headers=auth).headers["X-Request-ID"]
            assert len(made) == 32
            # Credentials in the places they must never be logged from.
            assert http.get(f"/api/v1/tasks?api_key={user.key}&access_token={user.key}").status_code == 401
            assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {user.key}x"}).status_code == 401
            for _ in range(20):
                assert http.get("/healthz").status_code == 200
            # Several scrapes: whichever worker answers, the totals are the same.
            totals = set()
            for _ in range(4):
                text = http.get("/metrics").text
                line = next(
                    line
                    for line in text.splitlines()
                    if line.startswith("hub_http_requests_total")
                    and 'route="/healthz"' in line
                    and 'status="200"' in line
                )
                totals.add(float(line.rsplit(" ", 1)[1]))
            assert totals == {20.0}
            assert 'hub_tasks{status="pending"} 1.0' in text
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(40)
    assert code == 0, "".join(lines)

    wait_for(lambda: any("Shutting down" in line for line in lines), timeout=5, message="the last log lines")
    records = [json.loads(line) for line in lines]  # every line is JSON
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert {"method": "GET", "path": "/api/v1/tasks", "status": 200, "request_id": "lb-1234"}.items() <= next(
        r for r in access if r["request_id"] == "lb-1234"
    ).items()
    assert any(r["request_id"] == made for r in access)
    everything = "".join(lines)
    for secret in (user.key, user.key[3:], hub_env["SECRET_KEY"], "a carol-only passphrase 7"):
        assert secret not in everything
