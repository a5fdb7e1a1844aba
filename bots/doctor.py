"""``knowrithm-bots doctor``: online checks of what makes a configured bot fail silently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel

from knowrithm_bots.bots.doctor_checks.findings import Check, Finding, Findings, run_check
from knowrithm_bots.bots.doctor_checks.knowrithm import check_knowrithm
from knowrithm_bots.core.config import Settings, adapter_config, load_settings
from knowrithm_bots.core.entity_rules import may_start_leads
from knowrithm_bots.core.plugins import load_adapter

# Exit statuses: a finding that blocks the bot is 1; a config that cannot be read stays 2,
# as for every other command.
HEALTHY = 0
BLOCKED = 1


async def diagnose(*, settings: Settings) -> list[Finding]:
    """Every finding about Knowrithm and each configured adapter, checks run side by side.

    A section that does not validate raises ``ConfigError`` before anything is asked online.
    """
    checks: list[tuple[str, str, Check]] = [
        ("knowrithm", "knowrithm.base_url", lambda f: check_knowrithm(f, settings=settings))
    ]
    for name in settings.adapters:
        checks.append(_adapter_check(settings, name=name))
    results = await asyncio.gather(
        *(run_check(check, where=where, address_key=key) for where, key, check in checks)
    )
    return [finding for found in results for finding in found]


def _adapter_check(settings: Settings, *, name: str) -> tuple[str, str, Check]:
    """The check for adapter ``name``; built-in platforms are imported only when configured."""
    section = adapter_config(settings, name=name)
    cls = load_adapter(name)
    config: BaseModel | None = None
    if cls.config_model is not None:
        config = cls.config_model.load(section, prefix=f"adapters.{name}")
    else:
        cls.from_config(config=section)  # validates; builds nothing that connects
    key = f"adapters.{name}.api_base_url"
    if name == "telegram":
        from knowrithm_bots.adapters.telegram.config import TelegramConfig
        from knowrithm_bots.bots.doctor_checks.telegram import check_telegram

        if isinstance(config, TelegramConfig):
            telegram = config
            return name, key, lambda f: check_telegram(f, config=telegram)
    if name == "slack":
        from knowrithm_bots.adapters.slack.config import SlackConfig
        from knowrithm_bots.bots.doctor_checks.slack import check_slack

        if isinstance(config, SlackConfig):
            slack = config
            emails = _needs_emails(settings, name=name)
            return name, key, lambda f: check_slack(f, config=slack, needs_emails=emails)
    if name == "discord":
        from knowrithm_bots.adapters.discord.config import DiscordConfig
        from knowrithm_bots.bots.doctor_checks.discord import check_discord

        if isinstance(config, DiscordConfig):
            discord = config
            return name, key, lambda f: check_discord(f, config=discord)
    return name, key, _nothing_online


async def _nothing_online(findings: Findings) -> None:
    findings.ok("the section is valid; the doctor has no online checks for this adapter")


def _needs_emails(settings: Settings, *, name: str) -> bool:
    """Whether LEAD conversations on ``name`` need the e-mail address the platform gives."""
    conversations = settings.conversations
    return settings.leads.email_domain is None and may_start_leads(
        adapter=name,
        rules=conversations.entity_rules,
        default=conversations.default_entity_type,
    )


def summary(findings: Sequence[Finding]) -> tuple[str, int]:
    """The report, one finding a line and a last line counting them, with the exit status."""
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    lines = [finding.line() for finding in findings]
    if errors:
        problems = "problem blocks" if errors == 1 else "problems block"
        last = f"{errors} {problems} the bot"
    else:
        last = "nothing blocks the bot"
    if warnings:
        last += f"; {warnings} warning{'s' if warnings > 1 else ''}"
    lines.append(f"doctor: {last}")
    return "\n".join(lines), BLOCKED if errors else HEALTHY


def run_doctor(*, path: str) -> tuple[str, int]:
    """Check the bot configured in the file at ``path``: the report and the exit status."""
    settings = load_settings(path)
    return summary(asyncio.run(diagnose(settings=settings)))
