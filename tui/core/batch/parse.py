"""Batch files: read a file of orders and validate every row before anything is sent.

File format
-----------
Either **one identifier a line**::

    # stock-out of frame F-102, 2026-11-23
    PO-10021
    PO-10022

(the provider and the reason come from ``--provider`` / ``--reason``), or **CSV** whose first
meaningful line is a header naming ``order_id`` and any of ``provider``, ``reason``,
``items``, in any order::

    provider,order_id,reason,items
    ordermesh,65f1c0de0000000000000001,Duplicate import,ITEM-1=2;ITEM-2
    pattern,PO-10021,,

``items`` lists the lines to cancel, separated by ``;``, each ``ID`` (all that is open) or
``ID=QTY``; empty means the whole order. An empty ``provider`` or ``reason`` cell takes the
default given on the command line. In both formats blank lines and lines starting with ``#``
are ignored, and a line holding a CSV field with a line break is not supported (reasons and
identifiers may not contain one anyway).

Every value goes through the core validators before anything is sent. A bad row becomes a
:class:`BatchRowError` with its line number and never reaches a provider; the rest of the file
still runs. The same order twice in one file is a bad row (put all its items on one line).

No Textual here: the CLI and the console both drive this module.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.domain import CancelRequest, ItemSelection
from tui.core.identifiers import (
    InvalidInput,
    parse_item_spec,
    validate_identifier,
    validate_reason,
)
from tui.core.providers import registry
from tui.core.vocabulary import plural

CSV_COLUMNS: tuple[str, ...] = ("provider", "order_id", "reason", "items")
MAX_ROWS = 100_000
"""A file with more rows than this is refused as a whole (split it)."""
MAX_FILE_BYTES = 32 * 1024 * 1024
# -- parsing ---------------------------------------------------------------------------------


class BatchRow:
    """One valid row: the request to send and the file line it came from.

    A batch holds every row until it ends (up to MAX_ROWS), so a row keeps its request's
    values in slots of its own (~100 bytes, beside the order id) and makes the (already
    validated) request again when asked for it, rather than keeping a model (~700 bytes)."""

    __slots__ = ("items", "line_no", "operator", "order_id", "provider", "reason", "reason_code")

    def __init__(self, line_no: int, request: CancelRequest) -> None:
        self.line_no = line_no
        self.provider = request.provider
        self.order_id = request.order_id
        self.reason = request.reason
        self.reason_code = request.reason_code
        self.items = request.items
        self.operator = request.operator

    @property
    def request(self) -> CancelRequest:
        # The values were validated when the row was made: only the model is rebuilt.
        return CancelRequest.model_construct(
            provider=self.provider,
            order_id=self.order_id,
            reason=self.reason,
            reason_code=self.reason_code,
            items=self.items,
            operator=self.operator,
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.order_id)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BatchRow):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"BatchRow({self.line_no}, {self.request!r})"


@dataclass(frozen=True)
class BatchRowError:
    """A row that will not be sent, and why (the message is safe to show as is)."""

    line_no: int
    message: str

    def to_public(self) -> dict[str, Any]:
        return {"line_no": self.line_no, "error": self.message}


@dataclass
class BatchPlan:
    """A parsed file: the rows to send, the bad rows, and which format it was read as."""

    rows: list[BatchRow] = field(default_factory=list)
    errors: list[BatchRowError] = field(default_factory=list)
    format: str = "lines"
    """``lines`` (one identifier a line) or ``csv``."""

    def count_by_provider(self) -> dict[str, int]:
        counts = Counter(row.request.provider for row in self.rows)
        return {key: counts[key] for key in registry.provider_keys() if counts[key]}


def read_batch_file(
    path: Path | str, *, provider: str | None = None, reason: str | None = None
) -> BatchPlan:
    """Read and parse a batch file; :class:`InvalidInput` when it cannot be read at all."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(f"{file}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file}: not UTF-8 text") from None
    except IsADirectoryError:
        raise InvalidInput(f"{file}: is a folder, not a file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from None
    return parse_batch(text, provider=provider, reason=reason)


def _meaningful(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    """(line number, text) of the lines that are neither blank nor ``#`` comments."""
    for line_no, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield line_no, line


def _split_csv(line: str) -> list[str]:
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise InvalidInput(f"unreadable CSV ({exc})") from None


def _header(line: str) -> list[str] | None:
    """The column names when ``line`` is a CSV header (it names ``order_id``), else None."""
    if "," not in line:
        return None
    try:
        cells = [cell.strip().lower() for cell in _split_csv(line)]
    except InvalidInput:
        return None
    return cells if "order_id" in cells else None


def parse_batch(text: str, *, provider: str | None = None, reason: str | None = None) -> BatchPlan:
    """Parse a batch file's text (format in the module docstring).

    ``provider`` and ``reason`` fill rows that do not name their own. Raises
    :class:`InvalidInput` only for a problem with the file as a whole (an unusable header,
    too many rows); every problem of a single row is reported in ``BatchPlan.errors``.
    """
    default_provider = _provider_or_none(provider)
    default_reason = validate_reason(reason, required=False) if reason is not None else ""
    # Lines as an editor counts them (\n, \r\n, \r), not str.splitlines(), which also
    # breaks at form feeds, U+2028 and other separators and would shift every line number.
    entries = list(_meaningful(re.split(r"\r\n|\r|\n", text)))
    if len(entries) > MAX_ROWS + 1:
        raise InvalidInput(f"more than {MAX_ROWS} rows; split the file")
    plan = BatchPlan()
    columns: list[str] | None = None
    if entries:
        columns = _header(entries[0][1])
    if columns is not None:
        header_no = entries[0][0]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        if unknown:
            raise InvalidInput(
                f"line {header_no}: unknown {'column' if len(unknown) == 1 else 'columns'} "
                f"{', '.join(map(repr, unknown))}; "
                f"the columns are {','.join(CSV_COLUMNS)}"
            )
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise InvalidInput(f"line {header_no}: named twice: {', '.join(repeated)}")
        plan.format = "csv"
        entries = entries[1:]
    seen: dict[tuple[str, str], int] = {}
    for line_no, line in entries:
        try:
            if columns is None:
                request = _plain_row(line, default_provider, default_reason)
            else:
                request = _csv_row(line, columns, default_provider, default_reason)
            key = (request.provider, request.order_id)
            if key in seen:
                raise InvalidInput(
                    f"{request.provider} order {request.order_id} is already on line "
                    f"{seen[key]} (put all its items on one line)"
                )
            seen[key] = line_no
        except InvalidInput as exc:
            plan.errors.append(BatchRowError(line_no, str(exc)))
            continue
        plan.rows.append(BatchRow(line_no, request))
    return plan


def _provider_or_none(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    key = raw.strip().lower()
    if key not in registry.provider_keys():
        known = ", ".join(registry.provider_keys())
        raise InvalidInput(f"unknown provider {raw.strip()!r}; known: {known}")
    return key


def _request(
    provider: str | None, order_id: str, reason: str, items: tuple[ItemSelection, ...] = ()
) -> CancelRequest:
    if provider is None:
        raise InvalidInput("no provider: add a provider column or pass --provider")
    ident = validate_identifier(order_id)
    why = validate_reason(reason, required=True)
    return CancelRequest(provider=provider, order_id=ident, reason=why, items=items)


def _plain_row(line: str, provider: str | None, reason: str) -> CancelRequest:
    if "," in line:
        raise InvalidInput(
            "a comma in an identifier line; for CSV, start the file with the header "
            + ",".join(CSV_COLUMNS)
        )
    return _request(provider, line, reason)


def _csv_row(line: str, columns: Sequence[str], provider: str | None, reason: str) -> CancelRequest:
    cells = _split_csv(line)
    if len(cells) != len(columns):
        raise InvalidInput(f"expected {plural(len(columns), 'column')}, found {len(cells)}")
    row = dict(zip(columns, cells, strict=True))
    row_provider = _provider_or_none(row.get("provider")) or provider
    row_reason = row.get("reason", "").strip() or reason
    items = parse_items(row.get("items", ""))
    return _request(row_provider, row.get("order_id", ""), row_reason, items)


def parse_items(raw: str) -> tuple[ItemSelection, ...]:
    """``ID=QTY;ID2`` (``;``-separated, each ``ID`` or ``ID=QTY``) as selections."""
    items: list[ItemSelection] = []
    for spec in raw.split(";"):
        if not spec.strip():
            continue
        item_id, qty = parse_item_spec(spec)
        if any(item.id == item_id for item in items):
            raise InvalidInput(f"item {item_id} is listed twice")
        items.append(ItemSelection(id=item_id, quantity=qty))
    return tuple(items)


def format_items(items: Iterable[ItemSelection]) -> str:
    """The inverse of :func:`parse_items`."""
    return ";".join(f"{i.id}={i.quantity}" if i.quantity is not None else i.id for i in items)
