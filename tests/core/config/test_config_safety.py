"""Settings never show secrets, refuse URL credentials, and survive hostile YAML aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.core.config import adapter_config, load_settings, parse_settings
from knowrithm_bots.core.errors import ConfigError

TOKEN = "12345:SECRET-TELEGRAM-TOKEN"
SLACK = "xoxb-SECRET-SLACK"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repr_and_dumps_of_settings_mask_adapter_secrets_but_the_code_still_reads_them() -> None:
    settings = parse_settings(
        {
            "knowrithm": {"api_key": "sk-KEY-SECRET", "api_secret": "sk-SECRET-SECRET"},
            "adapters": {
                "telegram": {"token": TOKEN},
                "slack": {"bot_token": SLACK, "mode": "socket"},
            },
        },
        env={},
    )
    shown = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
        repr(settings.model_dump(mode="json")),
    ]
    for text in shown:
        for secret in (TOKEN, SLACK, "sk-KEY-SECRET", "sk-SECRET-SECRET"):
            assert secret not in text
        assert "telegram" in text and "bot_token" in text  # what is configured stays visible
    assert adapter_config(settings, name="telegram", env={}) == {"token": TOKEN}
    assert settings.adapters["slack"]["bot_token"] == SLACK


@pytest.mark.parametrize(
    "url",
    [
        "https://user:PASSWORD-1@kn.example/api",
        "https://:PASSWORD-1@kn.example/api",
        "http://PASSWORD-1@127.0.0.1:8765/api",
    ],
)
def test_credentials_in_the_base_url_are_refused_without_echoing_them(
    tmp_path: Path, url: str
) -> None:
    path = write(tmp_path, f"knowrithm:\n  base_url: {url}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.key_path == "knowrithm.base_url"
    assert "knowrithm.api_key" in str(info.value)
    assert "PASSWORD-1" not in str(info.value)
    # Only the part before the host is userinfo: an @ further on is an ordinary character.
    settings = parse_settings({"knowrithm": {"base_url": "https://kn.example/api/@team"}}, env={})
    assert settings.knowrithm.base_url == "https://kn.example/api/@team"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("a: &a [*a]\n", "a.0"),
        ("knowrithm: &k {inner: *k}\n", "knowrithm.inner"),
        ("adapters:\n  console: &c\n    loop: [*c]\n", "adapters.console.loop.0"),
    ],
)
def test_a_self_containing_alias_is_a_config_error_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    assert info.value.key_path == key
    assert "contains itself" in str(info.value)


def test_alias_fan_out_is_refused_quickly(tmp_path: Path) -> None:
    # Six levels of ten aliases each: a million values once the aliases are repeated, from a
    # file of six lines (each further level multiplies the work by ten).
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 6):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    with pytest.raises(ConfigError, match="YAML aliases"):
        load_settings(write(tmp_path, "\n".join(lines) + "\n"), env={})


def test_nesting_deeper_than_the_parser_can_follow_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "store: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_settings(path, env={})


def test_moderately_deep_nesting_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "store: " + "[" * 200 + "]" * 200 + "\n")
    with pytest.raises(ConfigError, match="nested more than") as info:
        load_settings(path, env={})
    assert info.value.key_path is not None and info.value.key_path.startswith("store.0.0")
