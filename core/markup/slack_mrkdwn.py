"""Convert the agent's Markdown into Slack ``mrkdwn``."""

from __future__ import annotations

from knowrithm_bots.core.markup._blocks import MarkupRenderer, has_scheme, layout_table

_MARKERS = {"strong": "*", "em": "_", "s": "~", "spoiler": "||"}


def _escape(text: str) -> str:
    # Slack decodes exactly these three entities; anything more would show up literally.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_url(url: str) -> str:
    # Inside <url|text>, "|" and ">" would end the URL early; percent-encoding keeps it working.
    encoded = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return encoded.replace("&", "&amp;")


def _wrap_lines(marker: str, inner: str) -> str:
    # Slack formatting never spans a line break, so each line gets its own markers.
    return "\n".join(
        f"{marker}{line}{marker}" if line.strip() else line for line in inner.split("\n")
    )


class _SlackRenderer(MarkupRenderer):
    def escape(self, text: str) -> str:
        return _escape(text)

    def style(self, inner: str, *, kind: str) -> str:
        return _wrap_lines(_MARKERS.get(kind, ""), inner)

    def code_span(self, code: str, *, in_link: bool) -> str:
        return f"`{_escape(code)}`"

    def link(self, *, href: str, inner: str, plain: str) -> str:
        if not href or not has_scheme(href):
            return self.plain_link(href=href, inner=inner, plain=plain)
        if plain == href or not plain.strip():
            return f"<{_escape_url(href)}>"
        return f"<{_escape_url(href)}|{_escape(plain.replace(chr(10), ' '))}>"

    def heading(self, inner: str) -> str:
        return _wrap_lines("*", inner)

    def quote(self, inner: str, *, nested: bool) -> str:
        if nested or not inner:
            return inner  # Slack has one quote level; the outer quote prefixes these lines
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))

    def code_block(self, code: str, *, language: str) -> str:
        # The language tag is dropped: Slack would show it as the first line of code.
        return f"```\n{_escape(code)}\n```"

    def table(self, rows: list[list[str]]) -> str:
        return self.code_block(layout_table(rows), language="")


_RENDERER = _SlackRenderer()


def to_slack_mrkdwn(markdown: str) -> str:
    """Convert Markdown to Slack mrkdwn, keeping every word of the input.

    ``**b**``/``__b__`` become ``*b*``, emphasis ``_i_``, ``~~s~~`` ``~s~``, links
    ``<url|text>``, headings bold lines, bullets ``•`` (numbers kept), code kept (fence
    language dropped), quotes ``>``; ``&``, ``<`` and ``>`` are escaped outside links.
    Unbalanced input (a stream cut mid-construct) is rendered literally, never dropped.
    """
    return _RENDERER.render(markdown)
