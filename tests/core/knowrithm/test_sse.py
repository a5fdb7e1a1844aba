"""The incremental SSE parser: line endings, comments, multi-line data, arbitrary splits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from knowrithm_bots.core.knowrithm import SSEEvent, SSEParser


def parse_all(*chunks: str) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def test_named_event_with_id() -> None:
    events = parse_all('id: 7\nevent: chat_chunk\ndata: {"a": 1}\n\n')
    assert events == [SSEEvent(event="chat_chunk", data='{"a": 1}', id="7")]


def test_comments_are_ignored_and_unnamed_events_are_messages() -> None:
    events = parse_all(": connected\n\n: keep-alive\ndata: hi\n\n")
    assert events == [SSEEvent(event="message", data="hi", id=None)]


def test_multi_line_data_is_joined_with_newlines() -> None:
    events = parse_all("data: line one\ndata:line two\ndata\n\n")
    assert [e.data for e in events] == ["line one\nline two\n"]


def test_crlf_and_lone_cr_line_endings() -> None:
    crlf = parse_all("event: a\r\ndata: 1\r\n\r\n")
    cr = parse_all("event: a\rdata: 1\r\r")
    assert crlf == cr == [SSEEvent(event="a", data="1", id=None)]


def test_crlf_split_between_cr_and_lf_does_not_make_a_blank_line() -> None:
    # If the LF after a split CR counted as a line of its own, the first event would be
    # dispatched early (without its data 2) and data 2 would become a second event.
    events = parse_all("data: 1\r", "\ndata: 2\r", "\n\r", "\n")
    assert events == [SSEEvent(event="message", data="1\n2", id=None)]


def test_event_split_in_the_middle_of_a_field() -> None:
    parser = SSEParser()
    assert parser.feed("ev") == []
    assert parser.feed("ent: chat_res") == []
    assert parser.feed("ponse\nda") == []
    assert parser.feed("ta: {}\n") == []
    assert parser.feed("\n") == [SSEEvent(event="chat_response", data="{}", id=None)]


def test_multibyte_character_split_across_byte_chunks() -> None:
    raw = "data: héllo ✓\n\n".encode()
    parser = SSEParser()
    events = [e for i in range(len(raw)) for e in parser.feed_bytes(raw[i : i + 1])]
    assert events == [SSEEvent(event="message", data="héllo ✓", id=None)]


def test_id_persists_until_changed_and_events_without_data_are_not_dispatched() -> None:
    parser = SSEParser()
    events = parser.feed("id: 1\nevent: x\n\ndata: a\n\nid: 2\ndata: b\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "2")]
    assert parser.last_event_id == "2"


def test_field_details_from_the_standard() -> None:
    parser = SSEParser()
    events = parser.feed("\ufeffdata:  two spaces\nretry: 1500\nretry: x\nid: a\x00b\nfoo: bar\n\n")
    assert events == [SSEEvent(event="message", data=" two spaces", id=None)]
    assert parser.retry_ms == 1500


def test_unfinished_event_is_not_dispatched() -> None:
    assert parse_all("event: chat_chunk\ndata: partial\n") == []


STREAM = (
    ": connected\r\n\r\n"
    'id: 1\r\nevent: chat_status\r\ndata: {"status": "queued"}\r\n\r\n'
    "id: 2\nevent: chat_chunk\ndata: first\ndata: second\n\n"
    "event: heartbeat\rdata: {}\r\r"
)


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse_all(*pieces) == parse_all(STREAM)
    assert [e.event for e in parse_all(STREAM)] == ["chat_status", "chat_chunk", "heartbeat"]
