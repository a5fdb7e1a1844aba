"""`store.shared_budgets` selects budgets shared in Redis: on by default with the Redis store,
off when asked, and never without Redis."""

from __future__ import annotations

from typing import Any

import pytest

from knowrithm_bots.bots.runner import build_shared_budgets
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.store.redis_budgets import RedisBudgets

URL = "redis://:s3cret-pass@127.0.0.1:6379/0"


def settings(**store: Any) -> Any:
    return parse_settings({"store": store}, env={})


async def test_the_redis_store_shares_the_budgets_under_its_prefix() -> None:
    shared = build_shared_budgets(settings(backend="redis", url=URL, key_prefix="team-a:"))
    assert isinstance(shared, RedisBudgets)
    try:
        assert shared.key("telegram:group:all:20/60:1:-100") == (
            "team-a:budget:telegram:group:all:20/60:1:-100"
        )
        assert "s3cret" not in shared.where
    finally:
        await shared.close()


def test_shared_budgets_can_be_turned_off_and_need_redis() -> None:
    assert build_shared_budgets(settings(backend="redis", url=URL, shared_budgets=False)) is None
    assert build_shared_budgets(settings(backend="sqlite")) is None
    assert build_shared_budgets(settings(backend="memory")) is None


def test_a_shared_budgets_value_that_is_no_yes_or_no_names_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(backend="redis", url=URL, shared_budgets="sometimes")
    assert "store.shared_budgets" in str(caught.value)
