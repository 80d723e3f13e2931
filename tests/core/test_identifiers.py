"""Validation of what an operator types, before anything is sent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.identifiers import (
    MAX_IDENTIFIER_CHARS,
    MAX_REASON_CHARS,
    InvalidInput,
    parse_item_spec,
    validate_identifier,
    validate_reason,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SKU-1", ("SKU-1", None)),
        ("  SKU-1  ", ("SKU-1", None)),
        ("SKU-1=3", ("SKU-1", 3)),
        (" SKU-1 = 3 ", ("SKU-1", 3)),
        ("a/b#c=1", ("a/b#c", 1)),
        ("item=1000000", ("item", 1_000_000)),
        ("item=007", ("item", 7)),
    ],
)
def test_parse_item_spec_accepts(raw: str, expected: tuple[str, int | None]) -> None:
    assert parse_item_spec(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "missing item id"),
        ("   ", "missing item id"),
        ("=3", "missing item id"),
        ("item=", "whole number"),
        ("item=x", "whole number"),
        ("item=-1", "whole number"),
        ("item=1.5", "whole number"),
        ("item=\u0663", "whole number"),  # ARABIC-INDIC DIGIT THREE: a digit, not ASCII
        ("item=0", "between 1 and 1000000"),
        ("item=1000001", "between 1 and 1000000"),
        ("it\x1bem=1", "control characters"),
        ("x" * (MAX_IDENTIFIER_CHARS + 1), "longer than"),
    ],
)
def test_parse_item_spec_rejects(raw: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_item_spec(raw)


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="="),
        min_size=1,
        max_size=40,
    ).filter(lambda text: text not in {".", ".."}),
    st.integers(min_value=1, max_value=1_000_000),
)
def test_parse_item_spec_round_trips(item_id: str, qty: int) -> None:
    assert parse_item_spec(f"{item_id}={qty}") == (item_id, qty)
    assert parse_item_spec(item_id) == (item_id, None)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("x" * (MAX_IDENTIFIER_CHARS + 1), "longer than 128"),
        ("A\x00B", "control"),
        ("A\x1b[31mB", "control"),
        ("A\u202eB", "control"),
        ("A\nB", "control"),
        ("A\x85B", "control"),
    ],
)
def test_validate_identifier_rejects(raw: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        validate_identifier(raw)


def test_validate_identifier_strips_and_keeps_url_specials() -> None:
    assert validate_identifier("  PO/12 & #3?x  ") == "PO/12 & #3?x"
    assert validate_identifier("x" * MAX_IDENTIFIER_CHARS) == "x" * MAX_IDENTIFIER_CHARS
    with pytest.raises(InvalidInput):
        validate_identifier(None)  # type: ignore[arg-type]


def test_validate_reason() -> None:
    assert validate_reason("  customer asked ") == "customer asked"
    assert validate_reason("", required=False) == ""
    with pytest.raises(InvalidInput, match="required"):
        validate_reason("   ")
    with pytest.raises(InvalidInput, match="longer than"):
        validate_reason("r" * (MAX_REASON_CHARS + 1))
    with pytest.raises(InvalidInput, match="control"):
        validate_reason("why\x07")


@pytest.mark.parametrize("dots", [".", "..", " .. "])
def test_dot_segments_are_not_identifiers(dots: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be"):
        validate_identifier(dots)
