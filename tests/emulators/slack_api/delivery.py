"""Events API over HTTP: the event_callback envelope, Slack's v0 signature, delivery and retries."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp

from .records import DeliveryAttempt, DeliveryOutcome
from .workspace import Identity

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
ACK_TIMEOUT = 3.0
# Slack's schedule after a failed attempt: nearly at once, after 1 minute, after 5 minutes.
SLACK_RETRY_DELAYS: tuple[float, ...] = (0.0, 60.0, 300.0)


def new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:9].upper()


def build_envelope(
    *,
    identity: Identity,
    event: dict[str, Any],
    event_id: str | None = None,
    is_ext_shared_channel: bool = False,
) -> dict[str, Any]:
    """The event_callback body Slack sends for every subscribed event."""
    event_time = int(time.time())
    context = {"et": event.get("type"), "tid": identity.team_id, "aid": identity.app_id}
    if "channel" in event:
        context["cid"] = event["channel"]
    encoded = base64.urlsafe_b64encode(json.dumps(context).encode()).decode().rstrip("=")
    return {
        "token": identity.verification_token,
        "team_id": identity.team_id,
        "context_team_id": identity.team_id,
        "context_enterprise_id": identity.enterprise_id,
        "api_app_id": identity.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": identity.enterprise_id,
                "team_id": identity.team_id,
                "user_id": identity.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": f"4-{encoded}",
    }


def sign(*, signing_secret: str, timestamp: str, body: str | bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of "v0:{timestamp}:{body}", as in X-Slack-Signature.

    A ``bytes`` body is signed as it is, whatever it holds (for malformed requests).
    """
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class EventPoster:
    """Posts signed envelopes to an app's Request URL over a session that ignores proxies."""

    def __init__(self, *, session: aiohttp.ClientSession, signing_secret: str) -> None:
        self._session = session
        self._secret = signing_secret

    async def post(
        self,
        *,
        url: str,
        envelope: dict[str, Any],
        retry_num: int | None,
        retry_reason: str | None,
        signing_secret: str | None,
        bad_signature: bool,
        ack_timeout: float,
        request_timestamp: int | None = None,
    ) -> aiohttp.ClientResponse:
        body = json.dumps(envelope, separators=(",", ":"))
        timestamp = str(request_timestamp if request_timestamp is not None else int(time.time()))
        secret = signing_secret or self._secret
        signature = sign(signing_secret=secret, timestamp=timestamp, body=body)
        if bad_signature:
            # A well-formed signature over different content, as a forger would send.
            signature = sign(signing_secret=secret + "-forged", timestamp=timestamp, body=body)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        async with self._session.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=ack_timeout),
        ) as response:
            await response.read()
            return response

    async def post_raw(
        self, *, url: str, body: bytes, headers: dict[str, str], ack_timeout: float
    ) -> int:
        """POST exactly ``body`` with exactly ``headers``; the HTTP status."""
        async with self._session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=ack_timeout)
        ) as response:
            await response.read()
            return response.status

    async def post_with_retries(
        self,
        *,
        url: str,
        envelope: dict[str, Any],
        max_attempts: int,
        ack_timeout: float,
        retry_delays: Sequence[float],
        signing_secret: str | None,
    ) -> list[DeliveryAttempt]:
        """Send until acked (2xx within ack_timeout) or attempts run out, like Slack's retries."""
        attempts: list[DeliveryAttempt] = []
        reason: str | None = None
        for retry_num in range(max_attempts):
            if retry_num > 0:
                delays = list(retry_delays) or [0.0]
                await asyncio.sleep(delays[min(retry_num - 1, len(delays) - 1)])
            started = time.monotonic()
            status: int | None = None
            no_retry = False
            outcome: DeliveryOutcome
            try:
                response = await self.post(
                    url=url,
                    envelope=envelope,
                    retry_num=retry_num if retry_num > 0 else None,
                    retry_reason=reason,
                    signing_secret=signing_secret,
                    bad_signature=False,
                    ack_timeout=ack_timeout,
                )
                status = response.status
                no_retry = response.headers.get("X-Slack-No-Retry") == "1"
                outcome = "acked" if 200 <= status < 300 else "http_error"
            except TimeoutError:
                outcome = "http_timeout"
            except aiohttp.ClientConnectionError:
                outcome = "connection_failed"
            attempts.append(
                DeliveryAttempt(
                    retry_num=retry_num,
                    retry_reason=reason,
                    status=status,
                    outcome=outcome,
                    elapsed=time.monotonic() - started,
                )
            )
            if outcome == "acked" or no_retry:
                break
            reason = outcome
        return attempts
