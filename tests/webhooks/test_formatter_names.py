"""A payload formatter's name is 1 to NAME_MAX characters (the hooks.format
column); the standard format sends the event's envelope itself."""

import pytest

from hub.webhooks import formatters


@pytest.fixture
def registry(monkeypatch):
    """Registrations made here are forgotten after the test."""
    monkeypatch.setattr(formatters, "_FORMATTERS", dict(formatters._FORMATTERS))


def test_a_name_is_1_to_name_max_characters(registry):
    def flat(event):
        return {"id": event["id"]}

    longest = "x" * formatters.NAME_MAX
    formatters.register(longest, flat)
    assert longest in formatters.names()
    for bad in ("", "x" * (formatters.NAME_MAX + 1)):
        with pytest.raises(ValueError, match="1 to 40 characters"):
            formatters.register(bad, flat)
        assert bad not in formatters.names()


def test_the_standard_format_is_the_envelope():
    envelope = {"id": "evt_1", "type": "task.created", "timestamp": "2026-12-07T00:00:00Z", "data": {"id": "task_1"}}
    assert formatters.standard(envelope) == envelope
