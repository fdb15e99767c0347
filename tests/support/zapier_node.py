"""Running Zapier's own npm runtime (tests/zapier/node_modules) from pytest.

The tests install it themselves when it is missing (``npm ci`` from
tests/zapier/package-lock.json, once, whichever test process gets there
first), so any test command works on a fresh checkout; without npm they
skip, naming the command to run."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from support import repo_root

HARNESS = repo_root() / "tests" / "zapier"
NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]


def node_modules(harness: Path = HARNESS) -> Path:
    """``harness``/node_modules, installed if it is not. npm ci writes
    node_modules/.package-lock.json last, so its presence means a whole
    install; an interrupted one is replaced (npm ci starts afresh)."""
    modules = harness / "node_modules"
    if (modules / ".package-lock.json").is_file():
        return modules
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(
            f"Node.js and npm are needed for Zapier's runtime: install them (Debian: apt-get install "
            f"nodejs npm), then run: cd {harness} && {' '.join(NPM_CI)}"
        )
    # One install at a time across test processes (pytest-xdist): the others
    # wait, then find it done.
    lock_path = Path(tempfile.gettempdir()) / f"npm-ci-{hashlib.sha256(str(harness).encode()).hexdigest()[:16]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / ".package-lock.json").is_file():
            env = dict(os.environ, DISABLE_ZAPIER_ANALYTICS="1", NO_UPDATE_NOTIFIER="1")
            done = subprocess.run(NPM_CI, cwd=harness, env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"`{' '.join(NPM_CI)}` in {harness} failed:\n{done.stdout}{done.stderr}"
    return modules


def node_env(**extra) -> dict:
    """Offline runtime: no Zapier logging/deploy credentials, no analytics."""
    node_modules()
    env = {k: v for k, v in os.environ.items() if k not in ("LOGGING_TOKEN", "ZAPIER_DEPLOY_KEY")}
    env.update(
        NODE_PATH=str(HARNESS / "node_modules"),
        NODE_ENV="test",
        DISABLE_ZAPIER_ANALYTICS="1",
        NO_UPDATE_NOTIFIER="1",
        **extra,
    )
    return env


def validate(app_dir) -> dict:
    done = subprocess.run(
        ["node", str(HARNESS / "validate.js"), str(app_dir)],
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Runtime:
    """tests/zapier/execute.js: one `node` running Zapier's core on an
    exported app, asked one method at a time, as Zapier's servers would."""

    def __init__(self, app_dir, auth_data: dict):
        self.app_dir, self.auth_data = Path(app_dir), auth_data
        self.process = subprocess.Popen(
            ["node", str(HARNESS / "execute.js"), str(app_dir)],
            env=node_env(),
            cwd=HARNESS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def answer(self, method: str, *, callback_url: str | None = None, **bundle) -> dict:
        """Core's answer: ``results`` and ``status``, or ``error``. With
        ``callback_url``, the resume URL Zapier gives the step."""
        request = {"method": method, "bundle": {"authData": self.auth_data, "inputData": {}, **bundle}}
        if callback_url:
            request["callback_url"] = callback_url
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        assert ready, f"no answer from Zapier's runtime to {method} in 60 s"
        return json.loads(self.process.stdout.readline())

    def run(self, method: str, **bundle):
        answer = self.answer(method, **bundle)
        assert "error" not in answer, (method, answer)
        return answer["results"]

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def connected_runtime(hub, app_dir, username: str, password: str) -> Runtime:
    """Zapier's runtime on the app exported from the live ``hub`` into
    ``app_dir``, connected as a new user ``username``: the OAuth connection as
    Zapier makes it, the app's scopes allowed on the hub's consent page."""
    from support.forms import Browser
    from support.oauth import connect, redirect_params

    hub.cli("zapier", "export", str(app_dir), "--base-url", hub.base)
    scope = json.loads((Path(app_dir) / "definition.json").read_text())["authentication"]["oauth2Config"]["scope"]
    hub.create_user(username, password=password)
    client = hub.create_client()
    code = redirect_params(connect(hub, Browser(hub), client, username, password, scope=scope))["code"]
    issued = hub.exchange(client, code)
    assert issued.status_code == 200 and issued.json()["scope"] == scope, issued.text
    return Runtime(app_dir, {"access_token": issued.json()["access_token"]})
