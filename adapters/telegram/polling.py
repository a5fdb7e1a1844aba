"""The getUpdates transport: poison updates are logged once and stepped over, never re-polled.

python-telegram-bot parses a whole getUpdates batch at once. One update it cannot read fails
the batch: its Updater logs the whole batch (user text included), keeps the old offset and
polls again at once, which returns the same batch: a hot loop that never ends. Here each
update of a batch is checked first (``update_check``); a malformed one is replaced by its
bare ``update_id``, which the library reads as an empty update, confirms with the next
offset like any other, and the adapter ignores. Intake goes on with the next update.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from telegram.request import HTTPXRequest, RequestData

from knowrithm_bots.adapters.telegram.update_check import PoisonLog, problem_of, update_id_of

log = logging.getLogger(__name__)

_METHOD = "/getUpdates"
# A batch holding nothing whose id could confirm it comes back unchanged until Telegram has
# a newer update: poll it again no faster than this, growing to the cap (short, so a stop,
# which polls once more, is not held up).
FIRST_PAUSE = 0.25
LONGEST_PAUSE = 2.0


class ScreenedPolling(HTTPXRequest):
    """python-telegram-bot's request for getUpdates, handing over only readable updates.

    Used as ``ApplicationBuilder().get_updates_request(...)``, so it carries nothing but
    getUpdates. ``on_token_refused`` is told when Telegram refuses the token mid-run: the
    library then ends its polling loop for good, and the adapter with it.
    """

    def __init__(
        self,
        *,
        on_token_refused: Callable[[], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # As ApplicationBuilder makes its own: one connection, for one long poll at a time.
        super().__init__(connection_pool_size=1)
        self._on_token_refused = on_token_refused
        self._sleep = sleep
        self._poison = PoisonLog()
        self._pause = 0.0
        self._bad_answers = 0  # in a row: only the first is logged

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
            # The library turns both into InvalidToken, which ends its polling loop.
            self._on_token_refused()
        if not (HTTPStatus.OK <= code < HTTPStatus.MULTIPLE_CHOICES and url.endswith(_METHOD)):
            return code, payload
        try:
            answer = json.loads(payload)
        except ValueError:
            return code, payload  # the library reports it as a network error and backs off
        batch = answer.get("result") if isinstance(answer, dict) else None
        screened, go_on = self.screen(batch)
        await self._pace(go_on=go_on)
        if screened == batch:
            return code, payload
        return code, json.dumps({"ok": True, "result": screened}).encode()

    def screen(self, batch: object) -> tuple[list[Any], bool]:
        """The batch with each unreadable update replaced by its bare id, and whether polling
        may go on at once: False when the batch held updates but none with an id to confirm
        them by, so that asking again would bring the very same batch."""
        if not isinstance(batch, list):
            if not self._bad_answers:
                log.warning("Telegram answered getUpdates without a list of updates")
            self._bad_answers += 1
            return [], False
        self._bad_answers = 0
        screened: list[Any] = []
        for raw in batch:
            update_id = update_id_of(raw)
            problem = problem_of(raw)
            if problem is None:
                screened.append(raw)
            else:
                self._poison.skipped(raw, problem=problem)
                if update_id is not None:
                    screened.append({"update_id": update_id})
                # Without an id the update cannot be confirmed on its own; a later update's
                # id confirms it (ids only grow), and until then it is dropped from view.
        return screened, bool(screened) or not batch

    async def _pace(self, *, go_on: bool) -> None:
        if go_on:
            self._pause = 0.0
            return
        self._pause = min(LONGEST_PAUSE, max(FIRST_PAUSE, self._pause * 2))
        await self._sleep(self._pause)
