"""The doctor's Knowrithm check: the start-up check the bot runs (base URL, credentials, agent)."""

from __future__ import annotations

from knowrithm_bots.bots.doctor_checks.findings import Findings
from knowrithm_bots.bots.runner import check_configured_endpoint
from knowrithm_bots.core.config import Settings
from knowrithm_bots.core.errors import ConfigError


async def check_knowrithm(findings: Findings, *, settings: Settings) -> None:
    """What the bot checks before it serves; a failure there stops it, so it is an error."""
    try:
        base_url, agent = await check_configured_endpoint(settings)
    except ConfigError as exc:
        findings.error(str(exc))
        return
    named = f" ({agent.name})" if agent.name else ""
    findings.ok(
        f"{base_url} answered, accepted the credentials and knows the agent {agent.id}{named}"
    )
