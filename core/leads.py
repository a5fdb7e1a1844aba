"""The e-mail address a lead is registered with: the platform's, else one derived from its id."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Literal

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from knowrithm_bots.core.errors import LeadEmailUnavailable
from knowrithm_bots.core.events import Author, Origin

log = logging.getLogger(__name__)

DOMAIN_KEY = "leads.email_domain"

UserEmails = Literal["never", "maybe"]
"""Whether a platform can tell the bot a person's e-mail address (``Author.email``)."""

# email-validator refuses the IANA special-use names (arpa, invalid, local, localhost, onion,
# test) but accepts RFC 2606's "example" top-level domain, which nobody can own either.
_RESERVED_TLDS = frozenset({"example"})
_LOCAL_MAX = 64  # RFC 5321's limit on the part before the @, which email-validator enforces
_ADDRESS_MAX = 254
_HASH_CHARS = 10
_UNSAFE = re.compile(r"[^a-z0-9]+")
_CLEAN = re.compile(r"[a-z0-9]+|[A-Z0-9]+")


def _checked(address: str) -> ValidatedEmail:
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    tld = checked.ascii_domain.rpartition(".")[2]
    if tld in _RESERVED_TLDS:
        raise ValueError(
            f"The part after the @-sign is under .{tld}, which is reserved for examples; "
            "nobody receives mail there."
        )
    return checked


def usable_address(address: str) -> str:
    """``address`` in its normal form if it can be a lead's e-mail, else a ValueError.

    The rules are the ``email-validator`` package's without a DNS lookup (what a validating
    server applies), and no address under the reserved ``.example`` domain.
    """
    return str(_checked(address).normalized)


def usable_domain(domain: str) -> str:
    """``domain`` in lowercase ASCII if derived addresses can use it, else a ValueError."""
    domain = domain.strip()
    if "@" in domain:
        raise ValueError("must be the domain alone, such as leads.example-company.com, without @")
    try:
        ascii_domain = str(_checked(f"lead@{domain}").ascii_domain).lower()
    except ValueError as exc:
        # The validator speaks of whole addresses; only the domain was written here.
        reason = str(exc).replace("The part after the @-sign", "It")
        raise ValueError(f"cannot be used in e-mail addresses: {reason}") from None
    # Every derived address, up to its longest name, must still fit in an e-mail address.
    room = _ADDRESS_MAX - 1 - _LOCAL_MAX
    if len(ascii_domain) > room:
        raise ValueError(f"is too long: derived addresses need it to be at most {room} characters")
    return ascii_domain


def _digest(parts: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:_HASH_CHARS]


def derived_address(
    *, adapter: str, user_id: str, domain: str, workspace: str | None = None
) -> str:
    """The stable address of a platform user under ``domain``: ``<adapter>-[<workspace>-]<id>``.

    Letters and digits are kept, lowercased; when anything else had to be replaced, or a part
    mixes upper and lower case (so lowercasing could join two ids), or the name would be too
    long, a hash of the exact parts is appended so two users never share an address.
    """
    parts = (adapter, workspace, user_id) if workspace else (adapter, user_id)
    local = "-".join(_UNSAFE.sub("-", part.lower()) for part in parts)
    exact = all(_CLEAN.fullmatch(part) for part in parts)
    if not exact or len(local) > _LOCAL_MAX:
        local = f"{local[: _LOCAL_MAX - _HASH_CHARS - 1]}-{_digest(parts)}"
    return f"{local}@{domain}"


@dataclass(frozen=True, kw_only=True)
class LeadEmails:
    """Chooses the e-mail address each chat user's lead is registered with.

    ``domain`` is ``leads.email_domain`` (already checked with ``usable_domain``);
    ``per_workspace`` names the adapters whose user ids are unique only within a workspace
    (``Origin.workspace_id``), so their derived addresses name the workspace too.
    """

    domain: str | None = None
    per_workspace: frozenset[str] = frozenset()

    def address(self, *, author: Author, origin: Origin) -> str:
        """A real address the platform gave, else one derived from the user id.

        Raises ``LeadEmailUnavailable`` when there is neither: the bot never makes one up.
        """
        if author.email:
            try:
                return usable_address(author.email)
            except ValueError as exc:
                log.info(
                    "%s user %s: the e-mail address the platform gave cannot be used (%s)",
                    origin.adapter,
                    author.id,
                    exc,
                )
        if self.domain is None:
            raise LeadEmailUnavailable(
                f"cannot start a lead conversation for {origin.adapter} user {author.id}: "
                f"the platform gave no usable e-mail address and {DOMAIN_KEY} is not set "
                "(set it to a domain you own, such as leads.example-company.com)",
                key_path=DOMAIN_KEY,
            )
        workspace = origin.workspace_id if origin.adapter in self.per_workspace else None
        return derived_address(
            adapter=origin.adapter, user_id=author.id, domain=self.domain, workspace=workspace
        )
