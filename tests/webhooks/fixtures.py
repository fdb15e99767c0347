"""Moved: the fixtures are in tests/fixtures/webhooks.py (every test gets
them through the root conftest.py), the helpers in tests/support/delivery.py.
Left only until the last module that imports it from here is changed."""

from support.delivery import deliveries, subscribe, undispatched, wait_delivery, wait_dispatched  # noqa: F401  (re-exported)
