"""What the kit asks of an adapter's thread-key codec; each helper returns the problem or None."""

from __future__ import annotations

from typing import Any

from knowrithm_bots.core.thread_key import ThreadKeyCodec


def codec_problem(codec: object) -> str | None:
    """Why ``codec``, an adapter's ``thread_codec``, cannot be a ``ThreadKeyCodec``, if so."""
    if not isinstance(codec, type) or not all(
        callable(getattr(codec, method, None)) for method in ("encode", "decode")
    ):
        return (
            f"thread_codec is {codec!r}, not a class with encode() and decode() "
            "(core.thread_key.ThreadKeyCodec)"
        )
    return None


def own_key_problem(*, codec: type[ThreadKeyCodec], name: str, thread: str) -> str | None:
    """Why the thread key ``thread`` the adapter delivered does not survive its codec."""
    codec_name = f"{codec.__name__}.decode"
    if not thread.startswith(f"{name}:"):
        return f"thread key {thread!r} must start with {name + ':'!r}"
    try:
        key: Any = codec.decode(thread)
    except ValueError as exc:
        return f"{codec_name}() refused the adapter's own thread key {thread!r}: {exc}"
    except Exception as exc:
        return f"{codec_name}({thread!r}) raised {type(exc).__name__}: {exc}"
    try:
        encoded = key.encode()
    except Exception as exc:
        return f"{codec_name}({thread!r}) gave {key!r}, whose encode() raised {exc!r}"
    if encoded != thread:
        return (
            f"thread key {thread!r} decodes to {key!r}, which encodes to {encoded!r}: "
            "encode(decode(key)) must give back the same string, or stored conversations "
            "are lost"
        )
    if codec.decode(encoded) != key:
        return (
            f"two decodes of {thread!r} are not equal; make the codec a value "
            "(a frozen dataclass) so decode(key.encode()) == key"
        )
    return None


def foreign_keys(*, name: str, thread: str) -> dict[str, str]:
    """Keys the adapter's codec must refuse, made from one of its own, each with what it is."""
    _, _, fields = thread.partition(":")
    other = "slack" if name == "telegram" else "telegram"
    keys = {
        f"{other}:{fields}": "another adapter's key with the same fields",
        f"{name}x:{fields}": f"the key of an adapter whose name merely starts with {name!r}",
        "": "an empty key",
    }
    if not fields.startswith(f"{name}:"):  # else it may be a shorter key of the adapter's own
        keys[fields] = "a key without an adapter name"
    return keys


def foreign_key_problem(*, codec: type[ThreadKeyCodec], key: str, what: str) -> str | None:
    """Why ``codec`` does not refuse ``key`` (described by ``what``) with ValueError."""
    call = f"{codec.__name__}.decode({key!r}) ({what})"
    try:
        decoded = codec.decode(key)
    except ValueError:
        return None
    except Exception as exc:
        return f"{call} raised {type(exc).__name__}; a codec raises ValueError for a foreign key"
    return f"{call} returned {decoded!r}; it must raise ValueError for a foreign key"
