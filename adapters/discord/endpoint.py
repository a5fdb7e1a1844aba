"""Points discord.py at the configured REST and gateway URLs (process-wide, by necessity).

discord.py has no per-client option for its endpoints: ``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY`` are class attributes read by every client in the
process. So one process serves one Discord endpoint: a second running adapter that wants
other URLs is refused instead of silently redirecting the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord.gateway
import discord.http
import yarl

from knowrithm_bots.core.errors import ConfigError


@dataclass(frozen=True)
class Endpoint:
    api_base_url: str
    gateway_url: str


_claims: dict[Endpoint, int] = {}


def claim(endpoint: Endpoint) -> None:
    """Set discord.py's endpoints to ``endpoint``; ConfigError if another one is in use."""
    other = next((e for e, n in _claims.items() if n > 0 and e != endpoint), None)
    if other is not None:
        key = "api_base_url" if other.api_base_url != endpoint.api_base_url else "gateway_url"
        raise ConfigError(
            f"config key adapters.discord.{key} differs from the Discord endpoint already in "
            "use in this process; discord.py allows one endpoint per process",
            key_path=f"adapters.discord.{key}",
        )
    discord.http.Route.BASE = endpoint.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(endpoint.gateway_url)
    _claims[endpoint] = _claims.get(endpoint, 0) + 1


def release(endpoint: Endpoint) -> None:
    """Forget one claim of ``endpoint`` (the URLs stay set; nothing else needs them)."""
    count = _claims.get(endpoint, 0) - 1
    if count > 0:
        _claims[endpoint] = count
    else:
        _claims.pop(endpoint, None)
