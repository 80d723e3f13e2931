"""The console as a supervisor lives in it (issue 14): how to get help and out from the first
screen, escape that always leaves a field, ``/`` that never types itself, focus where the
next key acts, work in flight never dropped without asking, presets by digit and type-ahead,
``y`` from the reviewed dialog, every dialog's own keys, panes that keep five lines at 80x24,
one vocabulary, the palette, a remembered theme, 16 colours and NO_COLOR."""

from __future__ import annotations

from typing import Any

import pytest
from rich.color import Color, ColorSystem
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.filter import Monochrome, NoColor
from textual.widgets import Footer

from tui.app import StoplineApp
from tui.core.console_state import remembered_theme, state_path
from tui.core.domain import Outcome
from tui.sandbox import control, showcase
from tui.screens.cancel_dialog import CancelDialog
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.history_detail import AttemptDetailScreen
from tui.screens.lookup import LookupScreen
from tui.themes import load_themes
from tui.widgets.reason import PresetList, ReasonField
from tui.widgets.rowtable import ListRows, RowTable

from .conftest import AppFactory
from .helpers import (
    breakdown_text,
    cancel_calls,
    final_outcome,
    look_up,
    lookup_screen,
    plain,
    settle,
    strip_text,
)

SIZE = (80, 24)
WIDE = (120, 40)


def footer_keys(app: StoplineApp) -> list[str]:
    """What the footer shows, ``key description`` each, in order."""
    footer = app.screen.query_one(Footer)
    return [
        f"{key.key_display} {key.description}".strip() for key in footer.query("FooterKey")
    ]


def shown_ids(app: StoplineApp) -> set[str]:
    return {a.binding.id or "" for a in app.screen.active_bindings.values() if a.binding.show}


# -- the first screen --------------------------------------------------------------------------


