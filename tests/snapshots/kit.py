"""Keystrokes for the snapshot tests, and the checks that keep a snapshot free of anything
that varies from run to run."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

Step = Callable[[Pilot[Any]], Awaitable[None]]

CLOCK = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b")
DURATION = re.compile(r"\b\d+(\.\d+)? ?ms\b")


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker finished and every message it posted handled."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until_still(pilot: Pilot[Any], tries: int = 20) -> None:
    """Pause until two frames in a row are the same. A table sizes its columns when idle;
    a modal pushed before that would freeze the screen under it half-drawn."""
    previous = None
    for _ in range(tries):
        await pilot.pause()
        frame = pilot.app.export_screenshot()
        if frame == previous:
            return
        previous = frame
    raise AssertionError(f"the screen kept changing for {tries} pauses")


async def look_up(pilot: Pilot[Any], identifier: str) -> None:
    """``/`` (unless the search field has focus), the identifier pasted as a terminal pastes
    it, ``enter``; waits for every provider. (Typing it key by key costs ~50 ms a key.)"""
    screen = pilot.app.screen
    search = getattr(screen, "search", None)
    if screen.focused is not search:
        await pilot.press("slash")
    assert search is not None and screen.focused is search
    search.post_message(events.Paste(identifier))
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    await until_still(pilot)


async def cancel(pilot: Pilot[Any]) -> None:
    """``c``, the first preset reason, ``enter``, ``y``; waits for the outcome to settle."""
    await pilot.press("c")
    await pilot.pause()
    await pilot.press("down", "enter")
    await pilot.pause()
    await pilot.press("y")
    await settle(pilot)


TEXT_RUN = re.compile(
    r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#terminal-[\w-]*?line-(\d+)\)"[^>]*>(.*?)</text>'
)
"""One run of text in Rich's SVG export: its ``x``, its terminal row, its (escaped) text."""
CELL_WIDTH = 12.2
"""Width of one terminal cell in Rich's SVG export (``x`` of a text run = column x this)."""


def screen_lines(svg: str) -> list[str]:
    """The text of each terminal row of an exported screenshot, laid out by column."""
    rows: dict[int, dict[int, str]] = {}
    for x, row, text in re.findall(TEXT_RUN, svg):
        rows.setdefault(int(row), {})[round(float(x) / CELL_WIDTH)] = html.unescape(text)
    lines = []
    for row in sorted(rows):
        line = ""
        for column, text in sorted(rows[row].items()):
            line = line.ljust(column) + text.replace("\xa0", " ")
        lines.append(line.rstrip())
    return lines


def steady(netloc: str, *steps: Step) -> Step:
    """Run ``steps``, then make the frame deterministic and check that nothing volatile shows:
    no cursor blink, no sandbox address or port, no clock, no durations."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for step in steps:
            await step(pilot)
        await settle(pilot)
        for screen in pilot.app.screen_stack:
            for field in screen.query(Input):
                field.cursor_blink = False
        await until_still(pilot)
        text = "\n".join(screen_lines(pilot.app.export_screenshot()))
        assert text.strip(), "the screenshot has no text"
        port = netloc.rsplit(":", 1)[1]
        assert netloc.split(":")[0] not in text and f":{port}" not in text, text
        assert not CLOCK.search(text), text
        assert not DURATION.search(text), text

    return run_before
