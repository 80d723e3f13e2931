"""The batch screen against the sandbox: paste, preview with bad line numbers, confirm, run
with counts per outcome, resume from the journal, stop, a re-run that reconciles what a
stopped run left unknown, CSV export, read-only."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, Select

from tui.app import StoplineApp
from tui.core.domain import CancelRequest, Outcome
from tui.core.journal import AttemptState, SqliteStore
from tui.core.lifecycle import Why
from tui.core.service import StoplineService
from tui.palette import stopline_commands
from tui.sandbox import SandboxServer, control, showcase
from tui.sandbox.providers.shoplazza import CANCELLABLE_FULFILMENT
from tui.screens.batch import BatchScreen, ExportScreen
from tui.screens.confirm import ConfirmScreen

from .conftest import AppFactory
from .helpers import cancel_calls, claim, holder_of, look_up, lookup_screen, plain, settle

SIZE = (80, 24)
OPEN = showcase.SHOPLAZZA_OPEN_ID
FINISHED = showcase.SHOPLAZZA_FINISHED_ID


def service_of(app: StoplineApp) -> StoplineService:
    service = app.service
    assert service is not None
    return service


def open_shoplazza_orders(sandbox: SandboxServer, count: int) -> list[str]:
    """Shoplazza order ids whose cancel applies (placed, unfulfilled), in a stable order."""
    found = [
        order.id
        for order in sorted(sandbox.sandbox.data.shoplazza.values(), key=lambda o: o.id)
        if order.status == "placed" and order.fulfillment_status in CANCELLABLE_FULFILMENT
    ]
    assert len(found) >= count
    return found[:count]


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


async def test_paste_preview_run_then_rerun_skips_settled(
    make_journal_app: AppFactory, root_url: str
) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        journal = service_of(app)
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
        assert "Cancel 2 orders at Shoplazza (2)?" in question
        assert "Reason: Customer request" in question and "1 bad row, not sent." in question
        batch = screen.batch_run
        assert batch is not None and not batch.stopped
        assert batch.summary.by_outcome() == {"complete": 1, "refused": 1}
        counts = plain(screen.query_one("#counts").render())
        assert "complete 1" in counts and "refused 1" in counts and "2/2 done" in counts
        assert screen._results is not None and screen._results.row_count == 2
        recorded = {(a.order_id, a.outcome, a.open) for a in await journal.attempts()}
        assert recorded == {(OPEN, Outcome.COMPLETE, False), (FINISHED, Outcome.REFUSED, False)}
        assert cancel_calls(root_url) == 2

        # Run it again: the journal shows both settled, so nothing is sent. Back on the form
        # no field has focus, so the key pressed next is a key, not a row.
        await pilot.press("escape")
        await pilot.pause()
        assert screen.phase == "form" and screen.focused is None
        await pilot.press("b")
        await pilot.pause()
        assert "b" not in screen.source.text.split()
        summary = await preview(pilot, screen)
        assert "2 settled earlier: skipped" in summary
        await run(pilot, screen)
        again = screen.batch_run
        assert again is not None and again is not batch
        assert again.summary.skipped == 2
        assert {r.not_sent for r in again.summary.results} == {Why.SETTLED_EARLIER}
        assert again.summary.by_outcome() == {"complete": 1, "refused": 1}
        assert len(await journal.attempts()) == 2
        assert cancel_calls(root_url) == 2  # nothing was sent again


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
    from tui.screens.batch import form as batch_module

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
        # Back on the form no field has focus: a stray key is not typed into the rows.
        await pilot.press("escape")
        await pilot.pause()
        assert screen.phase == "form" and screen.focused is None
        await pilot.press("x")
        await pilot.pause()
        assert screen.file_source is not None
        # enter goes back into the rows; typing there drops the file: the text is the source.
        await pilot.press("enter")
        await pilot.pause()
        assert screen.focused is screen.source
        await pilot.press("x")
        await pilot.pause()
        assert screen.file_source is None


async def test_stop_ends_the_run_and_in_flight_ones_stay_unknown(
    make_journal_app: AppFactory, root_url: str
) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        journal = service_of(app)
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
        # It was written ahead and sent, and no answer came: finished unknown and open,
        # holding its order until reconciled — and not in flight, for this console or any
        # other process, since this run let go of it.
        (in_flight,) = await journal.attempts()
        assert in_flight.order_id == OPEN and in_flight.outcome is Outcome.UNKNOWN
        assert in_flight.state is AttemptState.FINISHED and in_flight.open
        assert in_flight.message == "stopped while the request was in flight"
        assert not journal.in_flight(in_flight)
        assert cancel_calls(root_url) == 1
        # esc goes back to the form, with no field focused: b (the key that opened this
        # screen) typed now is a key, never a row "b" in the next preview.
        await pilot.press("escape")
        await pilot.pause()
        assert screen.phase == "form" and screen.focused is None
        rows = screen.source.text
        await pilot.press("b")
        await pilot.pause()
        assert screen.source.text == rows
        assert "stopline.batch.edit" in footer_keys(app)


async def test_rerun_after_a_stop_reconciles_the_unknown_rows_instead_of_resending(
    make_journal_app: AppFactory, sandbox: SandboxServer, root_url: str
) -> None:
    orders = open_shoplazza_orders(sandbox, 3)
    # Long enough that every cancel is still waiting for its answer when the run is stopped.
    app = make_journal_app(shoplazza={"timeout_s": 30.0})
    async with app.run_test(size=SIZE) as pilot:
        journal = service_of(app)
        screen = await open_batch(pilot)
        # Each cancel takes effect at Shoplazza, and then no answer comes back.
        control.add_fault(
            root_url, provider="shoplazza", mode="timeout", when="after", operations=["cancel"]
        )
        await fill(pilot, screen, "\n".join(orders) + "\n", at_once=3)
        await preview(pilot, screen)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        shop = sandbox.sandbox.data.shoplazza
        while not all(shop[order].status == "cancelled" for order in orders):
            await pilot.pause(0.05)  # each has taken effect; no answer has come back
        assert cancel_calls(root_url) == 3
        first = screen.batch_run
        assert first is not None and first.running
        await pilot.press("s")
        await settle(pilot)
        assert first.stopped and first.summary.done == 0
        left = await journal.attempts()
        assert {a.order_id for a in left} == set(orders)
        assert all(a.state is AttemptState.FINISHED and a.open for a in left)
        assert all(a.outcome is Outcome.UNKNOWN for a in left)
        assert not any(journal.in_flight(a) for a in left)
        control.clear_faults(root_url)

        # Run it again: the preview says each is reconciled first, and the run ends.
        await pilot.press("escape")
        await pilot.pause()
        summary = await preview(pilot, screen)
        assert "3 unknown or open earlier: reconciled first" in summary
        table = screen._preview_table
        assert table is not None
        assert all(
            str(table.get_row_at(i)[3]).startswith("reconcile first")
            for i in range(table.row_count)
        )
        await run(pilot, screen)
        again = screen.batch_run
        assert again is not None and again is not first
        assert again.error is None and not again.stopped
        assert "finished" in plain(screen.query_one("#run-title").render())
        assert again.summary.done == 3 and again.summary.not_run == 0
        # Reconciled, not re-sent: the look-ups show each took effect; nothing went again.
        assert cancel_calls(root_url) == 3
        assert {r.not_sent for r in again.summary.results} == {Why.EARLIER_APPLIED}
        assert again.summary.by_outcome() == {"complete": 3}
        assert again.summary.skipped == 3
        settled = await journal.attempts()
        assert {a.id for a in settled} == {a.id for a in left}
        assert all(
            a.state is AttemptState.FINISHED
            and a.outcome is Outcome.COMPLETE
            and a.confirmed
            and not a.open
            for a in settled
        )
        counts = plain(screen.query_one("#counts").render())
        assert "complete 3" in counts and "3/3 done" in counts


async def test_an_order_cancelled_elsewhere_is_counted_not_sent(
    make_journal_app: AppFactory, root_url: str
) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        service = service_of(app)
        # Someone cancels the open order in Shoplazza itself: the journal knows nothing of it.
        elsewhere = await service.providers["shoplazza"].cancel(
            CancelRequest(provider="shoplazza", order_id=OPEN, reason="admin", operator="x")
        )
        assert elsewhere.outcome is Outcome.COMPLETE
        control.forget_calls(root_url)
        screen = await open_batch(pilot)
        await fill(pilot, screen, f"{OPEN}\n{FINISHED}\n")
        await preview(pilot, screen)
        await run(pilot, screen)
        batch = screen.batch_run
        assert batch is not None and batch.error is None
        assert batch.summary.by_outcome() == {"refused": 1, "already_cancelled": 1}
        (already,) = [r for r in batch.summary.results if r.row.request.order_id == OPEN]
        assert already.not_sent is Why.ALREADY_CANCELLED
        assert [c["path"].rsplit("/", 2)[-2] for c in control.calls(root_url, "cancel")] == [
            FINISHED
        ]
        # Every row finished is counted on screen: 2 done, and the two counts say which.
        counts = plain(screen.query_one("#counts").render())
        assert "2/2 done" in counts and "1 not sent" in counts
        assert "refused 1" in counts and "cancelled already 1" in counts
        table = screen._results
        assert table is not None and table.row_count == 2
        shown = {row[2]: row[3] for row in (table.get_row_at(i) for i in range(2))}
        assert shown == {OPEN: "CANCELLED", FINISHED: "REFUSED"}


async def test_a_row_another_live_process_holds_is_reported_held_and_not_sent(
    make_journal_app: AppFactory,
    journal_store: SqliteStore,
    live_process: subprocess.Popen[bytes],
    root_url: str,
) -> None:
    theirs = CancelRequest(provider="shoplazza", order_id=OPEN, reason="wave 3", operator="ops-bob")
    holder_id = claim(journal_store, theirs, holder_of(live_process.pid, "ops-bob"))
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_batch(pilot)
        await fill(pilot, screen, f"{OPEN}\n{FINISHED}\n")
        await preview(pilot, screen)
        await run(pilot, screen)
        batch = screen.batch_run
        assert batch is not None and batch.error is None and not batch.stopped
        assert batch.summary.by_outcome() == {"refused": 1, "held": 1}
        (held,) = [r for r in batch.summary.results if r.row.request.order_id == OPEN]
        assert held.not_sent is Why.HELD and held.attempt_id == holder_id
        assert "ops-bob" in held.note
        assert [c["path"].rsplit("/", 2)[-2] for c in control.calls(root_url, "cancel")] == [
            FINISHED
        ]
        counts = plain(screen.query_one("#counts").render())
        assert "held 1" in counts and "2/2 done" in counts
        table = screen._results
        assert table is not None
        shown = {row[2]: row[3] for row in (table.get_row_at(i) for i in range(2))}
        assert shown == {OPEN: "HELD", FINISHED: "REFUSED"}


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
