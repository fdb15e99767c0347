import pytest


@pytest.fixture
def live_url(app, serve):
    """The test's app on the in-process server, so parallel requests truly overlap."""
    return serve(app).base
