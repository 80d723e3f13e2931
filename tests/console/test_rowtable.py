"""The line-API table's cursor: always in view, and never past the last row."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult

from tui.widgets.rowtable import ListRows, RowTable, fit


class OneTable(App[None]):
    def __init__(self, table: RowTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


def rows_in_view(table: RowTable) -> range:
    top = int(table.scroll_y)
    return range(top, top + table.scrollable_content_region.height - 1)  # less the header


async def test_the_cursor_stays_in_view_above_a_horizontal_scrollbar() -> None:
    rows = ListRows([[f"r{n}", "x" * 150] for n in range(100)])
    table = RowTable(["a", "b"], rows, widths=[5, 150])
    async with OneTable(table).run_test(size=(60, 12)) as pilot:
        table.focus()
        assert table.scrollable_content_region.height < table.size.height  # the scrollbar
        for _ in range(15):
            await pilot.press("down")
        await pilot.pause()
        assert table.cursor_row == 15 and 15 in rows_in_view(table)
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_row in rows_in_view(table)


async def test_a_source_that_shrinks_brings_the_cursor_back_to_its_last_row() -> None:
    rows = ListRows([[str(n)] for n in range(30)])
    table = RowTable(["n"], rows)
    async with OneTable(table).run_test(size=(40, 12)) as pilot:
        table.focus()
        await pilot.press("end")
        assert table.cursor_index == 29
        del rows.rows[5:]
        table.rows_changed(redraw=True)
        await pilot.pause()
        assert table.cursor_index == 4


def test_a_cell_is_cut_to_its_column_by_terminal_cells() -> None:
    for text in ["中文字符串", "🙂🙂🙂", "a中b", "é" * 10]:
        for width in range(8):
            assert cell_len(fit(text, width)) == width, (text, width)
