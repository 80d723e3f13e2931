"""Keystroke helpers and plain-text views of what the console shows."""

from __future__ import annotations

from typing import Any

from rich.console import Console, RenderableType
from textual.pilot import Pilot

from tui.app import StoplineApp
from tui.screens.lookup import LookupScreen


def plain(renderable: RenderableType, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None, file=_Null())
    console.print(renderable)
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def lookup_screen(app: StoplineApp) -> LookupScreen:
    screen = app._lookup_screen()
    assert screen is not None
    return screen


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish and the screen catch up with their messages."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def look_up(pilot: Pilot[Any], identifier: str, *, typed: bool = False) -> LookupScreen:
    """``/``, the identifier (typed key by key, or pasted), ``enter``; waits for the answers."""
    app = pilot.app
    assert isinstance(app, StoplineApp)
    await pilot.press("slash")
    screen = lookup_screen(app)
    assert screen.focused is screen.search
    if typed:
        screen.search.value = ""
        await pilot.press(*identifier)
    else:
        screen.search.value = identifier
    await pilot.press("enter")
    await settle(pilot)
    return screen


def breakdown_text(app: StoplineApp) -> str:
    return plain(lookup_screen(app).breakdown.render_body())


def strip_text(app: StoplineApp) -> str:
    return plain(lookup_screen(app).strip.render_strip())


async def cancel_with(
    pilot: Pilot[Any], *, reason_keys: tuple[str, ...] = ("down",), confirm: str = "y"
) -> None:
    """``c``, give a reason (default: first preset), ``enter``, answer the confirmation."""
    await pilot.press("c")
    await pilot.pause()
    await pilot.press(*reason_keys)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(confirm)
    await settle(pilot)
