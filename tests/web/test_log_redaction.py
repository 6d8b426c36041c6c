"""Session tokens in `?token=` never reach the access log."""

from __future__ import annotations

import logging

import pytest

from weft.web.log_redaction import RedactTokenFilter, redact_tokens

pytestmark = pytest.mark.unit


def test_access_log_arguments_lose_the_token_value() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/workflows/abc?token=wst_secret&x=1", "1.1", 200),
        None,
    )
    assert RedactTokenFilter().filter(record)
    assert "wst_secret" not in record.getMessage()
    assert "/workflows/abc?token=***&x=1" in record.getMessage()


def test_other_parameters_are_left_alone() -> None:
    assert redact_tokens("/x?page=2&mytoken=1") == "/x?page=2&mytoken=1"
    assert redact_tokens("/events?a=1&token=abc") == "/events?a=1&token=***"
