"""A table for many rows on Textual's line API: a line is drawn only when it is on screen,
from a row source that makes each row's cells only when asked.

Opening a table of 100,000 rows costs what opening one of 50 does: nothing is measured,
copied or styled for rows not in view (the stock ``DataTable`` measures every cell, and an
Arrow-backed table copies every row into columns first; see bench/tables.py). Cells are
plain text, cut to their column and never read as markup; a column may take its colour
from its value (an outcome word), through :func:`tui.themes.tones`.

It looks as the console's long tables looked on ``textual-fastdatatable``: a cell of padding
each side of every column, the rows on the surface colour (on a dark theme, on the pane's
own background), the header on the panel colour, the cursor row in the
block-cursor colours while focused and faint otherwise — two different theme colours, so in
16 colours the header and the selected row still differ — and in reverse when there is no
colour at all (``NO_COLOR``).

Keys: up/down (k/j on the screens), page up/down, home/end; enter selects the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.themes import tones

ToneOf = Callable[[str], str | None]
"""Cell value → a meaning of :func:`tui.themes.tones` (``good``, ``bad``…) or None."""

PAD = 1
"""Spaces each side of a column's cells (as ``DataTable``'s ``cell_padding``)."""
MEASURED_ROWS = 200
"""Rows measured for column widths when none are given (the first ones)."""


class RowSource(Protocol):
    """What a :class:`RowTable` shows: how many rows, and one row's cells when drawn."""

    def __len__(self) -> int: ...

    def cells(self, index: int) -> Sequence[str]: ...


class ListRows:
    """Rows already made as lists of cells."""

    def __init__(self, rows: Sequence[Sequence[str]] = ()) -> None:
        self.rows: list[Sequence[str]] = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def cells(self, index: int) -> Sequence[str]:
        return self.rows[index]

    def append(self, rows: Sequence[Sequence[str]]) -> None:
        self.rows.extend(rows)


def cut(text: str, width: int) -> str:
    """``text`` as a column ``width`` cells wide shows it: whole, or cut with an ellipsis."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…" if width else ""


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to ``width`` cells."""
    shown = cut(text, width)
    return shown + " " * (width - cell_len(shown))


