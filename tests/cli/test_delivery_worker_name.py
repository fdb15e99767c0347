"""`codetether-hub delivery-worker` runs the webhook delivery worker (agent
workers are `agent-worker`); `worker`, its first name, is an alias. (`up`
runs `delivery-worker`: tests/cli/test_up_faults.py; the webhook tests run
`worker`.)"""

import pytest
from click.testing import CliRunner

from hub.cli import main

# The SQLite pass is enough: no database here.
pytestmark = pytest.mark.sqlite_only


def test_the_help_lists_delivery_worker_once_and_names_its_alias():
    lines = CliRunner().invoke(main, ["--help"]).output.splitlines()
    assert [line.split(None, 1)[1] for line in lines if line.split()[:1] == ["delivery-worker"]] == [
        "Send webhook deliveries (`up` runs one); alias: worker."
    ]
    assert not [line for line in lines if line.split()[:1] == ["worker"]]
    alias = CliRunner().invoke(main, ["worker", "--help"])
    assert alias.exit_code == 0 and "Alias of `delivery-worker`" in alias.output
