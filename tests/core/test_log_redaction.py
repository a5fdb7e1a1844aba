"""core.log_redaction: records of covered loggers lose their secrets, tracebacks included."""

from __future__ import annotations

import logging

from knowrithm_bots.core.log_redaction import RedactionScope, Redactor
from tests.support import CollectLogs

SECRET = "sk-live-0123456789abcdef"


hide = Redactor([SECRET])


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


def test_the_redactor_hides_secrets_in_any_case_longest_first_and_by_shape() -> None:
    redact = Redactor(["abc", "key-123456", "key-123456-long", None, ""], patterns=(r"tok-\d+",))
    text = "KEY-123456-LONG, key-123456, abc, Tok-42"
    # The whole longer secret goes, not a prefix; "abc" is too short to be a real secret.
    assert redact(text) == "[redacted], [redacted], abc, [redacted]"
    assert Redactor([SECRET], mask=r"<\1>")(f"a {SECRET.upper()}") == r"a <\1>"
    assert Redactor([None, ""])("nothing to hide") == "nothing to hide"