async def test_the_first_screen_says_how_to_get_help_and_out(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = lookup_screen(app)
        assert screen.focused is screen.search
        keys = footer_keys(app)
        assert "esc Leave field" in keys and "? Keys" in keys and "^q Quit" in keys
        # Once something is typed, ? types itself: f1 is the help key shown then.
        await pilot.press(*"114")
        await pilot.pause()
        keys = footer_keys(app)
        assert "f1 Keys" in keys and "^q Quit" in keys and "? Keys" not in keys
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        # Outside the field: q quits, ? helps, / searches.
        await pilot.press("escape")
        await pilot.pause()
        assert screen.focused is screen.results
        keys = footer_keys(app)
        assert {"/ Search", "? Keys", "q Quit"} <= set(keys)


async def test_slash_question_mark_and_colon_act_in_the_empty_search_field(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = lookup_screen(app)
        await pilot.press("slash")
        await pilot.pause()
        assert screen.search.value == "" and screen.focused is screen.search
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("colon")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        assert screen.search.value == ""
        # With text in it they are text: a PO such as PO/2026/0042 has slashes.
        await pilot.press(*"PO/2")
        assert screen.search.value == "PO/2"


async def test_after_not_found_the_search_keeps_focus_ready_to_type_over(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, "999-0000000-0000000")
        assert screen.orders == {}
        assert screen.focused is screen.search
        # The old identifier is selected: typing replaces it, no extra key.
        await pilot.press(*showcase.SHOPLAZZA_OPEN_NUMBER, "enter")
        await settle(pilot)
        order = screen.highlighted_order()
        assert order is not None and order.order_id == showcase.SHOPLAZZA_OPEN_ID
        assert screen.focused is screen.results  # where c acts


# -- work in flight ----------------------------------------------------------------------------


async def test_q_asks_before_dropping_a_cancel_in_flight(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        control.add_fault(
            root_url, provider="shoplazza", mode="latency", latency_ms=1500, operations=["cancel"]
        )
        await pilot.press("c", "1", "y")
        for _ in range(100):
            await pilot.pause(0.02)
            if screen.breakdown.phase == "sending":
                break
        assert screen.cancel_busy
        await pilot.press("q")
        await pilot.pause()
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        words = plain(question.question) + plain(question.detail or "")
        assert "work in flight" in words and "633130-00000004" in words
        assert "yes, quit" in plain(question.query_one("#answers").render())
        await pilot.press("n")  # stay: the cancel goes on
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await settle(pilot)
        assert final_outcome(screen).outcome is Outcome.COMPLETE
        # Nothing in flight any more: q quits at once.
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_q_asks_before_dropping_a_running_batch_and_y_quits(
    make_app: AppFactory, root_url: str
) -> None:
    from textual import events
    from textual.widgets import Select

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        lookup_screen(app).results.focus()
        await pilot.press("b")
        await pilot.pause()
        batch = app.screen
        control.add_fault(
            root_url, provider="shoplazza", mode="latency", latency_ms=3000, operations=["cancel"]
        )
        app.post_message(events.Paste(showcase.SHOPLAZZA_OPEN_ID))
        await pilot.pause()
        batch.query_one("#provider", Select).value = "shoplazza"
        batch.query_one(ReasonField).action_pick(1)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause(0.3)
        assert batch.batch_run is not None and batch.batch_run.running
        await pilot.press("q")
        await pilot.pause()
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        detail = plain(question.detail or "")
        assert "a batch is running (0 of 1 done)" in detail
        assert "stay unknown in the journal" in detail
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


# -- cancels that cannot succeed, presets, y -------------------------------------------------


async def test_look_up_and_cancel_with_preset_three_in_x_plus_four_keys(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = lookup_screen(app)
        identifier = showcase.SHOPLAZZA_OPEN_NUMBER
        keys = [*identifier, "enter", "c", "3", "y"]
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        assert len(keys) == len(identifier) + 4
        outcome = final_outcome(screen)
        assert outcome.outcome is Outcome.COMPLETE
        assert screen.last_request is not None and screen.last_request.reason == "Fraud"
        assert cancel_calls(root_url) == 1


async def test_presets_by_digit_and_type_ahead(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        field = dialog.query_one(ReasonField)
        presets = dialog.query_one(PresetList)
        assert dialog.focused is presets
        await pilot.press("4")
        assert field.value == "Duplicate order" and presets.chosen == 3
        await pilot.press("9")  # past the last preset: nothing, nothing typed
        await pilot.pause()
        assert field.value == "Duplicate order" and dialog.focused is presets
        # Letters start free text; a few of them complete a preset (enter takes it).
        field.input.value = ""
        await pilot.press(*"fra")
        assert dialog.focused is field.input and field.input.value == "fra"
        assert presets.chosen == 2  # Fraud, shown as the completion
        await pilot.press("enter")
        await pilot.pause()
        assert field.value == "Fraud"
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        assert "Reason: Fraud" in plain(question.question)
        await pilot.press("n")
        await pilot.pause()
        # Free text that completes nothing stays as typed.
        field.input.value = ""
        await pilot.press(*"called twice", "escape")
        await pilot.pause()
        assert field.value == "called twice" and dialog.focused is presets
        await pilot.press("escape")


async def test_y_needs_a_reason_and_sends_straight_from_the_dialog(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        await pilot.press("c", "y")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        assert "Give a reason first" in plain(dialog.query_one("#problem").render())
        assert cancel_calls(root_url) == 0
        await pilot.press("2", "tab", "space", "y")
        await settle(pilot)
        assert app.screen is screen
        request = screen.last_request
        assert request is not None and request.reason == "Inventory / stock-out"
        assert len(request.items) == 1
        assert final_outcome(screen).outcome is Outcome.COMPLETE
        assert cancel_calls(root_url) == 1


# -- every dialog's own keys ------------------------------------------------------------------


async def test_every_dialog_has_its_own_footer_and_help(
    make_journal_app: AppFactory,
) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        keys = footer_keys(app)
        assert keys[:4] == ["1…9 Preset", "y Send", "⏎ Ask first…", "esc Back"]
        assert keys[-1] == "? Keys"
        assert "/ Search" not in keys and "c Cancel" not in keys
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            ids = {row[2] for row in app.screen.rows}
            assert "stopline.dialog.send" in ids and "stopline.reason.1 … .6" in ids
            assert "stopline.cancel" not in ids
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is dialog
        await pilot.press("1", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert footer_keys(app) == ["y Yes", "n No", "? Keys"]  # esc is n's twin
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "stopline.confirm.yes" in {row[2] for row in app.screen.rows}
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AttemptDetailScreen)
        assert "esc Close" in footer_keys(app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.where == "attempt detail"


# -- layout --------------------------------------------------------------------------------------


def inner_height(widget: Any) -> int:
    return int(widget.content_region.height)


@pytest.mark.parametrize("size", [SIZE, WIDE], ids=["80x24", "120x40"])
async def test_every_pane_keeps_five_lines_after_a_partial_cancel(
    make_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_PARTIAL)
        await pilot.press("c", "1", "y")
        await settle(pilot)
        assert final_outcome(screen).outcome is Outcome.PARTIAL
        await pilot.pause()
        assert inner_height(screen.lines) >= 5
        assert inner_height(screen.breakdown) >= 5
        table = screen.lines.table
        assert table is not None and table.size.height >= 4  # header and every line
        # Stacked, never side by side: Lines has the whole width.
        assert screen.lines.region.width == size[0]
        assert screen.breakdown.region.y > screen.lines.region.y
        # The footer fits: nothing is cut off on the right.
        footer = app.screen.query_one(Footer)
        assert all(key.region.right <= size[0] for key in footer.query("FooterKey"))


async def test_a_wide_terminal_shows_the_reasons_whole(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_PARTIAL)
        table = screen.lines.table
        assert table is not None
        cells = [table.shown_row(i)[3] for i in range(table.row_count)]
        assert (
            "not cancellable: in the warehouse's hands (batched, picked or packed)" in cells
        )
        notes = plain(screen.lines.query_one("#lines-note").render())
        assert "warehouse's hands" not in notes  # nothing cut, nothing to write out


# -- words -------------------------------------------------------------------------------------


async def test_one_vocabulary_and_no_line_s(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_PARTIAL)
        # Skipped says why: the identifier's shape does not fit that provider.
        assert "OrderMesh skipped: its order ids are 24 hexadecimal characters" in strip_text(
            app
        )
        table = screen.lines.table
        assert table is not None
        words = {table.shown_row(i)[3].split(":")[0] for i in range(3)}
        assert words == {"cancellable", "not cancellable"}
        await pilot.press("c", "1", "y")
        await settle(pilot)
        text = breakdown_text(app)
        assert "✔ cancelled" in text and "✘ not cancelled" in text
        # How the cancel answer's warehouse order ids relate to the look-up's sub-orders.
        assert "warehouse order ids, from Pattern's cancel answer" in text
        shown = "\n".join(
            plain(w.render()) for w in app.screen.query("Static") if w.display
        ) + text
        assert "(s)" not in shown
        await pilot.press("h")
        await settle(pilot)
        history = app.screen
        assert isinstance(history, HistoryScreen) and history.table is not None
        assert history.table.get_row_at(0)[1] == "Pattern Hub"  # never "pattern"
        row = plain(history.query_one("#history-row").render())
        assert "Pattern Hub" in row and "reason: Customer request" in row


async def test_the_unknown_flow_reads_well_and_the_footer_fits(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app(attempts=1, shoplazza={"timeout_s": 0.5, "settle_s": 30})
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        control.add_fault(root_url, provider="shoplazza", mode="timeout", operations=["cancel"])
        await pilot.press("c", "1", "y")
        await settle(pilot)
        assert final_outcome(screen).outcome is Outcome.UNKNOWN
        control.clear_faults(root_url)
        for _ in range(3):  # each r says it once, in place of the one before
            await pilot.press("r")
            await settle(pilot)
            text = breakdown_text(app)
            assert text.count("re-check:") == 1, text
            assert "still unknown — it may yet take effect; r re-checks again" in text
        assert "r Retry" in footer_keys(app)
        footer = app.screen.query_one(Footer)
        assert all(key.region.right <= SIZE[0] for key in footer.query("FooterKey"))
        assert cancel_calls(root_url) == 1


async def test_each_recheck_replaces_its_words(
    make_journal_app: AppFactory, root_url: str
) -> None:
    """r in the history: what the re-check found is said once, under the table, in place
    of the previous one — never one toast per r piling up."""
    app = make_journal_app(attempts=1, shoplazza={"timeout_s": 0.5, "settle_s": 30})
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        control.add_fault(root_url, provider="shoplazza", mode="timeout", operations=["cancel"])
        await pilot.press("c", "1", "y")
        await settle(pilot)
        control.clear_faults(root_url)
        await pilot.press("h")
        await settle(pilot)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        for _ in range(3):
            await pilot.press("r")
            await settle(pilot)
        row = plain(history.query_one("#history-row").render())
        assert row.count("re-check:") == 1 and "untouched so far" in row
        assert len(app._notifications) == 0
        assert cancel_calls(root_url) == 1


# -- palette, themes, colours ----------------------------------------------------------------


async def test_palette_high_ranks_the_high_contrast_theme_first(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"high")
        await pilot.pause(0.5)
        options = app.screen.query_one(CommandList)
        first = plain(options.get_option_at_index(0).prompt)
        assert first.startswith("Theme: stopline-high-contrast")
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "stopline-high-contrast"


async def test_a_theme_chosen_in_the_console_is_the_next_starts(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert remembered_theme() is None
        app.set_theme("stopline-ansi")  # as the palette does
        await pilot.pause()
    assert remembered_theme() == "stopline-ansi"
    assert state_path().stat().st_mode & 0o077 == 0
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "stopline-ansi"


def _header_and_cursor_backgrounds(theme: str) -> tuple[Color, Color]:
    """The backgrounds a focused table draws its header and its cursor row in."""

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield RowTable(["a", "b"], ListRows([["1", "2"], ["3", "4"]]))

    seen: list[Color] = []

    async def run() -> None:
        app = One()
        for item in load_themes().themes:
            app.register_theme(item)
        app.theme = theme
        async with app.run_test(size=(40, 8)) as pilot:
            table = app.query_one(RowTable)
            table.focus()
            await pilot.pause()
            for y in (0, 1):  # the header, then the first row (the cursor's)
                segment = next(s for s in table.render_line(y) if s.text.strip())
                assert segment.style is not None and segment.style.bgcolor is not None
                seen.append(segment.style.bgcolor)

    import asyncio

    asyncio.run(run())
    return seen[0], seen[1]


def _brightness(colour: Color) -> float | None:
    if colour.is_default:
        return None  # the terminal's own background
    red, green, blue = (c / 255 for c in colour.get_truecolor())
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.parametrize(
    "theme",
    ["stopline-dark", "stopline-light", "stopline-high-contrast", "stopline-ansi", "ansi-dark"],
)
def test_in_16_colours_the_header_and_the_selected_row_differ(theme: str) -> None:
    """Different in 16 colours, and far apart in brightness, so no terminal's mapping of
    nearby colours can make them one (two blues did: the header on primary, the cursor on
    secondary)."""
    header, cursor = _header_and_cursor_backgrounds(theme)
    assert header.downgrade(ColorSystem.STANDARD) != cursor.downgrade(ColorSystem.STANDARD)
    light = [_brightness(header), _brightness(cursor)]
    if None not in light:
        assert abs(light[0] - light[1]) >= 0.25, (header, cursor)  # type: ignore[operator]


async def test_no_color_means_no_colour_at_all(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    assert app.no_color
    assert not any(isinstance(f, Monochrome) for f in app._filters)  # greys are colour too
    assert any(isinstance(f, NoColor) for f in app._filters)
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        assert isinstance(screen, LookupScreen)
        # What colour alone marked is marked otherwise: the cursor row in reverse.
        cursor = screen.results.get_component_rich_style("datatable--cursor")
        assert cursor.reverse


async def test_a_digit_in_the_empty_reason_field_takes_the_preset(
    make_app: AppFactory,
) -> None:
    """Tabbing into the reason's text field is no trap: while it is empty a digit takes
    that preset (and focus goes to the list, where y sends); once it holds text, digits are
    text."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        field = dialog.query_one(ReasonField)
        field.input.focus()
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        assert field.value == "Fraud" and dialog.focused is field.preset_list
        field.input.focus()
        field.input.value = "call"
        await pilot.press("end", "2")
        assert field.value == "call2"
        await pilot.press("escape", "escape")
