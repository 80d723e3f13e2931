"""The lines of the highlighted order: line, quantity, status, sku, and whether it can be
cancelled — in the vocabulary's words (:class:`tui.core.vocabulary.LineState`).

The columns are fitted to the pane: the last one, the verdict with its reason, takes what
the others leave; a reason cut there is written out in full under the table. A provider
whose look-up names lines in its own way says so there too (Pattern's sub-orders).

A :class:`~tui.widgets.rowtable.RowTable`: thousands of lines cost what a few do, as only
the lines in view are drawn. Cells are plain cleaned strings, never read as markup, so
provider text shows literally.
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
VERDICT = 3
SKU = 4
CAPS = [36, 6, 20, 72, 40]
"""The widest each column gets."""
LEAST = [8, 3, 8, 15, 8]
"""The narrowest each column gets when the pane is narrow."""
NOTES_SHOWN = 3


def verdict(line: Any) -> str:
    """``cancellable``, ``cancelled`` or ``not cancellable: why``."""
    from tui.core.text import clean
    from tui.core.vocabulary import LineState

    state = line.state
    if state is LineState.NOT_CANCELLABLE:
        why = clean(line.not_cancellable_reason or line.status or "", max_chars=120)
        return f"{state.value}: {why}" if why else state.value
    return state.value


def line_rows(order: Order) -> list[list[str]]:
    from tui.core.text import clean

    return [
        [
            clean(line.id, max_chars=64),
            "" if line.quantity is None else str(line.quantity),
            clean(line.status, max_chars=40),
            verdict(line),
            clean(line.sku or line.description or "", max_chars=64),
        ]
        for line in order.lines
    ]


def fit(natural: list[int], available: int) -> list[int]:
    """Column widths for ``available`` cells (one cell of padding each side of a column):
    each column as wide as its widest cell, up to its cap; when that is too wide, the sku
    gives way first, then the verdict, then the line and status, each down to its least.
    A cut verdict is written out whole under the table."""
    widths = [min(n, cap) for n, cap in zip(natural, CAPS, strict=True)]
    excess = sum(widths) + 2 * len(COLUMNS) - available
    for index in (SKU, VERDICT, 0, 2):
        if excess <= 0:
            break
        give = min(excess, widths[index] - min(LEAST[index], natural[index]))
        if give > 0:
            widths[index] -= give
            excess -= give
    return widths


def tone_of(value: str) -> str | None:
    from tui.core.vocabulary import LineState

    for state in LineState:
        if value == state.value or value.startswith(f"{state.value}:"):
            return state.tone
    return None


class LinesPane(Vertical):
    DEFAULT_CSS = """
    LinesPane { height: 1fr; min-height: 5; border: round $panel; border-title-color: $text-muted;
        border-subtitle-align: left; border-subtitle-color: $text; }
    LinesPane:focus-within { border: round $primary; }
    LinesPane > #lines-note { height: auto; max-height: 4; padding: 0 1; }
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
        self._rows: list[list[str]] = []
        self._natural: list[int] = []
        self._widths: list[int] = []

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
        self._drop_table()
        if order is None:
            self.border_title = "Lines"
            self.border_subtitle = None
            self._note.update(Text("Look an order up to see its lines.", style="dim"))
            return
        self.border_title = Text.assemble("Lines of ", t(order.order_id, max_chars=40))
        summary = self._summary(order)
        self.border_subtitle = summary if order.lines else None
        if not order.lines:
            self._note.update(summary)
            return
        self._rows = line_rows(order)
        from rich.cells import cell_len

        self._natural = [
            max([len(COLUMNS[i]), *(cell_len(row[i]) for row in self._rows)])
            for i in range(len(COLUMNS))
        ]
        self._build()

    def _available(self) -> int:
        width = self.content_region.width or self.size.width - 2
        return max(40, width - 1)  # the vertical scrollbar

    def _build(self) -> None:
        """The table at the widths the pane allows (at a new width, the same table with
        new widths: the cursor stays where it was)."""
        from tui.widgets.rowtable import ListRows, RowTable

        widths = fit(self._natural, self._available())
        self._widths = widths
        if self._table is not None:
            self._table.set_widths(widths)
        else:
            self._table = RowTable(
                COLUMNS,
                ListRows(self._rows),
                widths=widths,
                tone_columns={VERDICT: tone_of},
                classes="lines-table",
            )
            self.mount(self._table, before=self._note)
        self._note.update(self._notes(widths[VERDICT]))

    def _drop_table(self) -> None:
        if self._table is not None:
            self._table.remove()
            self._table = None

    def on_resize(self) -> None:
        if self._table is not None and fit(self._natural, self._available()) != self._widths:
            self._build()

    def _notes(self, verdict_width: int) -> Text:
        """Reasons the verdict column cuts, whole; then how the provider names its lines."""
        assert self.order is not None
        from rich.cells import cell_len

        from tui.core.providers import registry

        cut: dict[str, list[str]] = {}
        for row, line in zip(self._rows, self.order.lines, strict=True):
            if cell_len(row[VERDICT]) > verdict_width:
                why = line.not_cancellable_reason or line.status or ""
                cut.setdefault(why, []).append(row[0])
        notes: list[Text] = []
        for words, ids in list(cut.items())[:NOTES_SHOWN]:
            which = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1:,} more"
            notes.append(Text.assemble((which, "bold"), " — ", t(words, max_chars=200)))
        if len(cut) > NOTES_SHOWN:
            notes.append(Text(f"… {len(cut) - NOTES_SHOWN:,} more reasons", style="dim"))
        try:
            provider_note = registry.get(self.order.provider).lines_note
        except KeyError:
            provider_note = ""
        if provider_note:
            notes.append(Text(provider_note, style="dim"))
        return Text("\n").join(notes)

    def _summary(self, order: Order) -> Text:
        from tui.core.vocabulary import plural

        parts: list[Text] = [t(order.status or "status unknown", "bold", max_chars=80)]
        if order.cancelled:
            parts.append(Text("cancelled"))
        elif order.cancel_pending:
            parts.append(Text("cancellation in progress"))
        if not order.lines:
            parts.append(Text("whole order"))
        if order.can_cancel:
            if order.lines:
                parts.append(
                    Text(
                        f"{order.cancellable_count:,} of {plural(len(order.lines), 'line')} "
                        "cancellable"
                    )
                )
            else:
                parts.append(Text("cancellable"))
        elif not order.cancelled:
            parts.append(Text.assemble("not cancellable: ", t(order.why_not_cancellable)))
        return Text(" · ").join(parts)
