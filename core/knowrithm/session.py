"""The one shared HTTP connection to Knowrithm: auth, URLs, retries and error translation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from knowrithm_bots.core.errors import ConfigError, KnowrithmError
from knowrithm_bots.core.knowrithm.error_mapping import (
    decode_json,
    error_from_response,
    error_from_transport,
)
from knowrithm_bots.core.knowrithm.retry import (
    RetryPolicy,
    Safety,
    status_retryable,
    transport_retryable,
)
from knowrithm_bots.core.log_redaction import Redactor
from knowrithm_bots.core.retry_after import parse_retry_after

Sleep = Callable[[float], Awaitable[None]]
_USER_AGENT = "knowrithm-bots/0.1"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A successful (2xx) answer: its status and decoded JSON body (None when empty)."""

    status: int
    body: Any


def _api_root(base_url: str) -> httpx.URL:
    """The base URL with one trailing slash, so joined paths stay under it."""
    try:
        url = httpx.URL(base_url.strip().rstrip("/") + "/")
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            "knowrithm.base_url must be an http:// or https:// URL such as "
            "https://app.knowrithm.org/api.",
            key_path="knowrithm.base_url",
        )
    return url


class HttpSession:
    """Owns the lazily created ``httpx.AsyncClient`` and sends every request through it."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        secrets: tuple[str | None, ...],
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        retry: RetryPolicy,
        sleep: Sleep,
    ) -> None:
        self.base_url = _api_root(base_url)
        self.origin = f"{self.base_url.scheme}://{self.base_url.netloc.decode('ascii')}"
        self.redact = Redactor(secrets)
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout
        self._headers = dict(headers)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def client(self) -> httpx.AsyncClient:
        """Return the shared client, creating it on first use."""
        if self._closed:
            raise KnowrithmError("The Knowrithm client is closed; create a new one.")
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json", **self._headers},
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        """Close the shared client; later calls raise, closing again does nothing."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def url(self, path: str) -> httpx.URL:
        """Resolve an API path such as ``/v1/health`` under the base URL."""
        return self.base_url.join(path.lstrip("/"))

    def same_origin_url(self, url: str) -> httpx.URL | None:
        """Resolve a URL the service gave; None if it is another origin (auth never goes there)."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            return None
        if target.is_relative_url:
            path = target.path
            if not path.startswith("/"):
                return self.url(url)
            base_path = self.base_url.path.rstrip("/")
            if base_path and not path.startswith(base_path + "/"):
                # "/v1/tasks/.." is relative to the API root, not to the host.
                return self.url(url)
            return httpx.URL(self.origin).join(url)
        if target.scheme == self.base_url.scheme and target.netloc == self.base_url.netloc:
            return target
        return None

    async def call(
        self,
        *,
        method: str,
        path: str | httpx.URL,
        action: str,
        safety: Safety,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        http_timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> Answer:
        """Send one request, retrying as ``safety`` allows; raise the mapped error on failure."""
        url = path if isinstance(path, httpx.URL) else self.url(path)
        policy = retry if retry is not None else self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.client().request(
                    method,
                    url,
                    json=json,
                    params=params,
                    timeout=http_timeout if http_timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.HTTPError as exc:
                error = error_from_transport(exc=exc, action=action, origin=self.origin)
                delay = policy.delay(attempt=attempt, retry_after=None)
                if delay is None or not transport_retryable(exc=exc, safety=safety):
                    raise error from exc
                await self.sleep(delay)
                continue
            if response.is_success:
                body = decode_json(response=response, action=action)
                return Answer(status=response.status_code, body=body)
            error = error_from_response(response=response, action=action, redact=self.redact)
            if not status_retryable(status=response.status_code, safety=safety):
                raise error
            retry_after = parse_retry_after(value=response.headers.get("Retry-After"))
            delay = policy.delay(attempt=attempt, retry_after=retry_after)
            if delay is None:
                raise error
            await self.sleep(delay)

    async def open_stream(
        self, *, path: str, headers: Mapping[str, str], read_timeout: float | None
    ) -> httpx.Response:
        """Send a GET and return the response with its body still unread; the caller closes it."""
        client = self.client()
        request = client.build_request(
            "GET",
            self.url(path),
            headers=dict(headers),
            timeout=httpx.Timeout(self.timeout, read=read_timeout),
        )
        return await client.send(request, stream=True)
