import pytest


@pytest.fixture(autouse=True)
def _quick_delivery(webhook_settings):
    """Every test here delivers with the quick settings (tests/support/delivery.py's FAST)."""
