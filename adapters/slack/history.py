"""The earlier messages of a Slack thread (``conversations.replies``), as the people saw them.

Needs the history scope of each conversation kind the bot answers in: ``channels:history``,
``groups:history``, ``im:history``, ``mpim:history``. Without it Slack answers
``missing_scope`` and the message is answered without its thread's history.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import translated
from knowrithm_bots.adapters.slack.text import to_plain
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import ContextMessage

log = logging.getLogger(__name__)

PAGE = 200  # Slack's advice for conversations.replies pages
MAX_PAGES = 5  # a thread longer than 1000 messages is read up to there: bounded cost

NameOf = Callable[[str], Awaitable[str]]


async def thread_history(
    *,
    client: AsyncWebClient,
    channel: str,
    thread_ts: str,
    before_ts: str,
    bot_user_id: str,
    bot_id: str | None,
    count: int,
    name_of: NameOf,
) -> tuple[ContextMessage, ...]:
    """The newest ``count`` messages of the thread written before ``before_ts``, oldest first;
    empty when Slack refuses (the answer goes on without them)."""
    kept: deque[Mapping[str, Any]] = deque(maxlen=count)
    seen: set[str] = set()
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            with translated(action="conversations.replies"):
                page = await client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    latest=before_ts,
                    inclusive=False,
                    limit=PAGE,
                    cursor=cursor,
                )
            for message in page.get("messages") or []:
                # Slack may repeat the parent at the top of every page.
                ts = str(message.get("ts")) if isinstance(message, Mapping) else ""
                if ts and ts not in seen and _before(message, before_ts):
                    seen.add(ts)
                    kept.append(message)
            cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
            if not page.get("has_more") or not cursor:
                break
    except PlatformError as exc:
        log.warning("the thread's earlier messages could not be read (%s)", exc)
        return ()
    history = []
    for message in kept:
        text = _words(message, bot_user_id=bot_user_id)
        if not text:
            continue
        user = message.get("user")
        from_bot = user == bot_user_id or (bot_id is not None and message.get("bot_id") == bot_id)
        if from_bot:
            author = "assistant"
        elif isinstance(user, str) and user:
            author = await name_of(user)
        else:
            profile = message.get("bot_profile")
            author = str((profile or {}).get("name") or message.get("username") or "a bot")
        history.append(ContextMessage(author=author, text=text, from_bot=from_bot))
    return tuple(history)


def _before(message: Mapping[str, Any], before_ts: str) -> bool:
    # Compared as numbers: "seconds.micro" strings of different lengths sort wrongly.
    try:
        return float(str(message.get("ts"))) < float(before_ts)
    except ValueError:
        return False


def _words(message: Mapping[str, Any], *, bot_user_id: str) -> str:
    text = message.get("text")
    words = to_plain(text, bot_user_id=bot_user_id) if isinstance(text, str) else ""
    files = message.get("files")
    if isinstance(files, list):
        names = [f.get("name") for f in files if isinstance(f, Mapping) and f.get("name")]
        words = " ".join([words, *(f"[file {name}]" for name in names)]).strip()
    return words
