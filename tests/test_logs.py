"""Request ids and the credential scrubber behind every log line."""

import io
import json
import logging

import pytest

# Request ids and the log scrubber read no database: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ("lb-7f3a.9:2", "lb-7f3a.9:2"),
        ("has spaces", None),
        ("x" * 129, None),
        ("", None),
    ],
)
def test_request_id_is_echoed_or_made(client, sent, echoed):
    response = client.get("/healthz", headers={"X-Request-ID": sent} if sent else {})
    got = response.headers["X-Request-ID"]
    if echoed:
        assert got == echoed
    else:
        assert got != sent and len(got) == 32


def test_error_responses_carry_the_request_id_too(client):
    response = client.get("/api/v1/tasks", headers={"X-Request-ID": "abc"})
    assert response.status_code == 401 and response.headers["X-Request-ID"] == "abc"


@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        ("key %s rejected", ("ct_AbCdEf0123456789xyz",), "ct_AbCdEf0123456789xyz"),
        ("header was %r", ("Bearer eyJhbGciOi.J9xYz",), "eyJhbGciOi.J9xYz"),
        ("callback /cb?code=s3cr3tCODE&state=1", (), "s3cr3tCODE"),
        ("POST /oauth/token refresh_token=rt-abc123", (), "rt-abc123"),
        ("client_secret=very-secret-value", (), "very-secret-value"),
        ("token %s", ("cto_Zx9-AbCdEf0123456789",), "cto_Zx9-AbCdEf0123456789"),  # OAuth access token
        ("token %s", ("ctr_Zx9-AbCdEf0123456789",), "ctr_Zx9-AbCdEf0123456789"),  # refresh token
        ("secret %s", ("cts_Zx9-AbCdEf0123456789",), "cts_Zx9-AbCdEf0123456789"),  # client secret
    ],
)
def test_credentials_are_scrubbed_from_log_lines(message, args, secret):
    from hub.logs import JsonLineFormatter, RequestContextFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("hub.test_scrub")
    logger.addHandler(handler)
    try:
        logger.warning(message, *args)
        try:
            raise RuntimeError(message % args)
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert secret not in output
    assert "[redacted]" in json.loads(output.splitlines()[0])["message"]
