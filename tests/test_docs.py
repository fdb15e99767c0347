"""The guides say what the code does: every guide is listed, the deploy
guide's numbers are the code's, and the answers they describe look so."""

import importlib.util
import re

from support import repo_root

from hub.config import SETTINGS

DOCS = repo_root() / "docs"


def test_docs_readme_lists_every_guide():
    index = (DOCS / "README.md").read_text()
    guides = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert [g for g in guides if f"]({g})" not in index] == []


def test_the_deploy_guides_numbers_and_entry_point_are_the_codes():
    deploy = (DOCS / "deploy.md").read_text()
    poll = next(s.default for s in SETTINGS if s.name == "HUB_WORKER_POLL_SECONDS")
    assert f"`HUB_WORKER_POLL_SECONDS` ({poll} s)" in deploy
    from hub import gunicorn_conf

    assert f"`graceful_timeout`, {gunicorn_conf.graceful_timeout} s" in deploy
    stop = int(re.search(r"TimeoutStopSec=(\d+)\s+Restart=on-failure", deploy).group(1))
    assert stop > gunicorn_conf.graceful_timeout  # systemd lets gunicorn finish first
    assert "gunicorn -c python:hub.gunicorn_conf hub.wsgi:app" in deploy
    assert importlib.util.find_spec("hub.wsgi") is not None


def test_the_readme_names_the_lists_that_are_oldest_first(client):
    readme = (repo_root() / "README.md").read_text()
    paragraph = readme[readme.index("Lists are bare JSON arrays") :]
    paragraph = paragraph[: paragraph.index("\n\n")]
    paths = client.get("/openapi.json").json["paths"]
    oldest_first = [
        path
        for path, item in paths.items()
        if "get" in item and "oldest first" in (item["get"].get("summary", "") + item["get"].get("description", ""))
    ]
    assert oldest_first, "the API has lists in writing order"
    for path in oldest_first:
        assert re.sub(r"\{[^}]+\}", "<id>", path) in paragraph, path


def test_the_prometheus_folder_default_is_what_up_sets():
    readme = (repo_root() / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `PROMETHEUS_MULTIPROC_DIR` |"))
    assert "`up`: `metrics` in the instance folder" in row
    processes = (repo_root() / "hub" / "cli" / "processes.py").read_text()
    assert 'env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(instance / "metrics"))' in processes


def test_metrics_content_type_names_one_charset(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].count("charset") == 1


def test_a_loopback_webhook_target_names_the_setting_that_allows_it(alice, no_dns):
    response = alice.post("/api/v1/hooks", json={"event": "task.created", "target_url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 422
    message = response.json["errors"]["target_url"][0]
    assert "a loopback address" in message and "HUB_WEBHOOK_ALLOW_NETWORKS" in message
