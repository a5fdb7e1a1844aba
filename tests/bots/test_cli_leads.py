"""check-config and lead e-mails: LEAD rules for platforms without addresses need a domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.bots.cli import main

SECTIONS = {
    "telegram": "  telegram: {token: '1:abc'}\n",
    "discord": "  discord: {token: d1}\n",
    "slack": "  slack: {bot_token: xoxb-1, app_token: xapp-1}\n",
}


def check(tmp_path: Path, *, adapters: list[str], conversations: str, leads: str = "") -> int:
    config = tmp_path / "bot.yaml"
    config.write_text(
        "knowrithm: {base_url: local}\n"
        f"conversations: {conversations}\n"
        f"{leads}"
        "adapters:\n" + "".join(SECTIONS[name] for name in adapters),
        encoding="utf-8",
    )
    return main(["check-config", "--config", str(config)])


@pytest.mark.parametrize(
    ("adapters", "conversations", "blamed"),
    [
        (["telegram"], "{entity_rules: [{entity_type: lead, direct: true}]}", "telegram"),
        (["discord", "slack"], "{default_entity_type: Lead}", "discord"),
        # A rule may name an adapter that has no section of its own (the console).
        (["slack"], "{entity_rules: [{entity_type: LEAD, adapters: [console]}]}", "console"),
    ],
)
def test_lead_rules_for_a_platform_without_addresses_need_the_domain(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    adapters: list[str],
    conversations: str,
    blamed: str,
) -> None:
    assert check(tmp_path, adapters=adapters, conversations=conversations) == 2
    err = capsys.readouterr().err
    assert err.startswith("knowrithm-bots: config key leads.email_domain is required: ")
    assert f"may apply to {blamed}, which gives no e-mail addresses" in err
    assert len(err.strip().splitlines()) == 1

    leads = "leads: {email_domain: leads.example-company.com}\n"
    assert check(tmp_path, adapters=adapters, conversations=conversations, leads=leads) == 0


def test_lead_rules_that_reach_only_slack_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = "{entity_rules: [{entity_type: LEAD, external: true, adapters: [slack]}]}"
    assert check(tmp_path, adapters=["slack", "telegram"], conversations=rules) == 0
    out, err = capsys.readouterr()
    assert "is valid" in out
    assert err.splitlines() == [
        "warning: leads.email_domain is not set: LEAD conversations on slack can start only "
        "for people whose e-mail address the platform gives the bot (on Slack: with the "
        "users:read.email scope); set leads.email_domain to derive one for the others"
    ]


def test_rules_that_never_make_leads_need_no_domain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first rule takes every Telegram thread as USER, so the LEAD rule never sees one.
    rules = (
        "{entity_rules: [{entity_type: user, adapters: [telegram]}, "
        "{entity_type: lead, direct: true}]}"
    )
    assert check(tmp_path, adapters=["telegram", "discord"], conversations=rules) == 2
    assert "may apply to discord," in capsys.readouterr().err
    assert check(tmp_path, adapters=["telegram"], conversations=rules) == 0
    assert capsys.readouterr().err == ""
    # Nor do LEAD rules that no thread can meet.
    empty = "{entity_rules: [{entity_type: lead, users: []}]}"
    assert check(tmp_path, adapters=["telegram"], conversations=empty) == 0
