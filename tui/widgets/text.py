"""Untrusted text as Rich ``Text``: every provider string passes ``clean`` and is never markup."""

from __future__ import annotations

from rich.text import Text

from tui.core.text import clean


def t(value: object, style: str = "", *, max_chars: int = 2_000) -> Text:
    """``value`` cleaned and wrapped in ``Text`` (markup shown literally)."""
    return Text(clean(value, max_chars=max_chars), style=style)


def join(*parts: Text | str, sep: str = "") -> Text:
    """Concatenate; plain ``str`` parts must be our own words, never provider text."""
    out = Text()
    for index, part in enumerate(parts):
        if index and sep:
            out.append(sep)
        out.append(part)
    return out
