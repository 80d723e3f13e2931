"""The one sanitiser every piece of untrusted text passes through before a terminal sees it.

Provider responses, CSV files and journal rows can carry ANSI escape sequences, C0/C1
control characters or Rich markup. ``clean`` removes the first two; markup is neutralised
by the renderer (``rich.text.Text`` objects, never markup strings) — see ``tui.widgets``.
"""

from __future__ import annotations

import re
import unicodedata

# CSI / OSC / other ESC sequences first, so their parameters do not survive as text.
_ESCAPE_SEQUENCE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI ... final byte
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC ... BEL or ST
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?     # DCS / SOS / PM / APC ... ST
    | \x1b[ -/]*[0-~]                   # other ESC sequences: ESC c, ESC 7, ESC ( B
    | \x9b[0-?]*[ -/]*[@-~]             # 8-bit CSI
    """,
    re.VERBOSE,
)

MAX_FIELD_CHARS = 2_000


def clean(value: object, *, max_chars: int = MAX_FIELD_CHARS, keep_newlines: bool = False) -> str:
    """Return ``value`` as printable text: escape sequences and control characters removed.

    Tabs become spaces, newlines become spaces unless ``keep_newlines``; bidi overrides and
    other format characters (Unicode category Cf) are dropped too, so a provider cannot
    reorder what the operator reads. Over-long text is cut with an ellipsis.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():
        # Every escape sequence starts with a control character, and isprintable() is
        # False for every character of the categories dropped: text that passes that one
        # check (in C) — nearly all of it — has nothing to remove.
        text = _scrub(text, keep_newlines)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text


def _scrub(text: str, keep_newlines: bool) -> str:
    """Escape sequences and control characters out, a character at a time."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    out: list[str] = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif char in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"}:
            continue
        else:
            out.append(char)
    return "".join(out)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """Clean text for a CSV cell a spreadsheet will open: formulas are made inert."""
    text = clean(value)
    # clean() has already turned a leading tab or CR into a space: look past the blanks.
    if text.lstrip().startswith(_FORMULA_START):
        return "'" + text
    return text
