"""Config files for the bot processes of the fault tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm


def write_config(
    folder: Path,
    *,
    server: LocalKnowrithm | None = None,
    knowrithm_url: str | None = None,
    adapters: dict[str, dict[str, Any]],
    store: Path | None = None,
    conversations: dict[str, Any] | None = None,
    sections: dict[str, Any] | None = None,
) -> Path:
    """A YAML config: Knowrithm at ``server`` (or ``knowrithm_url``), a sqlite store at
    ``store`` (memory without one), the adapter sections given; ``sections`` are further
    top-level sections, replacing any above (a Redis ``store`` section, ``context``)."""
    base_url = server.base_url if server is not None else knowrithm_url
    assert base_url is not None
    document: dict[str, Any] = {
        "knowrithm": {
            "base_url": base_url,
            "api_key": "local-key",
            "api_secret": "local-secret",
            "agent_id": "local-agent",
        },
        "store": {"backend": "sqlite", "path": str(store)} if store else {"backend": "memory"},
        "adapters": adapters,
    }
    if conversations:
        document["conversations"] = conversations
    document.update(sections or {})
    path = folder / "bot.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
