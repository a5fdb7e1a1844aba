"""Lead e-mail addresses: real ones kept, the rest derived stably, every one a valid address."""

from __future__ import annotations

import logging

import pytest
from email_validator import validate_email
from hypothesis import given
from hypothesis import strategies as st

from knowrithm_bots.core.errors import ConfigError, LeadEmailUnavailable
from knowrithm_bots.core.events import Author, Origin
from knowrithm_bots.core.leads import LeadEmails, derived_address, usable_address, usable_domain

DOMAIN = "leads.example-company.com"

# The user ids each built-in adapter hands the core, as the platforms shape them.
ID_SHAPES: dict[str, list[str]] = {
    # User ids, and a chat id when a channel or an anonymous admin writes in a group.
    "telegram": ["12345", "7000000001", "-1001234567890"],
    # Snowflakes.
    "discord": ["80351110224678912", "1234567890123456789"],
    # Workspace members, Enterprise Grid members, Slack Connect guests.
    "slack": ["U0123ABCD", "W0123ABCDEF", "U07QWERTY12"],
    # The console's user_name setting or the login name.
    "console": ["ada", "Ada Lovelace", "o'brien", "zoë", "x" * 80, "DOMAIN\\user"],
}
SLACK_WORKSPACES = ["T0123ABCD", "E0123ABCD"]


def standard_check(address: str) -> str:
    """The address as the email-validator package normalises it; raises when it refuses it."""
    return str(validate_email(address, check_deliverability=False).normalized)


def all_shapes() -> list[tuple[str, str, str | None]]:
    shapes: list[tuple[str, str, str | None]] = []
    for adapter, ids in ID_SHAPES.items():
        workspaces: list[str | None] = list(SLACK_WORKSPACES) if adapter == "slack" else [None]
        shapes.extend((adapter, user, ws) for user in ids for ws in workspaces)
    return shapes


@pytest.mark.parametrize(("adapter", "user_id", "workspace"), all_shapes())
def test_every_adapters_derived_addresses_pass_the_standard_validator(
    adapter: str, user_id: str, workspace: str | None
) -> None:
    address = derived_address(adapter=adapter, user_id=user_id, domain=DOMAIN, workspace=workspace)
    assert standard_check(address) == address  # already in normal form: lowercase ASCII
    assert usable_address(address) == address
    assert address.startswith(f"{adapter}-") and address.endswith(f"@{DOMAIN}")
    # Stable: the same person always gets the same address.
    again = derived_address(adapter=adapter, user_id=user_id, domain=DOMAIN, workspace=workspace)
    assert again == address


def test_the_addresses_read_as_the_platform_ids() -> None:
    assert derived_address(adapter="telegram", user_id="12345", domain=DOMAIN) == (
        "telegram-12345@leads.example-company.com"
    )
    assert derived_address(adapter="discord", user_id="80351110224678912", domain=DOMAIN) == (
        "discord-80351110224678912@leads.example-company.com"
    )
    slack = derived_address(
        adapter="slack", user_id="U0123ABCD", domain=DOMAIN, workspace="T0123ABCD"
    )
    assert slack == "slack-t0123abcd-u0123abcd@leads.example-company.com"


def test_ids_that_lose_characters_or_length_stay_apart() -> None:
    def make(user: str) -> str:
        return derived_address(adapter="console", user_id=user, domain=DOMAIN)

    users = ["a b", "a-b", "a_b", "a.b", "ab", "Ab", "x" * 80, "x" * 81, "-1001", "1001"]
    addresses = [make(user) for user in users]
    assert len(set(addresses)) == len(users)
    assert all(len(a.partition("@")[0]) <= 64 for a in addresses)
    # One Slack id in two workspaces is two people.
    one, other = (
        derived_address(adapter="slack", user_id="U1", domain=DOMAIN, workspace=ws)
        for ws in ("T1", "T2")
    )
    assert one != other


@given(
    adapter=st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True),
    user_id=st.text(min_size=1, max_size=120),
    workspace=st.none() | st.text(min_size=1, max_size=40),
)
def test_any_id_an_adapter_might_use_gives_a_valid_address(
    adapter: str, user_id: str, workspace: str | None
) -> None:
    address = derived_address(adapter=adapter, user_id=user_id, domain=DOMAIN, workspace=workspace)
    assert standard_check(address) == address


@pytest.mark.parametrize(
    "domain",
    [
        "telegram.invalid",
        "bots.test",
        "printer.local",
        "localhost",
        "leads.localhost",
        "leads.example",
        "hidden.onion",
        "leads..com",
        "-leads.com",
        "leads_x.com",
        "com",
        "a@leads.com",
        "x" * 63 + "." + "y" * 63 + "." + "z" * 63 + ".com",
    ],
)
def test_domains_no_one_can_receive_mail_at_are_refused(domain: str) -> None:
    with pytest.raises(ValueError, match=r"\S") as refused:
        usable_domain(domain)
    assert "Traceback" not in str(refused.value)


def test_a_good_domain_is_kept_in_lowercase_ascii() -> None:
    assert usable_domain(" Leads.Example-Company.COM ") == "leads.example-company.com"
    assert usable_domain("leads.bücher.de") == "leads.xn--bcher-kva.de"
    # example.com is a real, registered domain: only the .example TLD is reserved.
    assert usable_domain("leads.example.com") == "leads.example.com"


def origin(adapter: str = "telegram", workspace: str | None = "w1") -> Origin:
    return Origin(adapter=adapter, channel_id="c1", workspace_id=workspace, is_direct=True)


def test_a_real_address_is_used_as_the_platform_gave_it() -> None:
    emails = LeadEmails(domain=DOMAIN)
    author = Author(id="U1", email="Grace.Hopper@Navy.MIL")
    assert emails.address(author=author, origin=origin("slack")) == "Grace.Hopper@navy.mil"
    # No domain needed when the platform gives the address.
    assert LeadEmails().address(author=author, origin=origin("slack")) == "Grace.Hopper@navy.mil"


def test_an_address_a_validator_refuses_is_replaced_by_a_derived_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    emails = LeadEmails(domain=DOMAIN)
    for bad in ("bob@telegram.invalid", "bob@intranet.local", "not an address"):
        author = Author(id="42", email=bad)
        address = emails.address(author=author, origin=origin())
        assert address == "telegram-42@leads.example-company.com"
    assert "cannot be used" in caplog.text


def test_only_adapters_with_per_workspace_ids_name_the_workspace() -> None:
    emails = LeadEmails(domain=DOMAIN, per_workspace=frozenset({"slack"}))
    slack = emails.address(author=Author(id="U9"), origin=origin("slack", "T7"))
    discord = emails.address(author=Author(id="9"), origin=origin("discord", "guild-1"))
    assert (slack, discord) == (
        "slack-t7-u9@leads.example-company.com",
        "discord-9@leads.example-company.com",
    )


def test_without_an_address_or_a_domain_nothing_is_made_up() -> None:
    with pytest.raises(LeadEmailUnavailable) as missing:
        LeadEmails().address(author=Author(id="42", email="x@y.invalid"), origin=origin())
    assert isinstance(missing.value, ConfigError)
    assert missing.value.key_path == "leads.email_domain"
    assert "leads.email_domain is not set" in str(missing.value)
    assert "@" not in str(missing.value)  # names no address, real or invented
