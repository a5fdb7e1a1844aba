#!/usr/bin/env python3
"""The container's health check: GET /healthz on the observability listener its config names."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from knowrithm_bots.core.config import load_settings
from knowrithm_bots.core.errors import ConfigError

# The Dockerfile sets it to the file its command runs with; change both together.
CONFIG_VARIABLE = "KNOWRITHM_BOTS_CONFIG"
DEFAULT_CONFIG = "/config/bot.yaml"
# Below Docker's HEALTHCHECK --timeout, so the check explains itself instead of being killed.
TIMEOUT_SECONDS = 3.0


def healthz_url(*, host: str, port: int) -> str:
    """The URL to ask, from inside the container, for a listener bound to ``host:port``."""
    # A listener on every interface answers on loopback; asking loopback needs no name lookup.
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def main() -> int:
    path = os.environ.get(CONFIG_VARIABLE, DEFAULT_CONFIG)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    listener = settings.observability
    if listener.listen is None:
        # Docker runs the check only while the process runs; that is all that can be known.
        print("healthy: observability.listen is not set, so only the process is checked")
        return 0
    url = healthz_url(host=listener.host, port=listener.port)
    # A proxy from the environment must not be asked for a loopback address.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"unhealthy: {url} does not answer ({reason})", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    print(f"healthy: {url} answered 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())
