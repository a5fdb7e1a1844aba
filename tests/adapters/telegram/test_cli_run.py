"""``knowrithm-bots run telegram --config FILE``: the configured adapter answers a chat."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from knowrithm_bots.bots.runner import build_adapters, run_configured
from knowrithm_bots.core.config import load_settings
from tests.emulators.telegram_api import ALICE, TelegramEmulator
from tests.support import eventually

pytestmark = pytest.mark.knowrithm_modes


@pytest.mark.knowrithm_modes("streaming")
async def test_run_from_a_config_file_answers_and_stops_cleanly(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "knowrithm: {base_url: local}\n"
        "store: {backend: memory}\n"
        "adapters:\n"
        "  telegram:\n"
        "    token: ${TELEGRAM_TOKEN}\n"
        f"    api_base_url: {emu.base_url}\n"
        "    poll_timeout: 1\n",
        encoding="utf-8",
    )
    env = {"TELEGRAM_TOKEN": emu.token}
    settings = load_settings(path, env=env)
    adapters = build_adapters(settings, names=["telegram"], env=env)
    stop = asyncio.Event()
    running = asyncio.create_task(run_configured(settings=settings, adapters=adapters, stop=stop))
    await emu.wait_for_call("getUpdates", timeout=10)
    emu.push_update(emu.build.private_text(text="hello from the CLI"))
    await eventually(lambda: bool(emu.visible_text(int(ALICE["id"]))), within=10)
    stop.set()
    await asyncio.wait_for(running, 10)
    (answer,) = emu.visible_text(int(ALICE["id"]))
    assert answer.startswith('You asked: "hello from the CLI"')
    assert emu.drafts  # the real adapter streamed a draft first
