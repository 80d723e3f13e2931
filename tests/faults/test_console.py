"""The console under faults, hostile text, read-only settings and mixed environments
(Pilot against the sandbox; the console team's own tests cover the flows without faults)."""

from __future__ import annotations

from pathlib import Path

from tui.core.domain import CancelRequest, Outcome
from tui.core.lifecycle import Done, NextStep
from tui.sandbox import control, showcase

from .conftest import StackFactory
from .kit import OPEN_ORDER, applied, look_up, screen_text, settle

SIZE = (120, 32)
ESC, BEL, CSI8 = "\x1b", "\x07", "\x9b"


async def test_faults_during_lookup_and_cancel_neither_crash_nor_freeze(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()
    order = OPEN_ORDER["shoplazza"]
    control.add_fault(
        stack.url, provider="shoplazza", mode="timeout", operations=["lookup"], count=1
    )
    control.add_fault(
        stack.url, provider="pattern", mode="error", status=502, operations=["lookup"]
    )
    control.add_fault(stack.url, provider="rxuniverse", mode="reset", operations=["lookup"])
    app = stack.console()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, order)  # Shoplazza: timeout then found; Pattern, Rx: errors
        screen = app.screen
        assert screen.highlighted_order() is not None
        text = screen_text(app)
        assert "⚠ error" in text and "(r retries)" in text

        control.add_fault(
            stack.url,
            provider="shoplazza",
            mode="timeout",
            when="after",
            operations=["cancel"],
            count=1,
        )
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("down", "enter")  # first preset reason, then review
        await pilot.pause()
        await pilot.press("y")
        # The look-up before sending went through; once the cancel is at the provider (whose
        # answer will never come), the look-up that follows meets a broken body.
        for _ in range(500):
            if control.calls(stack.url, "cancel"):
                break
            await pilot.pause(0.01)
        assert control.calls(stack.url, "cancel")
        control.add_fault(
            stack.url, provider="shoplazza", mode="malformed_json", operations=["lookup"], count=1
        )
        await settle(pilot)

        # The answer was lost after the cancel applied; the look-up after it met a broken
        # body, so the console says unknown — and the sandbox did cancel.
        final = screen.last_final
        assert isinstance(final, Done)
        assert final.outcome.outcome is Outcome.UNKNOWN
        assert any("look-up failed" in w for w in final.outcome.warnings)
        assert screen.cancel_step() is NextStep.RECHECK
        assert applied(stack.server, "shoplazza", order)
        assert "UNKNOWN" in screen_text(app)

        # Still answering keys: retry re-checks (never re-sends) and settles it...
        await pilot.press("r")
        await settle(pilot)
        final = screen.last_final
        assert isinstance(final, Done)
        assert final.outcome.outcome is Outcome.COMPLETE
        assert final.outcome.confirmed
        assert len(control.calls(stack.url, "cancel")) == 1
        # ...help opens and closes, and a new look-up runs.
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is not screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        control.clear_faults(stack.url)
        await look_up(pilot, showcase.SHOPLAZZA_FINISHED_NUMBER)
        assert "633130-00000005" in screen_text(app)


HOSTILE_EXTRA = (
    "\x1b]8;;https://evil.invalid\x07osc-link\x1b]8;;\x07 \x1b]0;pwned\x07 \x9b31mc1 "
    "\u202eevil\u202c \u2066iso\u2069 [bold red]markup[/bold red]\x07"
)


async def test_hostile_provider_text_is_inert_on_screen_and_in_screenshots(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_stack()
    hostile = stack.server.sandbox.data.pattern[showcase.HOSTILE_TEXT_ORDER]
    hostile.note = f"{hostile.note} {HOSTILE_EXTRA}"  # a plain attribute: safe across threads
    app = stack.console()
    async with app.run_test(size=(160, 40)) as pilot:
        await look_up(pilot, showcase.HOSTILE_TEXT_ORDER)
        # None of its sub-orders can be cancelled, so c is not offered; the cancel (which
        # the sandbox refuses with hostile text) is sent as the screen sends it.
        screen = app.screen
        assert screen.check_action("cancel", ()) is False
        screen.send_cancel(
            CancelRequest(provider="pattern", order_id=showcase.HOSTILE_TEXT_ORDER, reason="x")
        )
        await settle(pilot)
        final = app.screen.last_final
        assert isinstance(final, Done)
        assert final.outcome.outcome is Outcome.REFUSED  # the showcase's 409
        text = screen_text(app)
        assert "[bold red]x[/]" in text
        assert "[bold red]markup[/bold red]" in text
        for bad in (ESC, BEL, CSI8, "\u202e", "\u2066"):
            assert bad not in text
        svg = app.save_screenshot(filename="hostile.svg", path=str(tmp_path))
        drawn = Path(svg).read_text(encoding="utf-8")  # noqa: ASYNC240
        assert ESC not in drawn and BEL not in drawn and "\u202e" not in drawn


async def test_read_only_setting_hides_cancel(make_stack: StackFactory) -> None:
    stack = make_stack(read_only=True)
    app = stack.console()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, OPEN_ORDER["shoplazza"])
        screen = app.screen
        assert screen.highlighted_order() is not None
        assert "READ-ONLY" in screen_text(app)
        assert screen.check_action("cancel", ()) is False
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen
        assert not applied(stack.server, "shoplazza", OPEN_ORDER["shoplazza"])


async def test_each_provider_shows_its_environment(make_stack: StackFactory) -> None:
    stack = make_stack(
        pattern={"environment": "production"},
        ordermesh={"environment": "staging"},
    )
    app = stack.console()
    async with app.run_test(size=(160, 32)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Pattern Hub PRODUCTION" in text
        assert "OrderMesh STAGING" in text
        assert "Shoplazza SANDBOX" in text  # 127.0.0.1: derived from the URL
        assert "Rx-Universe SANDBOX" in text
