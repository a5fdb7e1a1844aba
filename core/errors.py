"""The one exception tree of knowrithm-bots; adapters and the Knowrithm client translate into it."""

from __future__ import annotations


class KnowrithmBotsError(Exception):
    """Root of every error this project raises on purpose.

    ``str(error)`` is one sentence meant for the operator; it never contains a secret.
    """


class ConfigError(KnowrithmBotsError):
    """The configuration is invalid; ``key_path`` names the failing key, e.g. ``store.path``."""

    def __init__(self, message: str, *, key_path: str | None = None) -> None:
        super().__init__(message)
        self.key_path = key_path


class LeadEmailUnavailable(ConfigError):
    """A LEAD conversation needs an e-mail address, and there is none to use.

    The platform gave no usable address for the person and ``leads.email_domain`` is not
    set, so no address can be derived; the bot never makes one up.
    """


class PluginError(KnowrithmBotsError):
    """An adapter plugin cannot be found, imported or used."""


class StoreError(KnowrithmBotsError):
    """The store cannot read or write; nothing already stored is lost by raising this."""


# --- Knowrithm -----------------------------------------------------------------------------


class KnowrithmError(KnowrithmBotsError):
    """Knowrithm answered with an error, or could not be reached or understood."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class AuthError(KnowrithmError):
    """401/403: the API key, secret or token is wrong or lacks the scope."""


class NotFoundError(KnowrithmError):
    """404: the conversation, message, lead or task does not exist."""


class BadRequestError(KnowrithmError):
    """400/409/422: Knowrithm refused the request as invalid."""


class ConversationEndedError(BadRequestError):
    """The conversation has ended on Knowrithm; a new one must be started."""


class ConversationStartError(KnowrithmError):
    """Knowrithm refused to start a conversation, or answered the start unreadably.

    Raised by the bridge in place of the refusal (``__cause__``); rephrasing the user's
    message cannot help, only the bot's Knowrithm settings can.
    """


class LeadCreationError(KnowrithmError):
    """Knowrithm refused to create or find the lead a LEAD conversation belongs to.

    Raised by ``Sessions`` in place of the refusal (``__cause__``); like
    ``ConversationStartError``, nothing the user writes can fix it.
    """


class RateLimitedError(KnowrithmError):
    """429: too many requests; ``retry_after`` is in seconds when Knowrithm said."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code)
        self.retry_after = retry_after


class UnavailableError(KnowrithmError):
    """Knowrithm is unreachable, timed out, or answered 5xx.

    With ``error_code == REPLY_LOST``: Knowrithm accepted the message, but its reply could
    not be read (sending the message again would duplicate it).
    """


REPLY_LOST = "REPLY_LOST"


class ProtocolError(KnowrithmError):
    """Knowrithm answered something this client cannot read (bad JSON, wrong shape, cut stream)."""


class AnswerTimeout(KnowrithmError):
    """Knowrithm sent no new words of an answer for longer than the configured limit, so the
    bot stopped waiting for it (``conversations.answer_timeout_seconds``)."""


# --- Platforms -----------------------------------------------------------------------------


class PlatformError(KnowrithmBotsError):
    """A chat platform refused or failed an operation; adapters raise this or a subclass."""


class PlatformAuthError(PlatformError):
    """The platform rejected the bot's credentials or the bot lacks a permission."""


class PlatformRateLimited(PlatformError):
    """The platform answered 429; ``retry_after`` seconds must pass before the next call."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlatformUnavailable(PlatformError):
    """The platform could not be reached or failed on its side; the call may be repeated."""


class MessageNotFound(PlatformError):
    """The platform message to edit or react to no longer exists."""


class MarkupRejected(PlatformError):
    """The platform could not parse the formatted text; sending it as plain text may work."""


class MessageTooLong(PlatformError):
    """The text exceeds the platform's length limit."""


class NativeStreamUnavailable(PlatformError):
    """The platform refused or expired a native stream; fall back to post + edit."""
