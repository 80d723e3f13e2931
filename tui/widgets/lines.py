"""The lines of the highlighted order: sku, quantity, status, cancellable or why not.

Backed by ``textual-fastdatatable`` (Arrow), which stays fast for thousands of lines; it is
imported on first use, never for the first frame. Cells are plain cleaned strings and the
table renders them without markup, so provider text shows literally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import Order

COLUMNS = ["line", "qty", "status", "cancellable", "sku"]


def line_rows(order: Order) -> list[list[str]]:
    from tui.core.text import clean

    rows: list[list[str]] = []
    for line in order.lines:
        if line.cancellable:
            verdict = "yes"
        else:
            verdict = "no: " + clean(line.not_cancellable_reason or line.status or "", max_chars=80)
        rows.append(
            [
                clean(line.id, max_chars=64),
                "" if line.quantity is None else str(line.quantity),
                clean(line.status, max_chars=40),
                verdict,
                clean(line.sku or line.description or "", max_chars=64),
            ]
        )
    return rows


def preload() -> None:
    """Import the table's modules ahead of need (called from a thread after the first frame)."""
    import textual_fastdatatable.data_table  # noqa: F401


class LinesPane(Vertical):
    DEFAULT_CSS = """
    LinesPane { height: 1fr; min-height: 5; border: round $panel; border-title-color: $text-muted;
        border-subtitle-align: left; border-subtitle-color: $text; }
    LinesPane:focus-within { border: round $primary; }
    LinesPane > #lines-note { height: auto; padding: 0 1; }
    LinesPane > #lines-floor { height: auto; padding: 0 1; }
    LinesPane > .lines-table { height: 1fr; scrollbar-size-horizontal: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Lines"
        self.order: Order | None = None
        self._note = Static(
            Text("Look an order up to see its lines.", style="dim"), id="lines-note"
        )
        self._floor = Static(id="lines-floor")
        self._floor.display = False
        self._table: Any = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._floor
        yield self._note

    def set_floor(self, note: Text | None) -> None:
        """What the journal says of this order (its latest attempt, anyone's), or nothing."""
        self._floor.display = note is not None
        if note is not None:
            self._floor.update(note)

    @property
    def table(self) -> Any:
        return self._table

    def show(self, order: Order | None) -> None:
        if order is not None and order == self.order:
            return
        self.order = order
        if self._table is not None:
            self._table.remove()
            self._table = None
        if order is None:
            self.border_title = "Lines"
            self.border_subtitle = None
            self._note.display = True
            self._note.update(Text("Look an order up to see its lines.", style="dim"))
            return
        self.border_title = Text.assemble("Lines of ", t(order.order_id, max_chars=40))
        summary = self._summary(order)
        self._note.update(summary)
        self._note.display = not order.lines
        self.border_subtitle = summary if order.lines else None
        if not order.lines:
            return
        from textual_fastdatatable import ArrowBackend, DataTable

        backend = ArrowBackend.from_records([COLUMNS, *line_rows(order)], has_header=True)
        self._table = DataTable(
            backend=backend,
            cursor_type="row",
            show_row_labels=False,
            render_markup=False,
            max_column_content_width=32,
            classes="lines-table",
        )
        self.mount(self._table)

    def _summary(self, order: Order) -> Text:
        parts: list[Text] = [t(order.status or "status unknown", "bold", max_chars=80)]
        if order.cancelled:
            parts.append(Text("cancelled"))
        elif order.cancel_pending:
            parts.append(Text("cancellation in progress"))
        if not order.lines:
            parts.append(Text("whole order"))
        if order.cancellable:
            parts.append(
                Text(f"{order.cancellable_count} cancellable")
                if order.lines
                else Text("cancellable")
            )
        else:
            parts.append(
                Text.assemble(
                    "not cancellable: ", t(order.not_cancellable_reason or "", max_chars=200)
                )
            )
        return Text(" · ").join(parts)
