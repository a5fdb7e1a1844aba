"""Text clean-up shared by everything that sends user or agent text onwards."""

from __future__ import annotations


def clean_text(text: str) -> str:
    """Join surrogate pairs and replace lone surrogates, so output is always valid UTF-8."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
