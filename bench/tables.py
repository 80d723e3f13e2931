"""Big tables in the console: ``textual-fastdatatable`` (Arrow) against Textual's own
``DataTable`` (all rows, and paged) and Stopline's line-API :class:`RowTable`, at 1k, 10k
and 100k rows of history-like cells, in one run.

    .venv/bin/python bench/tables.py [--rows 1000,10000,100000] [--runs 3]

For each table and size, in a headless 100x30 app: the CPU time from mounting the table to
the app being idle with its first frame drawn (``open``; building the rows included: Arrow
columns, DataTable rows, or nothing for the line table, whose rows are made when drawn),
then of ``end`` (to the last row) and ``pagedown``. Also the import time of each table's
modules in a fresh interpreter (pyarrow comes with fastdatatable). Prints medians, and each
table's ``open`` as a ratio to the line table's at the same size.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult
from textual.widgets import Static

COLUMNS = ["time", "operator", "provider", "order", "outcome", "conf.", "HTTP", "reason"]
PAGE = 500


def cells(n: int) -> list[str]:
    return [
        f"11-{1 + n % 28:02d} 09:{n % 60:02d}:{n % 59:02d}",
        f"ops-{n % 7}",
        ("pattern", "ordermesh", "shoplazza", "rxuniverse")[n % 4],
        f"114-{n:07d}-8772232",
        ("COMPLETE", "REFUSED", "UNKNOWN", "ERROR")[n % 4],
        "yes" if n % 2 else "",
        "200",
        f"stock-out of frame F-{n % 1000}",
    ]


def fastdatatable(rows: int) -> Any:
    """As Stopline used it before RowTable: every column text, in one Arrow table."""
    import pyarrow as pa
    from textual_fastdatatable import ArrowBackend, DataTable

    data = [cells(n) for n in range(rows)]
    backend = ArrowBackend(
        pa.table({name: pa.array([r[i] for r in data], type=pa.string())
                  for i, name in enumerate(COLUMNS)})
    )  # fmt: skip
    return DataTable(backend=backend, cursor_type="row", show_row_labels=False,
                     render_markup=False, max_column_content_width=40)  # fmt: skip


def datatable(rows: int) -> Any:
    from textual.widgets import DataTable

    table: Any = DataTable(cursor_type="row")
    table.add_columns(*COLUMNS)
    table.add_rows(cells(n) for n in range(rows))
    return table


def datatable_paged(rows: int) -> Any:
    from textual.widgets import DataTable

    table: Any = DataTable(cursor_type="row")
    table.add_columns(*COLUMNS)
    table.add_rows(cells(n) for n in range(min(rows, PAGE)))  # the next page on demand
    return table


class Lazy:
    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return self.rows

    def cells(self, index: int) -> list[str]:
        return cells(index)


def rowtable(rows: int) -> Any:
    from tui.widgets.rowtable import RowTable

    return RowTable(COLUMNS, Lazy(rows), widths=[14, 6, 10, 20, 8, 5, 4, 30])


TABLES: dict[str, tuple[Callable[[int], Any], str]] = {
    "RowTable (line API)": (rowtable, "tui.widgets.rowtable"),
    "fastdatatable": (fastdatatable, "textual_fastdatatable"),
    f"DataTable, paged ({PAGE})": (datatable_paged, "textual.widgets._data_table"),
    "DataTable, all rows": (datatable, "textual.widgets._data_table"),
}


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("table bench")


async def one(make: Callable[[int], Any], rows: int) -> dict[str, float]:
    app = Host()
    times: dict[str, float] = {}
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        began = time.process_time()
        table = make(rows)
        await app.mount(table)
        table.focus()
        await pilot.pause()
        times["open"] = (time.process_time() - began) * 1000
        for key in ("end", "pagedown"):
            began = time.process_time()
            await pilot.press(key)
            await pilot.pause()
            times[key] = (time.process_time() - began) * 1000
    return times


def import_ms(module: str) -> float:
    code = (
        "import textual.app, time; t = time.process_time(); "
        f"import {module}; print(time.process_time() - t)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(5)
    ]  # fmt: skip
    return statistics.median(runs) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-full-datatable-above", type=int, default=10_000,
                        help="the stock DataTable with every row is skipped above this size "
                        "(it blocks the loop ~0.1 ms a row; default 10000)")  # fmt: skip
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    if importlib.util.find_spec("textual_fastdatatable") is None:
        print("textual-fastdatatable is not installed (Stopline no longer needs it); to")
        print("compare: .venv/bin/pip install 'textual-fastdatatable>=0.19,<0.20'")
        del TABLES["fastdatatable"]
    asyncio.run(one(rowtable, 10))  # warm-up: CSS, imports
    if "fastdatatable" in TABLES:
        asyncio.run(one(fastdatatable, 10))
    results: dict[tuple[str, int], dict[str, float]] = {}
    for rows in sizes:
        for name, (make, _) in TABLES.items():
            if name == "DataTable, all rows" and rows > args.skip_full_datatable_above:
                continue
            runs = [asyncio.run(one(make, rows)) for _ in range(args.runs)]
            results[(name, rows)] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"tables, headless 100x30, CPU ms, median of {args.runs} runs:")
    print(f"  {'table':<24} {'rows':>8} {'open':>9} {'end':>8} {'pagedown':>9} {'open ratio':>11}")
    for rows in sizes:
        base = results[("RowTable (line API)", rows)]["open"]
        for name in TABLES:
            got = results.get((name, rows))
            if got is None:
                print(f"  {name:<24} {rows:>8,}   (skipped)")
                continue
            print(
                f"  {name:<24} {rows:>8,} {got['open']:9.1f} {got['end']:8.1f} "
                f"{got['pagedown']:9.1f} {got['open'] / base:10.2f}x"
            )
    print("import, CPU ms after textual.app (median of 5 fresh interpreters):")
    for name, (_, module) in TABLES.items():
        if name.startswith("DataTable, all"):
            continue
        print(f"  {name:<24} {import_ms(module):7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
