"""`knowrithm-bots local-knowrithm`: the documented-service mode and load-test answers."""

from __future__ import annotations

import httpx

from knowrithm_bots.core.knowrithm import KnowrithmClient
from tests.adapters.test_console import run_cli
from tests.bots.local_process import local_knowrithm_process


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


async def test_answer_words_makes_every_answer_that_many_numbered_words() -> None:
    async with (
        local_knowrithm_process("--word-delay", "0", "--answer-words", "5") as (_, base_url),
        KnowrithmClient(
            base_url=base_url, api_key="local-key", api_secret="local-secret"
        ) as client,
    ):
        conversation = await client.start_conversation(agent_id="local-agent", entity_type="USER")
        answer = await client.send_message(conversation_id=conversation.id, text="q7")
    assert answer.content == "q7: w1 w2 w3 w4 w5"


def test_answer_words_out_of_range_is_refused_in_one_sentence() -> None:
    result = run_cli("local-knowrithm", "--answer-words", "0", timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--answer-words: must be a whole number from 1 to 100000, not '0'" in result.stderr
