"""Webhook tokens, the secret part of a webhook address, never reach a log line."""

from __future__ import annotations

import logging

from sync.logging import RedactWebhookTokens, redact


def test_tokens_are_redacted_from_messages_and_access_lines():
    assert redact('"POST /hooks/getresponse/s3cr3t-T0ken/?secret=x HTTP/1.1" 400') == (
        '"POST /hooks/getresponse/***/?secret=x HTTP/1.1" 400'
    )
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        "",
        0,
        "Bad Request: %s",
        ("/hooks/carddav/abc123/",),
        None,
    )
    RedactWebhookTokens().filter(record)
    assert record.getMessage() == "Bad Request: /hooks/carddav/***/"


def test_a_rejected_webhook_logs_no_token(client, gr_token, caplog, settings):
    # The handler every log line goes through carries the filter...
    assert "redact_webhook_tokens" in settings.LOGGING["handlers"]["console"]["filters"]
    caplog.handler.addFilter(RedactWebhookTokens())
    with caplog.at_level(logging.INFO):
        client.generic(
            "POST", f"/hooks/getresponse/{gr_token}/", "{", content_type="application/json"
        )
        client.post(
            "/hooks/getresponse/not-a-real-token-xyz/", "{}", content_type="application/json"
        )
    assert caplog.records  # the request log did speak
    assert gr_token not in caplog.text and "not-a-real-token-xyz" not in caplog.text
