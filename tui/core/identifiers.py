"""Validation of the identifiers an operator types or a batch file holds.

Checked before any request is sent: an identifier that fails here never reaches a provider.
"""

from __future__ import annotations

import unicodedata

MAX_IDENTIFIER_CHARS = 128
MAX_REASON_CHARS = 500


class InvalidInput(ValueError):
    """Input rejected before any request; the message is safe to show as is."""


def has_control(text: str) -> bool:
    """Control, format (bidi), surrogate or private-use characters: never in typed input."""
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in text)


def validate_identifier(raw: str) -> str:
    """Return the identifier stripped of surrounding blanks, or raise :class:`InvalidInput`."""
    if not isinstance(raw, str):
        raise InvalidInput("identifier must be text")
    ident = raw.strip()
    if not ident:
        raise InvalidInput("identifier is empty")
    if len(ident) > MAX_IDENTIFIER_CHARS:
        raise InvalidInput(f"identifier is longer than {MAX_IDENTIFIER_CHARS} characters")
    if has_control(ident):
        raise InvalidInput("identifier contains control characters")
    if ident in {".", ".."}:
        raise InvalidInput("identifier cannot be '.' or '..'")
    return ident


def validate_reason(raw: str, *, required: bool = True) -> str:
    """Return the cancel reason stripped, or raise :class:`InvalidInput`."""
    reason = (raw or "").strip()
    if required and not reason:
        raise InvalidInput("a cancel reason is required")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason is longer than {MAX_REASON_CHARS} characters")
    if has_control(reason):
        raise InvalidInput("reason contains control characters")
    return reason


def parse_item_spec(raw: str) -> tuple[str, int | None]:
    """Parse ``ID`` or ``ID=QTY`` from the command line or a batch file."""
    spec = raw.strip()
    item_id, sep, qty_text = spec.partition("=")
    item_id = validate_identifier(item_id) if item_id.strip() else ""
    if not item_id:
        raise InvalidInput(f"item {raw!r}: missing item id")
    if not sep:
        return item_id, None
    qty_text = qty_text.strip()
    if not qty_text.isdigit() or not qty_text.isascii():
        raise InvalidInput(f"item {item_id}: quantity must be a whole number, got {qty_text!r}")
    qty = int(qty_text)
    if qty < 1 or qty > 1_000_000:
        raise InvalidInput(f"item {item_id}: quantity must be between 1 and 1000000")
    return item_id, qty


MAX_REASON_CODE_CHARS = 64
MAX_OPERATOR_CHARS = 100


def validate_reason_code(raw: str | None) -> str | None:
    """A provider's reason code as typed (``--reason-code``), stripped; None when blank."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput("reason code must be text")
    code = raw.strip()
    if not code:
        return None
    if len(code) > MAX_REASON_CODE_CHARS:
        raise InvalidInput(f"reason code is longer than {MAX_REASON_CODE_CHARS} characters")
    if has_control(code):
        raise InvalidInput("reason code contains control characters")
    return code


def validate_operator(raw: str) -> str:
    """Who is cancelling (``STOPLINE_OPERATOR``), as recorded with every attempt."""
    if not isinstance(raw, str):
        raise InvalidInput("operator must be text")
    name = raw.strip()
    if not name:
        raise InvalidInput("operator is empty")
    if len(name) > MAX_OPERATOR_CHARS:
        raise InvalidInput(f"operator is longer than {MAX_OPERATOR_CHARS} characters")
    if has_control(name):
        raise InvalidInput("operator contains control characters")
    return name
