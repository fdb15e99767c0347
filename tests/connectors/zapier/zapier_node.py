"""Running Zapier's own npm runtime (tests/zapier/node_modules) from pytest."""
from __future__ import annotations

import json
import os
import subprocess

from conftest import repo_root

HARNESS = repo_root() / "tests" / "zapier"


def node_env(**extra) -> dict:
    """Offline runtime: no Zapier logging/deploy credentials, no analytics."""
    env = {k: v for k, v in os.environ.items() if k not in ("LOGGING_TOKEN", "ZAPIER_DEPLOY_KEY")}
    env.update(NODE_PATH=str(HARNESS / "node_modules"), NODE_ENV="test", DISABLE_ZAPIER_ANALYTICS="1",
               NO_UPDATE_NOTIFIER="1", **extra)
    return env


def validate(app_dir) -> dict:
    done = subprocess.run(["node", str(HARNESS / "validate.js"), str(app_dir)], env=node_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
