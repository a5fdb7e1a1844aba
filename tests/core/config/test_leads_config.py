"""The ``leads`` section and entity types written in any letter case."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.core.config import load_settings, parse_settings
from knowrithm_bots.core.errors import ConfigError

EXAMPLE = Path(__file__).parents[3] / "config.example.yaml"


def test_the_lead_domain_is_optional_and_kept_in_lowercase() -> None:
    assert parse_settings(None, env={}).leads.email_domain is None
    assert parse_settings({"leads": None}, env={}).leads.email_domain is None
    settings = parse_settings({"leads": {"email_domain": "Leads.Example-Company.com"}}, env={})
    assert settings.leads.email_domain == "leads.example-company.com"


def test_an_empty_domain_from_the_environment_means_unset() -> None:
    data = {"leads": {"email_domain": "${LEAD_EMAIL_DOMAIN:-}"}}
    assert parse_settings(data, env={}).leads.email_domain is None
    given = parse_settings(data, env={"LEAD_EMAIL_DOMAIN": "leads.acme.com"})
    assert given.leads.email_domain == "leads.acme.com"


@pytest.mark.parametrize(
    "domain", ["telegram.invalid", "bots.test", "host.local", "localhost", "leads.example"]
)
def test_a_special_use_domain_is_refused_naming_the_key(domain: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_settings({"leads": {"email_domain": domain}}, env={})
    assert refused.value.key_path == "leads.email_domain"
    assert str(refused.value).startswith(
        "config key leads.email_domain cannot be used in e-mail addresses: It "
    )


def test_an_address_instead_of_a_domain_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="must be the domain alone, such as"):
        parse_settings({"leads": {"email_domain": "bot@leads.acme.com"}}, env={})


def test_the_example_takes_its_lead_domain_from_the_environment() -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "1:a",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "DISCORD_BOT_TOKEN": "d",
        "LEAD_EMAIL_DOMAIN": "leads.acme.com",
    }
    assert load_settings(EXAMPLE, env=env).leads.email_domain == "leads.acme.com"


@pytest.mark.parametrize("written", ["lead", "LEAD", "Lead", " lead "])
def test_entity_types_are_read_in_any_letter_case(written: str) -> None:
    settings = parse_settings(
        {
            "conversations": {
                "default_entity_type": written,
                "entity_rules": [{"entity_type": written}, {"entity_type": "user"}],
            }
        },
        env={},
    )
    conversations = settings.conversations
    assert conversations.default_entity_type == "LEAD"
    assert [r.entity_type for r in conversations.entity_rules] == ["LEAD", "USER"]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"default_entity_type": "visitor"}, "conversations.default_entity_type"),
        ({"entity_rules": [{"entity_type": "guest"}]}, "conversations.entity_rules.0.entity_type"),
    ],
)
def test_an_unknown_entity_type_names_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_settings({"conversations": data}, env={})
    assert str(refused.value) == f"config key {key} must be USER or LEAD (in any letter case)"
