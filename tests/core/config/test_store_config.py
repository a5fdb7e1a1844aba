"""The store section: redis needs a Redis URL, and the URL (it may hold a password) is secret."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.errors import ConfigError

SECRET = "pa55-in-the-url"


def test_redis_store_reads_url_and_prefix() -> None:
    settings = parse_settings(
        {"store": {"backend": "redis", "url": "${REDIS_URL}", "key_prefix": "bot-a:"}},
        env={"REDIS_URL": f"redis://:{SECRET}@redis.internal:6380/2"},
    )
    assert settings.store.url is not None
    assert settings.store.url.get_secret_value() == f"redis://:{SECRET}@redis.internal:6380/2"
    assert settings.store.key_prefix == "bot-a:"
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_key_prefix_has_a_default() -> None:
    settings = parse_settings({"store": {"backend": "redis", "url": "redis://h"}}, env={})
    assert settings.store.key_prefix == "knowrithm-bots:"


@pytest.mark.parametrize("url", [None, "", "${REDIS_URL:-}"])
def test_redis_without_url_names_the_key(url: str | None) -> None:
    store = {"backend": "redis"} if url is None else {"backend": "redis", "url": url}
    with pytest.raises(ConfigError) as caught:
        parse_settings({"store": store}, env={})
    assert caught.value.key_path == "store.url"
    assert str(caught.value) == "config key store.url is required when store.backend is redis"


@pytest.mark.parametrize(
    "url", [f"http://:{SECRET}@h:6379", f"{SECRET}@h:6379", f"redis://:{SECRET}@[::1"]
)
def test_a_url_that_is_not_redis_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"store": {"backend": "redis", "url": url}}, env={})
    assert caught.value.key_path == "store.url"
    assert str(caught.value).startswith("config key store.url must be a Redis URL")
    assert SECRET not in str(caught.value)


def test_sqlite_default_is_unchanged() -> None:
    settings = parse_settings({}, env={})
    assert (settings.store.backend, settings.store.url) == ("sqlite", None)
