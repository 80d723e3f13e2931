"""The lookup screen's results table: one row per order found, its cells and its keys."""


from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import Order


SHORT_KIND = {
    "market_order_id": "market",
    "order_number": "no.",
    "order_id": "id",
    "external_order_id": "ext.",
    "safe_id": "safe",
    "po": "PO",
}
RESULT_COLUMNS = ("provider", "order", "status", "cancellable", "also known as")
STATUS, ALSO = 2, 4
LEAST_STATUS, LEAST_ALSO = 10, 16
MAX_ROW_HEIGHT = 3


class ResultsTable(DataTable[Any]):
    """One row per order found; ``j``/``k`` move like arrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="stopline.down", tooltip="Next order"),
        Binding("k", "cursor_up", "Up", show=False, id="stopline.up", tooltip="Previous order"),
    ]


def order_key(order: Order) -> str:
    return f"{order.provider}:{order.order_id}"


def result_cells(order: Order) -> list[Text]:
    """One row of the results table, in the order of :data:`RESULT_COLUMNS`."""
    if order.lines:
        count = order.cancellable_count if order.can_cancel else 0
        cancellable = f"{count:,} of {len(order.lines):,}"
    else:
        cancellable = "yes" if order.can_cancel else "no"
    cells = [
        t(order.label),
        t(order.order_id, "bold", max_chars=64),
        t(order.status, max_chars=60),
        Text(cancellable, style="" if order.can_cancel else "dim"),
    ]
    for cell in cells:  # one line each, cut with … if they must be; only the last wraps
        cell.no_wrap = True
        cell.overflow = "ellipsis"
    return [*cells, other_identifiers(order)]


def fit_columns(rows: list[list[Text]], available: int) -> tuple[list[int], int]:
    """Column widths that fit ``available`` cells (a cell of padding each side of every
    column), and the row height: provider and order ids are never cut; the status narrows
    first, then "also known as", which wraps onto a second (or third) line rather than
    being cut."""
    natural = [
        max([len(name), *(cells[index].cell_len for cells in rows)])
        for index, name in enumerate(RESULT_COLUMNS)
    ]
    widths = list(natural)
    excess = sum(widths) + 2 * len(widths) - available
    if excess > 0:
        give = min(excess, widths[STATUS] - LEAST_STATUS)
        if give > 0:
            widths[STATUS] -= give
            excess -= give
    if excess > 0:
        widths[ALSO] = max(LEAST_ALSO, widths[ALSO] - excess)
    height = 1
    if widths[ALSO] < natural[ALSO]:
        from rich.console import Console

        console = Console(width=widths[ALSO])
        height = max(len(cells[ALSO].wrap(console, widths[ALSO])) for cells in rows)
    return widths, min(height, MAX_ROW_HEIGHT)


def other_identifiers(order: Order) -> Text:
    parts = Text()
    for kind, value in order.identifiers.items():
        if value == order.order_id:
            continue
        if parts:
            parts.append(" · ")
        parts.append(f"{SHORT_KIND.get(kind, kind)} ", style="dim")
        parts.append(t(value, max_chars=40))
    return parts
