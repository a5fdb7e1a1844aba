"""check-config's lead check: LEAD conversations need an e-mail for every person they start for."""

from __future__ import annotations

from knowrithm_bots.core.config import Settings
from knowrithm_bots.core.entity_rules import may_start_leads
from knowrithm_bots.core.errors import ConfigError, PluginError
from knowrithm_bots.core.leads import DOMAIN_KEY, UserEmails
from knowrithm_bots.core.plugins import load_adapter


def _candidates(settings: Settings) -> list[str]:
    """The adapters this configuration can run: its sections, and those its rules name."""
    named = [name for rule in settings.conversations.entity_rules for name in rule.adapters or ()]
    return list(dict.fromkeys([*settings.adapters, *named]))


def _user_emails(name: str) -> UserEmails | None:
    try:
        return load_adapter(name).user_emails
    except PluginError:
        return None  # not installed: it cannot run, and its section was checked already


def check_lead_emails(settings: Settings) -> list[str]:
    """Warnings about lead e-mails; a ``ConfigError`` naming ``leads.email_domain`` when LEAD
    conversations can start on a platform that gives no e-mail addresses and none is derived.
    """
    if settings.leads.email_domain is not None:
        return []
    conversations = settings.conversations
    reached = {
        name: _user_emails(name)
        for name in _candidates(settings)
        if may_start_leads(
            adapter=name,
            rules=conversations.entity_rules,
            default=conversations.default_entity_type,
        )
    }
    never = [name for name, emails in reached.items() if emails == "never"]
    if never:
        raise ConfigError(
            f"config key {DOMAIN_KEY} is required: the LEAD rules (or default_entity_type) "
            f"may apply to {', '.join(never)}, which {'give' if len(never) > 1 else 'gives'} "
            "no e-mail addresses, and every lead needs one; set it to a domain you own, such as "
            "leads.example-company.com, or limit the LEAD rules with adapters: [...]",
            key_path=DOMAIN_KEY,
        )
    maybe = [name for name, emails in reached.items() if emails == "maybe"]
    if not maybe:
        return []
    return [
        f"{DOMAIN_KEY} is not set: LEAD conversations on {', '.join(maybe)} can start only "
        "for people whose e-mail address the platform gives the bot (on Slack: with the "
        f"users:read.email scope); set {DOMAIN_KEY} to derive one for the others"
    ]
