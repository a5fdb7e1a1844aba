"""One idiom for every adapter: its library's failures become the core's PlatformError tree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from knowrithm_bots.core.errors import PlatformError

Translate = Callable[[Exception], PlatformError | None]
"""Maps one failure of a platform library to the core error for it, or None when it is not
a platform failure (a bug of ours, which must surface as it is)."""


@contextmanager
def translating(translate: Translate) -> Iterator[None]:
    """Re-raise failures inside the block as what ``translate`` makes of them.

    Every adapter wraps each platform call in this, through its own ``errors.translated``::

        with translated(action="posting the answer"):
            await client.send_message(...)

    ``PlatformError`` raised inside passes unchanged; an exception ``translate`` returns None
    for is re-raised as it is; ``asyncio.CancelledError`` (not an ``Exception``) is never
    touched. The translated error is raised ``from None``: a platform library's exception
    can carry a request, and with it a token, that must not reach a log.
    """
    try:
        yield
    except PlatformError:
        raise
    except Exception as exc:
        error = translate(exc)
        if error is None:
            raise
        raise error from None
