"""core.log_redaction: records of covered loggers lose their secrets, tracebacks included."""

from __future__ import annotations

import logging

from core.log_redaction import RedactionScope
from tests.support import CollectLogs

SECRET = "sk-live-0123456789abcdef"


def hide(text: str) -> str:
    return text.replace(SECRET, "[redacted]")


def boom() -> None:
    raise RuntimeError(f"the server said: bad key {SECRET}")


def test_child_loggers_made_after_install_and_tracebacks_are_cleaned() -> None:
    scope = RedactionScope(clean=hide, loggers=("somelib",))
    scope.install()
    collect = CollectLogs()
    child = logging.getLogger("somelib.made.later")
    child.addHandler(collect)
    child.propagate = False
    try:
        child.warning("calling with %s", SECRET)
        try:
            boom()
        except RuntimeError:
            child.exception("failed")
        logging.getLogger("otherlib").addHandler(collect)
        logging.getLogger("otherlib").warning("not covered: %s", SECRET)
    finally:
        scope.remove()
        logging.getLogger("otherlib").removeHandler(collect)
        child.removeHandler(collect)
    covered, uncovered = collect.texts[:2], collect.texts[2]
    assert all(SECRET not in text for text in covered)
    assert "[redacted]" in covered[0] and "Traceback" in covered[1]
    assert SECRET in uncovered  # only the named loggers are touched


def test_remove_restores_the_factory_or_goes_inert_when_wrapped_again() -> None:
    original = logging.getLogRecordFactory()
    scope = RedactionScope(clean=hide, loggers=("somelib",))
    scope.install()
    scope.remove()
    assert logging.getLogRecordFactory() is original

    scope.install()
    ours = logging.getLogRecordFactory()

    def theirs(*args: object, **kwargs: object) -> logging.LogRecord:
        return ours(*args, **kwargs)

    logging.setLogRecordFactory(theirs)
    scope.remove()
    try:
        assert logging.getLogRecordFactory() is theirs  # their wrapper is kept
        record = logging.getLogRecordFactory()(
            "somelib", logging.INFO, __file__, 1, SECRET, None, None
        )
        assert record.getMessage() == SECRET  # ours no longer cleans
    finally:
        logging.setLogRecordFactory(original)
