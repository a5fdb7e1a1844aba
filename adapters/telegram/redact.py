"""Keeps the bot token and webhook secret out of log records: the libraries can leak both.

httpx logs every request URL at INFO (the URL holds the token) and python-telegram-bot's
``InvalidToken`` repeats the token in its message; ``core.log_redaction`` cleans the records
of those libraries' loggers while the adapter runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.log_redaction import CleaningFilter
from core.log_redaction import RedactionScope as _Scope

REDACTED = "<bot-token>"
REDACTED_SECRET = "<secret>"
_LIBRARY_LOGGERS = ("httpx", "httpcore", "telegram", "tornado")


def redact(text: str, *, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` (and its numeric-id-free tail) hidden.

    Matching ignores case: python-telegram-bot capitalizes API error descriptions, which
    lower-cases a token quoted in them, and that copy still gives most of it away.
    """
    if not secret:
        return text
    text = re.sub(re.escape(secret), REDACTED, text, flags=re.IGNORECASE)
    _, _, tail = secret.partition(":")
    # A token's secret half is meaningless alone but still a secret.
    if len(tail) >= 16:
        text = re.sub(re.escape(tail), REDACTED, text, flags=re.IGNORECASE)
    return text


class TokenRedactor(CleaningFilter):
    """A logging filter that hides the token; never drops a record."""

    def __init__(self, *, secret: str) -> None:
        super().__init__(clean=lambda text: redact(text, secret=secret))

    def redact(self, text: str) -> str:
        return self.clean(text)


class RedactionScope(_Scope):
    """Hides the token and every other secret in records of the library loggers while installed.

    python-telegram-bot logs each call's parameters at DEBUG, ``setWebhook``'s
    ``secret_token`` included, so the webhook secret needs hiding as much as the token.
    """

    def __init__(
        self,
        *,
        secret: str,
        others: Iterable[str] = (),
        loggers: Iterable[str] = _LIBRARY_LOGGERS,
    ) -> None:
        others = tuple(other for other in others if other)

        def clean(text: str) -> str:
            text = redact(text, secret=secret)
            for other in others:
                # Exact case: the libraries quote these verbatim.
                text = text.replace(other, REDACTED_SECRET)
            return text

        super().__init__(clean=clean, loggers=loggers)
