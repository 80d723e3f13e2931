"""Big tables (history, batch preview and results) on ``textual-fastdatatable`` (Arrow).

Import this module only where such a table is shown: it pulls pyarrow in. Cells are plain
strings already passed through ``clean`` and rendered without markup; a column may take a
style from its value (an outcome word in its colour) through ``tones``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
from rich.text import Text
from textual.coordinate import Coordinate
from textual_fastdatatable import ArrowBackend, DataTable

from tui.themes import tones

ToneOf = Callable[[str], str | None]
"""Cell value → a meaning of :func:`tui.themes.tones` (``good``, ``bad``…) or None."""


def preload() -> None:
    """Import what the table imports on its first measurement (``pyarrow.compute``, ~0.1 s);
    call it from a thread before a table is first shown."""
    import pyarrow.compute  # noqa: F401


def string_backend(columns: Sequence[str], rows: Sequence[Sequence[str]] = ()) -> ArrowBackend:
    """An Arrow backend whose every column is text, even with no rows yet (appending to a
    column inferred from no values would fail)."""
    data = pa.table(
        {
            name: pa.array([row[index] for row in rows], type=pa.string())
            for index, name in enumerate(columns)
        }
    )
    return ArrowBackend(data)


class ToneTable(DataTable):  # type: ignore[misc]
    """A row-cursor fast table; the cells of ``tone_columns`` are coloured by their value.

    It looks like every other table in the console (Textual's own): the header on the panel
    colour, the cursor row in the block-cursor colours while focused and faint otherwise —
    two different theme colours, so in 16 colours the header and the selected row still
    differ — and in reverse when there is no colour at all (``NO_COLOR``).
    """

    DEFAULT_CSS = """
    ToneTable { height: 1fr; scrollbar-size-horizontal: 1; background: $surface; }
    ToneTable > .datatable--header {
        text-style: bold; background: $panel; color: $foreground;
    }
    ToneTable:ansi > .datatable--header { background: ansi_default; text-style: bold underline; }
    ToneTable > .datatable--even-row { background: $surface; }
    ToneTable > .datatable--cursor {
        background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    ToneTable:focus > .datatable--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    ToneTable:nocolor > .datatable--header { text-style: bold underline; }
    ToneTable:nocolor:focus > .datatable--cursor { text-style: reverse bold; }
    ToneTable > .datatable--hover { background: $surface; }
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str]] = (),
        *,
        tone_columns: Mapping[int, ToneOf] | None = None,
        column_widths: Sequence[int | None] | None = None,
        max_column_content_width: int | None = 40,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            backend=string_backend(columns, rows),
            column_widths=list(column_widths) if column_widths is not None else None,
            cursor_type="row",
            show_row_labels=False,
            render_markup=False,
            max_column_content_width=max_column_content_width,
            null_rep="",
            id=id,
            classes=classes,
        )
        self.tone_columns: dict[int, ToneOf] = dict(tone_columns or {})

    def _get_cell_renderable(
        self, row_index: int, column_index: int, max_width: int | None = None
    ) -> Any:
        renderable = super()._get_cell_renderable(row_index, column_index, max_width)
        tone_of = self.tone_columns.get(column_index)
        if row_index < 0 or tone_of is None:
            return renderable
        value = self.get_cell_at(Coordinate(row_index, column_index))
        tone = tone_of(value) if isinstance(value, str) else None
        if tone is None:
            return renderable
        palette = tones(self.app.current_theme if self.is_attached else None)
        return Text(value, style=palette.get(tone, tone))

    def append(self, rows: Sequence[Sequence[str]]) -> None:
        """Add rows at the bottom (one Arrow batch for all of them).

        Unlike ``add_rows`` this keeps the render caches: rows already drawn are unchanged,
        so a table fed ten times a second redraws only the rows that came into view, not
        every visible cell each time (``add_rows`` bumps the cache generation).
        """
        if not rows:
            return
        if self.backend is None or not self.row_count:
            self.add_rows(rows)
            return
        self.backend.append_rows(rows)
        self._require_update_dimensions = True
        self.check_idle()

    @property
    def cursor_index(self) -> int | None:
        """The highlighted row, or None when the table is empty."""
        return self.cursor_row if self.row_count else None
