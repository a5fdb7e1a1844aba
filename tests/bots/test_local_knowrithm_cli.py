"""`knowrithm-bots local-knowrithm --documented` serves the documented-service mode."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from tests.support import env_without_proxies

BIN = Path(sys.executable).parent


async def test_the_documented_flag_serves_answers_without_a_stream_url() -> None:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "knowrithm-bots"),
        "local-knowrithm",
        "--port",
        "0",
        "--word-delay",
        "0",
        "--documented",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_without_proxies(),
    )
    assert process.stdout is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        base_url = banner.removeprefix("Local Knowrithm API on ").strip()
        auth = {"X-API-Key": "local-key", "X-API-Secret": "local-secret"}
        async with httpx.AsyncClient(base_url=f"{base_url}/v1", headers=auth) as http:
            started = await http.post("/conversation", json={"agent_id": "local-agent"})
            cid = started.json()["conversation"]["id"]
            accepted = await http.post(f"/conversation/{cid}/chat", json={"message": "hi"})
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 20)
    assert accepted.status_code == 202
    assert "task_id" in accepted.json()
    assert "stream_url" not in accepted.json()
