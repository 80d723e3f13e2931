"""The batch screen against the sandbox: paste, preview with bad line numbers, confirm, run
with counts per outcome, resume from the journal, stop, CSV export, read-only."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, Select

from tui.app import StoplineApp
from tui.core.domain import Outcome
from tui.core.journal import Journal
from tui.palette import stopline_commands
from tui.sandbox import control, showcase
from tui.screens.batch import BatchScreen, ExportScreen
from tui.screens.confirm import ConfirmScreen

from .conftest import AppFactory
from .helpers import look_up, lookup_screen, plain, settle

SIZE = (80, 24)
OPEN = showcase.SHOPLAZZA_OPEN_ID
FINISHED = showcase.SHOPLAZZA_FINISHED_ID


def journal_of(app: StoplineApp) -> Journal:
    service = app._given_service
    assert service is not None and isinstance(service.journal, Journal)
    return service.journal


def footer_keys(app: StoplineApp) -> set[str]:
    return {a.binding.id or "" for a in app.screen.active_bindings.values() if a.binding.show}


async def open_batch(pilot: Any) -> BatchScreen:
    lookup_screen(pilot.app).results.focus()
    await pilot.press("b")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, BatchScreen)
    assert screen.focused is screen.source
    return screen


async def paste(pilot: Any, screen: BatchScreen, text: str) -> None:
    """As a terminal pastes: to the app, which hands it to the focused widget."""
    screen.source.focus()
    await pilot.pause()
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def fill(
    pilot: Any, screen: BatchScreen, text: str, *, provider: str = "shoplazza", at_once: int = 8
) -> None:
    """Paste ``text``, choose the provider, take the first preset reason."""
    await paste(pilot, screen, text)
    screen.query_one("#provider", Select).value = provider
    screen.query_one("#concurrency", Input).value = str(at_once)
    screen.reason_field.input.focus()
    await pilot.press("down")
    assert screen.reason_field.value == "Customer request"


async def preview(pilot: Any, screen: BatchScreen) -> str:
    await pilot.press("ctrl+r")
    await settle(pilot)
    assert screen.phase == "preview"
    return plain(screen.query_one("#preview-summary").render())


async def run(pilot: Any, screen: BatchScreen) -> ConfirmScreen:
    await pilot.press("r")
    await pilot.pause()
    confirm = pilot.app.screen
    assert isinstance(confirm, ConfirmScreen)
    await pilot.press("y")
    await settle(pilot)
    assert screen.batch_run is not None and not screen.batch_run.running
    return confirm


async def test_paste_preview_run_then_rerun_skips_settled(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    journal = journal_of(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_batch(pilot)
        await fill(pilot, screen, f"{OPEN}\nbad,row\n# a comment\n{FINISHED}\n")
        assert screen.source.text.startswith(OPEN)
        summary = await preview(pilot, screen)
        assert "2 orders: Shoplazza (2)" in summary
        assert "1 bad row" in summary and "line 2:" in summary
        assert "no earlier attempt" in summary
        table = screen._preview_table
        assert table is not None
        cells = [list(table.get_row_at(i)) for i in range(table.row_count)]
        assert [row[0] for row in cells] == ["1", "2", "4"]
        assert cells[1][3].startswith("BAD: a comma") and cells[0][3] == "send"

        confirm = await run(pilot, screen)
        question = plain(confirm.question) + plain(confirm.detail or "")
        assert "Cancel 2 order(s) at Shoplazza (2)?" in question
        assert "Customer request" in question and "1 bad row(s) are not sent" in question
        batch = screen.batch_run
        assert batch is not None and not batch.stopped
        assert batch.summary.by_outcome() == {"complete": 1, "refused": 1}
        counts = plain(screen.query_one("#counts").render())
        assert "complete 1" in counts and "refused 1" in counts and "2/2 done" in counts
        assert screen._results is not None and screen._results.row_count == 2
        recorded = {(a.order_id, a.outcome) for a in journal.attempts()}
        assert recorded == {(OPEN, Outcome.COMPLETE), (FINISHED, Outcome.REFUSED)}

        # Run it again: the journal shows both settled, so nothing is sent.
        await pilot.press("escape")
        await pilot.pause()
        assert screen.phase == "form" and screen.focused is screen.source
        summary = await preview(pilot, screen)
        assert "2 settled earlier: skipped" in summary
        await run(pilot, screen)
        again = screen.batch_run
        assert again is not None and again is not batch
        assert again.summary.skipped == 2
        assert again.summary.by_outcome() == {"complete": 1, "refused": 1}
        assert len(journal.attempts()) == 2


async def test_form_problems_are_named_before_anything_runs(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_batch(pilot)

        def problem() -> str:
            return plain(screen.query_one("#form-problem").render())

        await pilot.press("ctrl+r")
        assert "Paste identifiers" in problem()
        await paste(pilot, screen, OPEN)
        await pilot.press("ctrl+r")
        assert "Choose a provider" in problem()
        screen.query_one("#provider", Select).value = "shoplazza"
        await pilot.press("ctrl+r")
        assert "Give a reason" in problem()
        assert screen.phase == "form"
        # A CSV naming provider and reason per row needs neither.
        screen.source.load_text(f"provider,order_id,reason\nshoplazza,{OPEN},stock-out\n")
        screen.query_one("#provider", Select).clear()
        summary = await preview(pilot, screen)
        assert "1 order: Shoplazza (1)" in summary and "stock-out" in summary


async def test_a_file_is_read_in_the_background_and_a_long_one_used_as_is(
    make_journal_app: AppFactory, tmp_path: Path, monkeypatch: Any
) -> None:
    from tui.screens import batch as batch_module

    short = tmp_path / "short.csv"
    short.write_text(f"provider,order_id,reason\nshoplazza,{OPEN},stock-out\n")
    long = tmp_path / "long.txt"
    long.write_text(f"# wave 7\n{OPEN}\n{FINISHED}\n")
    monkeypatch.setattr(batch_module, "EDITABLE_LINES", 2)
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_batch(pilot)
        path = screen.query_one("#path", Input)
        path.focus()
        path.value = str(tmp_path / "missing.txt")
        await pilot.press("enter")
        await settle(pilot)
        assert "cannot read" in plain(screen.query_one("#form-problem").render())
        path.value = str(short)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.source.text.startswith("provider,order_id,reason")
        assert screen.file_source is None
        path.focus()
        path.value = str(long)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.file_source is not None
        assert "3 lines, used as they are" in screen.source.text
        screen.query_one("#provider", Select).value = "shoplazza"
        screen.reason_field.input.value = "wave 7"
        summary = await preview(pilot, screen)
        assert "2 orders: Shoplazza (2)" in summary and "wave 7" in summary
        # Typing in the text area drops the file: the text area is the source again.
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert screen.file_source is None


async def test_stop_ends_the_run_and_in_flight_ones_stay_unknown(
    make_journal_app: AppFactory, root_url: str
) -> None:
    app = make_journal_app()
    journal = journal_of(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_batch(pilot)
        control.add_fault(
            root_url, provider="shoplazza", mode="latency", latency_ms=3000, operations=["cancel"]
        )
        await fill(pilot, screen, f"{OPEN}\n{FINISHED}\n", at_once=1)
        await preview(pilot, screen)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause(0.4)
        batch = screen.batch_run
        assert batch is not None and batch.running
        assert "stopline.batch.stop" in footer_keys(app)
        await pilot.press("s")
        await settle(pilot)
        assert not batch.running and batch.stopped
        assert batch.summary.done == 0
        assert "stopped" in plain(screen.query_one("#run-title").render())
        (in_flight,) = journal.attempts()
        assert in_flight.order_id == OPEN and in_flight.outcome is Outcome.UNKNOWN
        assert in_flight.state == "sent"


async def test_export_writes_csv_with_formulas_neutralised(
    make_journal_app: AppFactory, tmp_path: Path
) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_batch(pilot)
        await fill(pilot, screen, f"=1+2\n{OPEN}\n@SUM(A1)\nbad,row\n")
        await preview(pilot, screen)
        await run(pilot, screen)
        assert "stopline.batch.export" in footer_keys(app)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        service = app.service
        assert service is not None
        default = Path(dialog.query_one("#export-path", Input).value)
        assert default.parent == service.settings.resolved_data_dir() / "exports"
        target = tmp_path / "results.csv"
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        with target.open(newline="") as handle:
            table = list(csv.reader(handle))
        header, body = table[0], table[1:]
        assert header[:4] == ["line_no", "provider", "order_id", "outcome"]
        by_line = {row[0]: dict(zip(header, row, strict=True)) for row in body}
        assert set(by_line) == {"1", "2", "3", "4"}
        assert by_line["1"]["order_id"] == "'=1+2"
        assert by_line["3"]["order_id"] == "'@SUM(A1)"
        assert by_line["2"]["order_id"] == OPEN and by_line["2"]["outcome"] == "complete"
        assert by_line["4"]["outcome"] == "bad_row"
        for row in body:
            for cell in row:
                assert not cell.lstrip().startswith(("=", "+", "-", "@")), cell
        # Never over an existing file.
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert target.read_text().count("\n") == 5


async def test_read_only_hides_batch(make_journal_app: AppFactory) -> None:
    app = make_journal_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        lookup = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        lookup.results.focus()
        await pilot.pause()
        keys = footer_keys(app)
        assert "stopline.batch" not in keys and "stopline.history" in keys
        assert lookup.check_action("batch", ()) is False
        await pilot.press("b")
        await pilot.pause()
        assert app.screen is lookup
        names = {name for name, _help, _call in stopline_commands(app)}
        assert "History" in names and "Batch cancel" not in names
        app.open_batch()
        await pilot.pause()
        assert app.screen is lookup


async def test_palette_reaches_history_and_batch(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        names = {name for name, _help, _call in stopline_commands(app)}
        assert {"History", "Batch cancel"} <= names
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"batch can")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, BatchScreen)
        assert "Preview batch" in {name for name, _h, _c in stopline_commands(app)}
