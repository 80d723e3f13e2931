"""The lookup screen's results table: one row per order found, its cells and its keys."""


from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import Order


SHORT_KIND = {"market_order_id": "market", "order_number": "no.", "order_id": "id"}
RESULT_COLUMNS = ("provider", "order", "status", "lines", "canc.", "also known as")


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
    lines = str(len(order.lines)) if order.lines else "—"
    cancellable = order.cancellable_count if order.cancellable else 0
    return [
        t(order.label),
        t(order.order_id, "bold", max_chars=64),
        t(order.status, max_chars=60),
        Text(lines, justify="right"),
        Text(str(cancellable), justify="right", style="" if cancellable else "dim"),
        other_identifiers(order),
    ]


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
