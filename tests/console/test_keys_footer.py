"""The footer every screen uses: several binding changes before it is rebuilt cost one
rebuild, and that rebuild shows the keys as they are by then (Textual's own footer, the
probe, rebuilds once for each change)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui.widgets.keys_footer import KeysFooter


class Switches(App[None]):
    """A screen whose ``x`` key is shown or hidden by ``self.shown``."""

    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "switch", "Switch"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer_type = footer
        self.shown = True
        self.rebuilds = 0

    def compose(self) -> ComposeResult:
        yield self.footer_type()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.shown if action == "switch" else True

    def action_switch(self) -> None:
        pass


async def rebuilds_for_five_changes(footer_type: type[Footer]) -> tuple[int, list[str]]:
    app = Switches(footer_type)
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        real = footer.recompose

        async def counted() -> None:
            app.rebuilds += 1
            await real()

        footer.recompose = counted  # type: ignore[method-assign]
        for n in range(5):  # five changes in a row; the last hides "x"
            app.shown = n % 2 == 1 if n < 4 else False
            app.screen.refresh_bindings()
        for _ in range(5):
            await pilot.pause()
        keys = [key.key for key in footer.query(FooterKey)]
        return app.rebuilds, keys


async def test_five_binding_changes_rebuild_the_footer_once_with_the_last_keys() -> None:
    rebuilds, keys = await rebuilds_for_five_changes(KeysFooter)
    assert rebuilds == 1
    assert keys == ["q"]  # the state of the last change: "x" hidden


async def test_textuals_own_footer_rebuilds_once_a_change() -> None:
    rebuilds, keys = await rebuilds_for_five_changes(Footer)
    assert rebuilds == 5  # what KeysFooter saves
    assert keys == ["q"]


async def test_the_footer_shows_the_screens_keys_from_the_start() -> None:
    app = Switches(KeysFooter)
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        assert [key.key for key in app.query(FooterKey)] == ["x", "q"]
        app.shown = False
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert [key.key for key in app.query(FooterKey)] == ["q"]


async def test_a_rebuild_lost_with_a_screen_leaves_nothing_stuck() -> None:
    """A rebuild asked for can be lost (its screen gone before the refresh): the next
    change still rebuilds the footer."""
    app = Switches(KeysFooter)
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        footer = app.query_one(KeysFooter)
        asked = footer.call_after_refresh
        lost: list[object] = []

        def lose_the_first(callback: Any, *args: Any) -> bool:
            if not lost:
                lost.append(callback)
                return True
            return asked(callback, *args)

        footer.call_after_refresh = lose_the_first  # type: ignore[method-assign]
        app.shown = False
        app.screen.refresh_bindings()  # its rebuild is lost
        await pilot.pause()
        app.shown = True
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert lost and [key.key for key in app.query(FooterKey)] == ["x", "q"]
        app.shown = False
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert [key.key for key in app.query(FooterKey)] == ["q"]
