"""HTTP mode answers 401, without a traceback, to every unsigned or malformed request.

Each class goes through the real aiohttp server the adapter runs and slack-bolt behind it;
a signed, well-formed event sent after all of them is still answered.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import pytest

from knowrithm_bots.adapters.slack.signed_requests import refusal
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.emulators.slack_api.delivery import build_envelope, sign
from tests.emulators.slack_api.workspace import Identity

MENTION = f"<@{ids.BOT_USER_ID}>"
SECRET = Identity().signing_secret


@dataclass(frozen=True)
class BadRequest:
    """One malformed request: its body and how it is signed (None: as Slack would)."""

    name: str
    body: bytes
    sign: bool = True
    # "{now}" in it stands for the time of sending, moved by ``offset`` seconds: a time taken
    # at import would drift out of (or into) Slack's five minutes in a long test run.
    timestamp_form: str | None = None
    offset: int = 0
    signature: str | None = None
    content_type: str = "application/json"

    @property
    def timestamp(self) -> str | None:
        """The timestamp header to send now (None: as Slack would, or none if unsigned)."""
        if self.timestamp_form is None:
            return None
        return self.timestamp_form.format(now=int(time.time()) + self.offset)


def _event_body() -> bytes:
    event = events.app_mention(text=f"{MENTION} this must never be answered")
    return json.dumps(build_envelope(identity=Identity(), event=event)).encode()


BAD_REQUESTS = (
    BadRequest("no signature, no timestamp", _event_body(), sign=False),
    BadRequest("a timestamp but no signature", _event_body(), sign=False, timestamp_form="{now}"),
    BadRequest("a forged signature", _event_body(), signature="v0=" + "0" * 64),
    BadRequest("a signature of another scheme", _event_body(), signature="v1=abc"),
    BadRequest("a signature that is not ASCII", _event_body(), signature="v0=é"),
    BadRequest("a timestamp that is not a number", _event_body(), timestamp_form="yesterday"),
    BadRequest("a negative timestamp", _event_body(), timestamp_form="-5"),
    BadRequest("a timestamp with a fraction", _event_body(), timestamp_form="{now}.5"),
    BadRequest("an enormous timestamp", _event_body(), timestamp_form="9" * 40),
    BadRequest("a stale timestamp", _event_body(), timestamp_form="{now}", offset=-600),
    BadRequest("a timestamp from the future", _event_body(), timestamp_form="{now}", offset=600),
    BadRequest("an unsigned body that is not JSON", b"{not json", sign=False),
    BadRequest("a signed body that is not JSON", b"{not json"),
    BadRequest("an unsigned body that is not UTF-8", b"\xff\xfe{}", sign=False),
    BadRequest("a signed body that is not UTF-8", b'{"type": "\xff"}'),
    BadRequest("a signed JSON list", b"[1, 2, 3]"),
    BadRequest("a signed JSON string", b'"event_callback"'),
    BadRequest("a signed empty body", b""),
    BadRequest(
        "a signed form whose payload is not JSON",
        b"payload=%7Bnot-json",
        content_type="application/x-www-form-urlencoded",
    ),
)


def _headers(request: BadRequest, *, now: str) -> dict[str, str]:
    headers = {"Content-Type": request.content_type}
    timestamp = (
        request.timestamp if request.timestamp is not None else (now if request.sign else None)
    )
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    signature = request.signature
    if signature is None and request.sign:
        assert timestamp is not None
        signature = sign(signing_secret=SECRET, timestamp=timestamp, body=request.body)
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    return headers


@pytest.mark.parametrize("request_", BAD_REQUESTS, ids=lambda r: r.name)
def test_each_class_is_refused_with_a_reason(request_: BadRequest) -> None:
    now = str(int(time.time()))
    headers = _headers(request_, now=now)
    reason = refusal(body=request_.body, headers=headers, secret=SECRET, now=float(now))
    assert reason is not None
    assert "never be answered" not in reason


def test_a_signed_event_passes() -> None:
    now = str(int(time.time()))
    body = _event_body()
    headers = _headers(BadRequest("sound", body), now=now)
    assert refusal(body=body, headers=headers, secret=SECRET, now=float(now)) is None


async def test_every_bad_request_gets_401_without_a_traceback_and_events_go_on(
    emu: SlackEmulator, server: LocalKnowrithm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_bot(emu, server, mode="http") as bot:
        url = bot.adapter.events_url
        assert url is not None
        for request in BAD_REQUESTS:
            status = await emu.deliver_raw(
                url=url,
                body=request.body,
                sign=request.sign,
                timestamp=request.timestamp,
                signature=request.signature,
                content_type=request.content_type,
            )
            assert status == 401, request.name
        await bot.send(events.app_mention(text=f"{MENTION} a real question"))
        await bot.settle()
    assert [text for _, text in server.state.chat_requests] == ["a real question"]
    assert not [r for r in caplog.records if r.exc_info is not None]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
