"""Config loading: YAML, ${ENV} expansion, typed validation and key-path errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.core.config import adapter_config, load_settings, parse_settings
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.plugins import load_adapter

EXAMPLE = Path(__file__).parents[3] / "config.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    settings = parse_settings(None, env={})
    assert settings.knowrithm.is_local
    assert settings.conversations.idle_minutes == 30
    assert settings.conversations.default_entity_type == "USER"
    assert settings.ratings.emoji["👍"] == 5 and settings.ratings.emoji["👎"] == 1


def test_env_expansion_and_secret_hidden(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "knowrithm:\n  base_url: https://kn.example/api\n  api_key: ${KN_KEY}\n"
        "  api_secret: ${KN_SECRET:-fallback}\n  agent_id: a1\n",
    )
    settings = load_settings(path, env={"KN_KEY": "sk-very-secret"})
    assert settings.knowrithm.api_key is not None
    assert settings.knowrithm.api_key.get_secret_value() == "sk-very-secret"
    assert settings.knowrithm.api_secret is not None
    assert settings.knowrithm.api_secret.get_secret_value() == "fallback"
    assert "sk-very-secret" not in repr(settings)


def test_missing_env_var_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  path: ${STORE_FILE}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.key_path == "store.path"
    assert "STORE_FILE" in str(info.value)


def test_adapter_sections_expand_only_when_used(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "knowrithm: {base_url: local}\nadapters:\n  telegram:\n    token: ${TG_TOKEN}\n"
        "  console:\n    prompt: ${PROMPT:-> }\n",
    )
    settings = load_settings(path, env={})  # the unused telegram section stops nothing
    assert adapter_config(settings, name="console", env={}) == {"prompt": "> "}
    with pytest.raises(ConfigError) as info:
        adapter_config(settings, name="telegram", env={})
    assert info.value.key_path == "adapters.telegram.token"
    assert "TG_TOKEN" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("knowrithm:\n  base_url: ftp://x\n", "knowrithm.base_url"),
        ("knowrithm:\n  timeout: -1\n", "knowrithm.timeout"),
        ("conversations:\n  idle_minutes: soon\n", "conversations.idle_minutes"),
        (
            "conversations:\n  entity_rules:\n    - entity_type: BOSS\n",
            "conversations.entity_rules.0.entity_type",
        ),
        ("ratings:\n  emoji:\n    '🎉': 9\n", "ratings.emoji"),
        ("store:\n  pth: x.sqlite\n", "store.pth"),
        ("knowrithm:\n  api_key: [1, 2]\n", "knowrithm.api_key"),
    ],
)
def test_invalid_values_name_the_key_path(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    assert info.value.key_path == key
    assert key in str(info.value)


def test_secret_value_never_in_error(tmp_path: Path) -> None:
    path = write(tmp_path, "knowrithm:\n  api_key: {nested: sk-do-not-print}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "sk-do-not-print" not in str(info.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML at line 3"):
        load_settings(write(tmp_path, "a: 1\nb: [unclosed\n"), env={})
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- just\n- a list\n"), env={})


def test_adapter_sections_kept_raw_for_the_adapter_to_validate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "knowrithm: {base_url: local}\nadapters:\n  console:\n  telegram:\n    token: abc\n",
    )
    settings = load_settings(path, env={})
    assert settings.adapters == {"console": {}, "telegram": {"token": "abc"}}


def test_example_config_is_valid() -> None:
    env = {
        "KNOWRITHM_API_KEY": "k",
        "KNOWRITHM_API_SECRET": "s",
        "KNOWRITHM_AGENT_ID": "a",
        "TELEGRAM_BOT_TOKEN": "1:x",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_SIGNING_SECRET": "sig",
        "DISCORD_BOT_TOKEN": "d",
    }
    settings = load_settings(EXAMPLE, env=env)
    assert settings.knowrithm.base_url == "local"
    assert set(settings.adapters) >= {"console", "telegram", "slack", "discord"}


@pytest.mark.parametrize(
    ("name", "env"),
    [
        ("console", {}),
        ("telegram", {"TELEGRAM_BOT_TOKEN": "1:x"}),
        ("slack", {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}),  # socket mode
        ("discord", {"DISCORD_BOT_TOKEN": "d"}),
    ],
)
def test_each_example_section_works_with_only_its_own_secrets(
    name: str, env: dict[str, str]
) -> None:
    settings = load_settings(EXAMPLE, env={})
    section = adapter_config(settings, name=name, env=env)
    adapter = load_adapter(name).from_config(config=section)  # validates; nothing connects
    assert adapter.name == name
