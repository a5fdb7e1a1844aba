"""Reads the files of a Slack message: ``url_private`` fetched with the bot token in a header.

The token goes only to Slack's own file host or to the configured API host (a self-hosted or
test endpoint); a file URL naming any other host is not fetched, so an event cannot steer
the token elsewhere. The URL itself never leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from knowrithm_bots.core.attached_files import read_attached
from knowrithm_bots.core.config.models import FileSettings
from knowrithm_bots.core.events import InboundFile

SLACK_FILE_HOSTS = frozenset({"files.slack.com", "slack-files.com"})


class NotSlackHost(Exception):
    """The file URL is not on a host the bot token may be sent to."""


class FileReader:
    """Downloads text-like files of messages with the bot token, size-capped."""

    def __init__(self, *, session: aiohttp.ClientSession, token: str, api_base_url: str) -> None:
        self._session = session
        self._token = token
        self._hosts = SLACK_FILE_HOSTS | {urlsplit(api_base_url).netloc.lower()}

    async def read(
        self, files: Sequence[Mapping[str, Any]], *, settings: FileSettings
    ) -> tuple[InboundFile, ...]:
        found = []
        for file in files:
            name = str(file.get("name") or file.get("title") or "file")
            size = file.get("size")
            url = file.get("url_private_download") or file.get("url_private")

            async def download(url: Any = url) -> bytes:
                return await self._fetch(url, limit=settings.max_bytes)

            found.append(
                await read_attached(
                    name=name,
                    mime_type=str(file.get("mimetype") or ""),
                    size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                    download=download,
                    settings=settings,
                )
            )
        return tuple(found)

    async def _fetch(self, url: Any, *, limit: int) -> bytes:
        if not isinstance(url, str) or urlsplit(url).netloc.lower() not in self._hosts:
            raise NotSlackHost()
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._session.get(url, headers=headers, allow_redirects=False) as response:
            response.raise_for_status()
            data = bytearray()
            # One byte past the cap is enough to know the file is too big.
            while len(data) <= limit:
                chunk = await response.content.read(limit + 1 - len(data))
                if not chunk:
                    break
                data += chunk
            return bytes(data)
