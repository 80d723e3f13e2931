"""The key contract: read-only, escape, help, palette, keymap; plus start-up failures."""

from __future__ import annotations

from textual.command import CommandPalette

from tui.app import StoplineApp
from tui.core.settings import ConfigError
from tui.sandbox import showcase
from tui.screens.cancel_dialog import CancelDialog
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.widgets.reason import PresetList
from tui.widgets.topbar import TopBar

from .conftest import AppFactory
from .helpers import look_up, lookup_screen, plain, strip_text

SIZE = (80, 24)


def footer_keys(app: StoplineApp) -> set[str]:
    return {
        active.binding.id or ""
        for active in app.screen.active_bindings.values()
        if active.binding.show
    }


async def test_read_only_hides_cancel(make_app: AppFactory) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        assert screen.highlighted_order() is not None
        assert "READ-ONLY" in plain(app.screen.query_one(TopBar).render_bar())
        assert "stopline.cancel" not in footer_keys(app)
        assert screen.check_action("cancel", ()) is False
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen
        assert screen.breakdown.phase == "idle"


async def test_per_provider_read_only(make_app: AppFactory) -> None:
    app = make_app(shoplazza={"read_only": True})
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        assert "stopline.cancel" not in footer_keys(app)
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen
        await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        assert "stopline.cancel" in footer_keys(app)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CancelDialog)


async def test_escape_backs_out_of_every_dialog(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CancelDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen

        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        await pilot.press("1", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # confirmation: back to the dialog, nothing sent
        await pilot.pause()
        assert app.screen is dialog
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("n")  # n: the same
        await pilot.pause()
        assert app.screen is dialog
        # In the reason's text field, escape leaves the field; outside it closes the dialog.
        await pilot.press("x")  # type-ahead: free text "x"
        assert dialog.focused is dialog.query_one("#reason")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is dialog and dialog.focused is dialog.query_one(PresetList)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert screen.breakdown.phase == "idle"
        assert screen.last_request is None

        # On the lookup screen escape leaves the search field for the results, keeping
        # what was typed; on the results it does nothing (there is nothing to back out of).
        await pilot.press("slash")
        assert screen.focused is screen.search
        await pilot.press("escape")
        await pilot.pause()
        assert screen.focused is screen.results
        assert screen.search.value == showcase.SHOPLAZZA_OPEN_NUMBER
        await pilot.press("escape")
        await pilot.pause()
        assert screen.focused is screen.results and app.screen is screen


async def test_enter_needs_a_reason(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c", "enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        assert "reason" in plain(dialog.query_one("#problem").render()).lower()


async def test_help_lists_the_keys_valid_now(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {"stopline.cancel", "stopline.search", "stopline.quit", "stopline.down"} <= ids
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_help_in_read_only_does_not_offer_cancel(make_app: AppFactory) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "stopline.cancel" not in {row[2] for row in app.screen.rows}


async def test_colon_and_ctrl_p_open_the_palette_which_reaches_cancel(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("colon")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"cancel order")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CancelDialog)


async def test_q_quits_outside_text_fields_only(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = lookup_screen(app)
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert screen.search.value == "q"
        assert app.is_running
        await pilot.press("escape")  # leave the field: single keys act again
        await pilot.pause()
        assert screen.focused is screen.results
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_ctrl_q_quits_from_inside_a_text_field(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = lookup_screen(app)
        await pilot.pause()
        await pilot.press(*"114")
        assert screen.focused is screen.search
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_keymap_from_settings_remaps_by_id(make_app: AppFactory) -> None:
    app = make_app(keymap={"stopline.cancel": "x"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, CancelDialog)


async def test_config_error_is_shown_not_raised() -> None:
    def broken():  # type: ignore[no-untyped-def]
        raise ConfigError(["shoplazza.access_token is required when shoplazza.base_url is set"])

    app = StoplineApp(broken)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.problems
        text = strip_text(app)
        assert "shoplazza.access_token is required" in text
        assert "not started" in plain(app.screen.query_one(TopBar).render_bar())
        screen = lookup_screen(app)
        screen.results.focus()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


async def test_runtime_factory_opens_in_the_background(make_app: AppFactory) -> None:
    """The lookup screen is drawn before the runtime; a search typed early runs when ready."""
    import threading

    from tui.runtime import Runtime

    gate = threading.Event()
    built = make_app()
    service = built._given_service
    assert service is not None

    class FakeRuntime(Runtime):
        def open_service(self, **http):  # type: ignore[no-untyped-def]
            return service

    def slow_factory() -> Runtime:
        gate.wait(5)
        return FakeRuntime(settings=service.settings, demo=True)

    app = StoplineApp(slow_factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = lookup_screen(app)
        assert app.service is None
        assert "connecting" in plain(app.screen.query_one(TopBar).render_bar())
        screen.search.value = showcase.SHOPLAZZA_OPEN_NUMBER
        await pilot.press("enter")
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.service is service
        assert app.demo
        order = screen.highlighted_order()
        assert order is not None and order.order_id == showcase.SHOPLAZZA_OPEN_ID


async def test_themes_are_loaded_and_the_ansi_floor_kept(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        themes = app.available_themes
        for name in (
            "stopline-dark",
            "stopline-light",
            "stopline-high-contrast",
            "stopline-ansi",
            "ansi-dark",
            "ansi-light",
        ):
            assert name in themes
        assert app.theme == "stopline-dark"
        assert themes["stopline-ansi"].ansi
        for name in ("stopline-light", "stopline-high-contrast", "stopline-ansi"):
            app.theme = name
            await look_up(pilot, showcase.PATTERN_PARTIAL)
            assert "found" in strip_text(app)
