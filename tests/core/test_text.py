"""``tui.core.text``: the sanitiser every piece of untrusted text passes through."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.text import MAX_FIELD_CHARS, _scrub, clean, csv_safe

_UNSAFE = {"Cc", "Cf", "Cs", "Co"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m", "red"),  # CSI colour
        ("\x1b[2J\x1b[Hcleared", "cleared"),  # clear screen, cursor home
        ("\x1b]0;pwned title\x07ok", "ok"),  # OSC window title ended by BEL
        ("\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 link, ST
        ("\x1bP1$r\x1b\\after", "after"),  # DCS ... ST
        ("\x1bcreset", "reset"),  # two-byte ESC c (RIS)
        ("\x1b(B\x1b[mplain", "plain"),  # tput sgr0: charset select + SGR
        ("\x1b7saved\x1b8", "saved"),  # save / restore cursor
        ("\x9b31mc1-csi", "c1-csi"),  # 8-bit CSI
        ("a\x00b\x07c\x08d\x7fe", "abcde"),  # C0 and DEL
        ("x\x85y\x9fz", "xyz"),  # C1 controls
        ("abc\u202edcba\u202c", "abcdcba"),  # bidi override / pop
        ("\u2066iso\u2069 \u200fmark", "iso mark"),  # bidi isolates and RLM
        ("zero\u200bwidth\ufeff", "zerowidth"),  # zero-width space, BOM
        ("tab\there\r\nnext", "tab here  next"),  # whitespace controls become spaces
        ("plain ünïcode ✓", "plain ünïcode ✓"),
    ],
)
def test_clean_strips_escapes_and_controls(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_keeps_newlines_only_when_asked() -> None:
    assert clean("a\nb") == "a b"
    assert clean("a\nb\r\x1b[1mc", keep_newlines=True) == "a\nb c"


def test_clean_handles_none_and_non_text() -> None:
    assert clean(None) == ""
    assert clean(42) == "42"
    assert clean(["x"]) == "['x']"


def test_clean_cuts_over_long_text_with_an_ellipsis() -> None:
    out = clean("x" * 50, max_chars=10)
    assert out == "x" * 9 + "…"
    assert len(clean("y" * (MAX_FIELD_CHARS + 500))) == MAX_FIELD_CHARS
    assert clean("short", max_chars=10) == "short"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=200), st.booleans())
def test_clean_output_never_holds_a_control_character(raw: str, keep_newlines: bool) -> None:
    out = clean(raw, keep_newlines=keep_newlines)
    bad = [
        ch
        for ch in out
        if unicodedata.category(ch) in _UNSAFE and not (keep_newlines and ch == "\n")
    ]
    assert bad == []
    assert "\x1b" not in out
    assert "\x9b" not in out
    # A second pass finds nothing left to remove.
    assert clean(out, keep_newlines=keep_newlines) == out


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=80), st.booleans())
def test_the_shortcut_for_printable_text_changes_nothing_the_full_pass_would(
    raw: str, keep_newlines: bool
) -> None:
    """``clean`` skips the character-by-character pass when ``str.isprintable()`` holds: for
    any text, that answer must be what the pass gives."""
    assert clean(raw, keep_newlines=keep_newlines, max_chars=10_000) == _scrub(
        raw, keep_newlines
    )


@pytest.mark.parametrize("lead", ["=", "+", "-", "@"])
def test_csv_safe_neutralises_formula_starts(lead: str) -> None:
    assert csv_safe(f'{lead}HYPERLINK("http://x")') == f'\'{lead}HYPERLINK("http://x")'


@pytest.mark.parametrize("raw", ["\t=1+1", "\r=1+1", "  @SUM(A1)", " \t-2+3"])
def test_csv_safe_sees_a_formula_behind_leading_blanks(raw: str) -> None:
    out = csv_safe(raw)
    assert out.startswith("'")
    assert out.lstrip("' ").startswith(("=", "@", "-"))


def test_csv_safe_sees_a_formula_hidden_behind_an_escape_sequence() -> None:
    assert csv_safe("\x1b[31m=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", ["order 1", "1=2", "a-b", "user@x", "", "'quoted"])
def test_csv_safe_leaves_ordinary_text_alone(value: str) -> None:
    assert csv_safe(value) == value


def test_csv_safe_cleans_control_characters_too() -> None:
    assert csv_safe("ok\x07\u202e") == "ok"
    assert csv_safe(None) == ""
