"""LEAD conversations through the real client and the local server: which e-mail each lead
gets, a lead Knowrithm already has is reused, and no address means one true sentence."""

from __future__ import annotations

import logging

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import Bridge
from knowrithm_bots.core.config import Settings, parse_settings
from knowrithm_bots.core.errors import LeadEmailUnavailable
from knowrithm_bots.core.events import Author, Inbound, Origin
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.leads import LeadEmails
from knowrithm_bots.core.sessions import Sessions
from knowrithm_bots.core.store import MemoryStore
from knowrithm_bots.core.testing import RecordingAdapter
from knowrithm_bots.core.user_messages import explain

DOMAIN = "leads.example-company.com"


def settings(*, domain: str | None = DOMAIN, entity_type: str = "lead") -> Settings:
    """Direct messages are LEADs; the entity type is written as a user might write it."""
    return parse_settings(
        {
            "conversations": {"entity_rules": [{"entity_type": entity_type, "direct": True}]},
            "leads": {"email_domain": domain},
        },
        env={},
    )


def sessions_for(knowrithm: LocalKnowrithm, client: KnowrithmClient, config: Settings) -> Sessions:
    """Sessions with a store of their own, as a bot process that starts afresh."""
    return Sessions(
        client=client,
        store=MemoryStore(),
        agent_id=knowrithm.agent_id,
        rules=config.conversations.entity_rules,
        default_entity_type=config.conversations.default_entity_type,
        lead_emails=LeadEmails(domain=config.leads.email_domain),
    )


def direct_message(*, user: str = "guest", email: str | None = None, chat: str = "dm1") -> Inbound:
    return Inbound(
        thread=f"recording:{chat}",
        event_id=f"{chat}-1",
        text="hello",
        author=Author(id=user, display_name="Ada Lovelace", email=email),
        origin=Origin(adapter="recording", channel_id=chat, workspace_id="w1", is_direct=True),
    )


@pytest.mark.parametrize("entity_type", ["lead", "LEAD", "Lead"])
async def test_a_lead_rule_in_any_letter_case_starts_a_lead_conversation(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, entity_type: str
) -> None:
    sessions = sessions_for(knowrithm, client, settings(entity_type=entity_type))
    session = await sessions.open(direct_message())
    assert session.entity_type == "LEAD"
    (conversation,) = knowrithm.state.conversations.values()
    (lead,) = knowrithm.state.leads.values()
    assert (conversation.entity_type, conversation.lead_id) == ("lead", lead.id)
    assert lead.email == f"recording-guest@{DOMAIN}"


async def test_a_lead_knowrithm_has_from_before_the_bot_started_is_reused(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    # Made by an earlier run whose store was lost since, or by hand in the console.
    earlier = await client.create_lead(
        first_name="Ada", last_name="Lovelace", email=f"recording-guest@{DOMAIN}"
    )
    session = await sessions_for(knowrithm, client, settings()).open(direct_message())
    assert session.lead_id == earlier.id
    # And again from a second fresh process, in another thread.
    other = await sessions_for(knowrithm, client, settings()).open(direct_message(chat="dm2"))
    assert other.lead_id == earlier.id
    assert list(knowrithm.state.leads) == [earlier.id]
    lead_conversations = [c.lead_id for c in knowrithm.state.conversations.values()]
    assert lead_conversations == [earlier.id, earlier.id]


async def test_the_address_the_platform_gives_is_the_leads_email(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    # No domain needed when the platform tells the address.
    sessions = sessions_for(knowrithm, client, settings(domain=None))
    await sessions.open(direct_message(email="grace@navy.example-company.com"))
    (lead,) = knowrithm.state.leads.values()
    assert lead.email == "grace@navy.example-company.com"


async def test_without_an_address_or_a_domain_the_thread_is_told_and_the_key_logged(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings(domain=None)
    store = MemoryStore()
    sessions = Sessions(
        client=client,
        store=store,
        agent_id=knowrithm.agent_id,
        rules=config.conversations.entity_rules,
    )
    adapter = RecordingAdapter()
    bridge = Bridge(
        client=client,
        store=store,
        sessions=sessions,
        adapters={adapter.name: adapter},
        settings=config.conversations,
    )
    await adapter.start(sink=bridge)
    try:
        await adapter.say("hello", chat="dm1", direct=True, user="guest")
        await bridge.drain()
    finally:
        await bridge.stop()
    sentence = explain(LeadEmailUnavailable("x", key_path="leads.email_domain"))
    assert adapter.visible(adapter.thread_key("dm1")) == sentence
    assert "leads.email_domain" in sentence and "rephrase" not in sentence
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "leads.email_domain is not set" in errors[0].getMessage()
    # Nothing was invented or started on Knowrithm.
    assert knowrithm.state.leads == {}
    assert knowrithm.state.conversations == {}
