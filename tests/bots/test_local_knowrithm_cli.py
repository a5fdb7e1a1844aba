"""`knowrithm-bots local-knowrithm --documented` serves the documented-service mode."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.bots.local_process import local_knowrithm_process

BIN = Path(sys.executable).parent


async def test_the_documented_flag_serves_answers_without_a_stream_url() -> None:
    async with local_knowrithm_process("--word-delay", "0", "--documented") as (_, base_url):
        auth = {"X-API-Key": "local-key", "X-API-Secret": "local-secret"}
        async with httpx.AsyncClient(base_url=f"{base_url}/v1", headers=auth) as http:
            started = await http.post("/conversation", json={"agent_id": "local-agent"})
            cid = started.json()["conversation"]["id"]
            accepted = await http.post(f"/conversation/{cid}/chat", json={"message": "hi"})
    assert accepted.status_code == 202
    assert "task_id" in accepted.json()
    assert "stream_url" not in accepted.json()
