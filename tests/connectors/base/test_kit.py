"""The conformance kit itself (connectors.base.testing): what it says when
its connector is not mounted."""

from importlib.metadata import EntryPoint, entry_points

import pytest

from connectors.base.testing import ConnectorConformance
from hub import plugins


def test_a_connector_not_mounted_fails_the_kit_naming_the_refusal_reasons(hub_settings, monkeypatch):
    real = list(entry_points(group=plugins.GROUP))
    broken = EntryPoint("zapper", "connectors.zapier:connector", plugins.GROUP)  # key does not match its name
    monkeypatch.setattr(plugins, "entry_points", lambda group: [*real, broken])
    monkeypatch.setenv("HUB_CONNECTORS_DISABLED", "example")
    from hub import create_app

    app = create_app({"TESTING": True})

    class Zapper(ConnectorConformance):
        connector_key = "zapper"

    with pytest.raises(pytest.fail.Exception) as failed:
        Zapper().mounted(app)

    message = str(failed.value)
    assert "connector 'zapper' is not mounted" in message
    [refusal] = [line for line in message.splitlines() if line.startswith("  zapper: ")]
    assert "'zapier'" in refusal  # the reason: the manifest's key is not the entry point's name
    assert "Disabled by the settings: ['example']" in message
