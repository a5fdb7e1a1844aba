"""Keeps the bot token and webhook secret out of log records: the libraries can leak both.

httpx logs every request URL at INFO (the URL holds the token) and python-telegram-bot's
``InvalidToken`` repeats the token in its message; ``core.log_redaction`` cleans the records
of those libraries' loggers, and the adapter's own, while the adapter runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from knowrithm_bots.core.log_redaction import RedactionScope, Redactor

REDACTED = "<bot-token>"
REDACTED_SECRET = "<secret>"
COVERED_LOGGERS = ("knowrithm_bots.adapters.telegram", "httpx", "httpcore", "telegram", "tornado")
# A shorter tail could hide ordinary words; real tokens have 35 characters after the colon.
_SHORTEST_TAIL = 16


def token_redactor(*, token: str) -> Redactor:
    """Hides ``token`` and its secret half, whatever their case.

    Case matters not: python-telegram-bot capitalizes API error descriptions, which
    lower-cases a token quoted in them, and that copy still gives most of it away.
    """
    _, _, tail = token.partition(":")
    # The secret half is meaningless alone but still a secret.
    return Redactor([token, tail if len(tail) >= _SHORTEST_TAIL else None], mask=REDACTED)


def redact(text: str, *, secret: str) -> str:
    """``text`` with the token ``secret`` (and its secret half) hidden."""
    return token_redactor(token=secret)(text)


def redaction_scope(*, token: str, others: Iterable[str | None] = ()) -> RedactionScope:
    """Hides the token and every other secret in the covered loggers' records while installed.

    python-telegram-bot logs each call's parameters at DEBUG, ``setWebhook``'s
    ``secret_token`` included, so the webhook secret needs hiding as much as the token.
    """
    hide_token = token_redactor(token=token)
    hide_others = Redactor(others, mask=REDACTED_SECRET)
    return RedactionScope(clean=lambda text: hide_others(hide_token(text)), loggers=COVERED_LOGGERS)
