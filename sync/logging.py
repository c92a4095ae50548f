"""Log hygiene: the secret part of a webhook address never reaches a log line."""

from __future__ import annotations

import logging
import re

# /hooks/<vendor>/<token>/ — the token is the webhook's only credential.
_HOOK = re.compile(r"(/hooks/[\w-]+/)[^/\s?\"']+")


def redact(text: str) -> str:
    """``text`` with every webhook token replaced by ``***``."""
    return _HOOK.sub(r"\1***", text)


class RedactWebhookTokens(logging.Filter):
    """Rewrites records (Django's request log, runserver's and gunicorn's access logs,
    our own messages) so that webhook tokens are not written out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/hooks/" in message:
            record.msg, record.args = redact(message), None
        return True
