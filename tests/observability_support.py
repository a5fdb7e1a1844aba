"""Reading a bot's /metrics, /readyz and /healthz in tests, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for one in family.samples:
            if one.name == name and all(one.labels.get(k) == v for k, v in labels.items()):
                total += one.value
    return total


async def scrape(base_url: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{base_url}/metrics")
    assert answer.status_code == 200, answer.text
    return answer.text


async def probe(base_url: str, path: str) -> tuple[int, Any]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{base_url}{path}")
    return answer.status_code, answer.json()