class RowTable(ScrollView, can_focus=True):
    """A row-cursor table over a :class:`RowSource`; one header line stays on top."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "rowtable--header",
        "rowtable--cursor",
    }

    DEFAULT_CSS = """
    RowTable {
        height: 1fr; scrollbar-size-horizontal: 1; background: $surface; color: $text;
    }
    RowTable:dark { background: initial; }
    RowTable:focus { background-tint: $foreground 5%; }
    RowTable > .rowtable--header { text-style: bold; background: $panel; color: $foreground; }
    RowTable:focus > .rowtable--header { background-tint: $foreground 5%; }
    RowTable:ansi > .rowtable--header { background: ansi_default; text-style: bold underline; }
    RowTable > .rowtable--cursor {
        background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    RowTable:focus > .rowtable--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    RowTable:nocolor > .rowtable--header { text-style: bold underline; }
    RowTable:nocolor:focus > .rowtable--cursor { text-style: reverse bold; }
    """

    cursor_row: reactive[int] = reactive(0)

    class _RowMessage(Message):
        def __init__(self, table: RowTable, row: int) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = row

        @property
        def control(self) -> RowTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor moved to ``cursor_row``."""

    class RowSelected(_RowMessage):
        """``enter`` (or a double click) on ``cursor_row``."""

    def __init__(
        self,
        columns: Sequence[str],
        source: RowSource | None = None,
        *,
        widths: Sequence[int] | None = None,
        max_width: int = 40,
        tone_columns: Mapping[int, ToneOf] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self.source: RowSource = source if source is not None else ListRows()
        self.max_width = max_width
        self.widths = list(widths) if widths is not None else self._measure()
        self.tone_columns: dict[int, ToneOf] = dict(tone_columns or {})
        self._lines: dict[tuple[int, bool, bool], Strip] = {}
        self._sync_size()

    # -- rows ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.source)

    @property
    def cursor_index(self) -> int | None:
        """The highlighted row, or None when the table is empty."""
        return self.cursor_row if self.row_count else None

    def rows_changed(self, *, redraw: bool = False) -> None:
        """The source grew (or, with ``redraw``, changed): size and lines follow, and a
        cursor past the last row comes back to it."""
        if redraw:
            self._lines.clear()
        self._sync_size()
        if self.cursor_row >= len(self.source):
            self.cursor_row = max(0, len(self.source) - 1)
        self.refresh()

    def get_row_at(self, index: int) -> list[str]:
        """Row ``index``'s cells, whole (before cutting to the column)."""
        return list(self.source.cells(index))

    def shown_row(self, index: int) -> list[str]:
        """Row ``index``'s cells as drawn: each cut to its column's width."""
        cells = self.source.cells(index)
        return [
            cut(cells[column] if column < len(cells) else "", width)
            for column, width in enumerate(self.widths)
        ]

    def append(self, rows: Sequence[Sequence[str]]) -> None:
        """Add rows at the bottom of a :class:`ListRows` source; rows already drawn are kept
        as drawn (a table fed ten times a second redraws only what came into view)."""
        if not rows:
            return
        assert isinstance(self.source, ListRows), "append needs a ListRows source"
        self.source.append(rows)
        self.rows_changed()

    def set_source(self, source: RowSource) -> None:
        self.source = source
        self.cursor_row = 0
        self.scroll_to(0, 0, animate=False)
        self.rows_changed(redraw=True)

    def _measure(self) -> list[int]:
        widths = [len(name) for name in self.columns]
        for index in range(min(len(self.source), MEASURED_ROWS)):
            for column, cell in enumerate(self.source.cells(index)):
                widths[column] = max(widths[column], min(cell_len(cell), self.max_width))
        return widths

    def set_widths(self, widths: Sequence[int]) -> None:
        """Columns this wide from now on (the screen was resized, or a filter changed what
        is shown)."""
        if list(widths) != self.widths:
            self.widths = list(widths)
            self.rows_changed(redraw=True)

    def _sync_size(self) -> None:
        width = sum(self.widths) + 2 * PAD * len(self.widths)
        self.virtual_size = Size(width, len(self.source) + 1)

    # -- drawing ---------------------------------------------------------------------------

    def _line_segments(
        self, cells: Sequence[str], cell_style: Style, toned: bool, over: Style | None = None
    ) -> list[Segment]:
        """The columns' cells, each with its padding, in ``cell_style`` (the header's, the
        cursor's, or the rows' own); a toned column's cell in its value's tone, under
        ``over`` (the cursor's colours win over a tone's, its dim or bold stays)."""
        segments: list[Segment] = []
        palette = tones(self.app.current_theme if self.is_attached else None) if toned else {}
        pad = " " * PAD
        for column, width in enumerate(self.widths):
            text = cells[column] if column < len(cells) else ""
            style = cell_style
            tone_of = self.tone_columns.get(column) if toned else None
            if tone_of is not None:
                tone = tone_of(text)
                if tone is not None:
                    style = cell_style + Style.parse(palette.get(tone, tone))
                    if over is not None:
                        style += over
            segments += [
                Segment(pad, cell_style),
                Segment(fit(text, width), style),
                Segment(pad, cell_style),
            ]
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("rowtable--header")
            line = Strip(self._line_segments(self.columns, header, toned=False))
            return line.crop_extend(scroll_x, scroll_x + width, self._header_beyond(header))
        row = scroll_y + y - 1
        if row >= len(self.source):
            return Strip.blank(width, base)
        here = row == self.cursor_row
        key = (row, here, self.has_focus)
        line = self._lines.get(key)
        if line is None:
            # The cursor covers the columns; what is left of the width keeps the rows' colour.
            cursor = self.get_component_rich_style("rowtable--cursor") if here else None
            cells = base + cursor if cursor is not None else base
            line = Strip(self._line_segments(self.source.cells(row), cells, True, cursor))
            if len(self._lines) > 4_000:  # what is in view is all that matters
                self._lines.clear()
            self._lines[key] = line
        return line.crop_extend(scroll_x, scroll_x + width, base)

    def _header_beyond(self, header: Style) -> Style:
        """The header's colour, faded a quarter towards the background, for the width past
        the last column (as a DataTable draws it)."""
        if header.bgcolor is None:
            return header
        faded = Color.from_rich_color(header.bgcolor).blend(self.background_colors[1], 0.25)
        return header + Style(bgcolor=faded.rich_color)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- the cursor ------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.source) - 1)) if len(self.source) else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        if len(self.source):
            self.post_message(self.RowHighlighted(self, new))

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = row

    def _rows_in_view(self) -> int:
        """Rows the view shows: its height less the header and any horizontal scrollbar."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        visible = self._rows_in_view()
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= max(1, self._rows_in_view() - 1)

    def action_page_down(self) -> None:
        self.cursor_row += max(1, self._rows_in_view() - 1)

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self.source) - 1

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.source):
            self.cursor_row = row
            if event.chain > 1:
                self.action_select_cursor()

    def action_select_cursor(self) -> None:
        if len(self.source):
            self.post_message(self.RowSelected(self, self.cursor_row))
