"""A regular install, as docs/deploy.md tells an admin to make one: the wheel
built from this checkout, installed (not editable) into a new virtualenv, and
the CLI run from a folder that is not the checkout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import venv
from pathlib import Path

import httpx
import pytest
from support import TEST_DATABASE, free_port, repo_root, wait_for

# The SQLite pass is enough: what the wheel holds does not depend on the
# database, and `db upgrade`, the CLI, gunicorn and the delivery worker on
# PostgreSQL are tested from the checkout (tests/migrations, tests/cli, tests/deploy).
pytestmark = pytest.mark.sqlite_only

# What the wheel is built from (a copy: an in-tree build leaves build/ behind).
SOURCES = (
    "setup.py",
    "setup.cfg",
    "pyproject.toml",
    "MANIFEST.in",
    "README.md",
    "wsgi.py",
    "gunicorn.conf.py",
    "hub",
    "connectors",
    "migrations",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a new virtualenv with the hub's wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        path = repo_root() / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    # This venv's setuptools builds it, so the test needs no network.
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(root / "dist"),
            str(source),
        ]
    )
    for warning in ("BuildBackendWarning", "SetuptoolsDeprecationWarning"):  # e.g. data folders as packages
        assert warning not in built.stdout + built.stderr, built.stdout + built.stderr
    [wheel] = (root / "dist").glob("codetether_hub-*.whl")
    venv.create(root / "venv", with_pip=False)
    python = root / "venv" / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])
    # The hub's dependencies come from the test's own venv (its site-packages
    # after the new one's, and none of its .pth files, so not the editable
    # checkout); the hub itself only from the wheel.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "_hub_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root / "venv" / "bin"


def _run(args, **kw):
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


def _clean_env(**settings) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "REDIS_", "DATABASE_", "SECRET_", "PROMETHEUS_", "PYTHON"))
    }
    return {**env, "HUB_WEB_WORKERS": "1", **settings}


class Process:
    """A long-running command whose output is kept."""

    def __init__(self, args, cwd, env, port=None, ready=None):
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()
        self.ready = ready or Process._answers
        try:
            wait_for(self._ready, timeout=90, interval=0.1, message=f"{args[:3]} to be ready")
        except BaseException:
            self.process.kill()
            raise

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError("exited early:\n" + self.output())
        return self.ready(self)

    def _answers(self):
        try:
            return httpx.get(self.base + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self):
        return "".join(self.lines)

    def stop(self, sig=signal.SIGINT) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("did not stop:\n" + self.output()) from None


def _create_and_get(base: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    created = httpx.post(
        base + "/api/v1/tasks", json={"title": "From a wheel", "prompt": "p"}, headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    got = httpx.get(f"{base}/api/v1/tasks/{created.json()['id']}", headers=headers, timeout=30)
    assert got.status_code == 200 and got.json()["title"] == "From a wheel"


def test_the_installed_hub_is_the_wheel(installed, tmp_path):
    where = _run([installed / "python", "-c", "import hub; print(hub.__file__)"], cwd=tmp_path, env=_clean_env())
    assert where.stdout.startswith(str(installed.parent)), where.stdout


@pytest.mark.skipif(TEST_DATABASE == "postgresql", reason="up runs on its own SQLite: the SQLite pass covers it")
def test_db_upgrade_users_and_up_from_a_wheel_in_any_folder(installed, tmp_path):
    cli = [str(installed / "codetether-hub")]
    env = _clean_env()
    _run([*cli, "db", "upgrade"], cwd=tmp_path, env=env)
    assert (tmp_path / "instance" / "hub.db").is_file()
    _run([*cli, "users", "create", "admin", "--admin", "--password", "a long password"], cwd=tmp_path, env=env)
    key = json.loads(_run([*cli, "api-keys", "create", "admin", "--json"], cwd=tmp_path, env=env).stdout)["key"]
    # A plugin command: found through the installed package's entry points.
    _run(
        [*cli, "zapier", "export", str(tmp_path / "zapier-app"), "--base-url", "https://hub.example.com"],
        cwd=tmp_path,
        env=env,
    )

    up = Process([*cli, "up", "--port", str(port := free_port())], tmp_path, env, port)
    try:
        _create_and_get(up.base, key)
    finally:
        code = up.stop()
    assert code == 0, up.output()
    assert "Traceback" not in up.output(), up.output()


@pytest.fixture
def empty_database_url(request, tmp_path):
    if TEST_DATABASE == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = server.create_database()
        yield server.url(name)
        server.drop_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'hub.db'}"


def test_the_deploy_guide_with_a_wheel(installed, tmp_path, empty_database_url, redis_server):
    """docs/deploy.md: settings in the environment, `db upgrade` once,
    gunicorn on hub.wsgi:app, a delivery worker."""
    port = free_port()
    env = _clean_env(
        DATABASE_URL=empty_database_url,
        REDIS_URL=redis_server.url,
        SECRET_KEY="deploy-secret",
        HUB_BASE_URL=f"http://127.0.0.1:{port}",
        HUB_INSTANCE_PATH=str(tmp_path / "var"),
    )
    cli = [str(installed / "codetether-hub")]
    _run([*cli, "db", "upgrade"], cwd=tmp_path, env=env)
    _run([*cli, "users", "create", "admin", "--admin", "--password", "a long password"], cwd=tmp_path, env=env)
    key = json.loads(_run([*cli, "api-keys", "create", "admin", "--json"], cwd=tmp_path, env=env).stdout)["key"]

    # As the systemd units: the worker shares the web's metrics folder, which gunicorn makes.
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    web = Process(
        [
            str(installed / "python"),
            "-m",
            "gunicorn",
            "-c",
            "python:hub.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "hub.wsgi:app",
        ],
        tmp_path,
        env,
        port,
    )
    worker = None
    try:
        worker = Process([*cli, "worker"], tmp_path, env, ready=lambda p: "worker listening" in p.output())
        assert httpx.get(web.base + "/readyz", timeout=30).status_code == 200
        _create_and_get(web.base, key)
        assert worker.process.poll() is None, worker.output()
    finally:
        if worker:  # killed: how a worker stops is tested with the worker; here it only had to run
            worker.process.kill()
        code = web.stop(signal.SIGTERM)
    assert code == 0, web.output()
    for process in (web, worker):
        assert "Traceback" not in process.output(), process.output()
