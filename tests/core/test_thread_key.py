"""key_fields: the shape check every thread-key codec starts from."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.thread_key import key_fields


def test_fields_after_the_prefix() -> None:
    assert key_fields("acme:1:2", prefix="acme", counts=(2,)) == ["1", "2"]
    assert key_fields("acme:1:2:3", prefix="acme", counts=(2, 3)) == ["1", "2", "3"]


@pytest.mark.parametrize(
    "thread", ["other:1:2", "acme", "acme:1", "acme:1:2:3", "", ":1:2", "acmex:1:2"]
)
def test_anything_else_is_a_value_error(thread: str) -> None:
    with pytest.raises(ValueError, match="is not a acme thread key"):
        key_fields(thread, prefix="acme", counts=(2,))
