"""Render the console's main states from the real app against the demo sandbox into SVGs.

    .venv/bin/python screenshots/make_screenshots.py [--size 100x30] [--out screenshots]

Most at ``--size``; those named ``*-80x24.svg`` at 80x24, the size a floor terminal has.

Starts the sandbox in this process, drives the app with keys (as a user would), and saves each
frame with Textual's own ``export_screenshot``. Durations are hidden and the theme is fixed so
that re-running gives the same files; the sandbox's address never reaches the screen (the
script checks, and refuses to write a file that shows it).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from tui.app import StoplineApp
from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxConfig, SandboxServer, control, showcase

THEME = "stopline-dark"
HERE = Path(__file__).resolve().parent

Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until_still(pilot: Pilot[Any], tries: int = 20) -> None:
    """Pause until two frames in a row are the same (a table sizes its columns when idle;
    a dialog opened before that would cover a half-drawn screen)."""
    previous = None
    for _ in range(tries):
        await pilot.pause()
        frame = pilot.app.export_screenshot()
        if frame == previous:
            return
        previous = frame
    raise RuntimeError(f"the screen kept changing for {tries} pauses")


async def look_up(pilot: Pilot[Any], identifier: str) -> None:
    """``/`` unless the search field has focus, the identifier pasted, ``enter``."""
    screen = pilot.app.screen
    search = screen.query_one("#search", Input)
    if screen.focused is not search:
        await pilot.press("slash")
    search.post_message(events.Paste(identifier))
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    await until_still(pilot)


async def cancel(pilot: Pilot[Any], preset: str = "1") -> None:
    """``c``, a preset reason by its digit, ``y`` (the dialog is the review)."""
    await pilot.press("c")
    await pilot.pause()
    await pilot.press(preset)
    await pilot.pause()
    await pilot.press("y")
    await settle(pilot)


async def results(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.PATTERN_PARTIAL)


async def cancel_dialog(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
    # Preset 4 by its digit; 2 of the first item's 3, all of the third item's 2.
    await pilot.press("c", "4", "tab", "space", "minus", "down", "down", "space")
    await pilot.pause()


async def partial(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.PATTERN_PARTIAL)
    await cancel(pilot)


async def refused(pilot: Pilot[Any]) -> None:
    # The look-up shows the lab job cancellable; the lab refuses: it is past a station.
    await look_up(pilot, showcase.RX_AT_NO_CANCEL_STATION)
    await cancel(pilot)


async def cannot_cancel(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.ORDERMESH_SHIPPED)


async def read_only(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)


async def help_keys(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
    await pilot.press("question_mark")
    await pilot.pause()


async def preset_dialog(pilot: Pilot[Any]) -> None:
    await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
    await pilot.press("c", "3")
    await pilot.pause()


# file name → (steps, read-only?)
SHOTS: dict[str, tuple[Steps, bool]] = {
    "lookup.svg": (results, False),
    "cancel-dialog.svg": (cancel_dialog, False),
    "partial.svg": (partial, False),
    "refused.svg": (refused, False),
    "cannot-cancel.svg": (cannot_cancel, False),
    "read-only.svg": (read_only, True),
    "help.svg": (help_keys, False),
    "preset-80x24.svg": (preset_dialog, False),
    "partial-80x24.svg": (partial, False),
}
SMALL = (80, 24)


def svg_text(svg: str) -> str:
    return html.unescape(" ".join(re.findall(r"<text [^>]*>(.*?)</text>", svg)))


def volatile(text: str, netloc: str) -> str | None:
    """What in ``text`` must not be published: the sandbox's address, durations, a clock."""
    host, _, port = netloc.partition(":")
    if host in text or f":{port}" in text:
        return f"the sandbox address {netloc}"
    if re.search(r"\b\d+ ms\b", text):
        return "a duration"
    if re.search(r"\b\d{1,2}:\d{2}:\d{2}\b", text):
        return "a clock"
    return None


async def shoot(server: SandboxServer, steps: Steps, read_only: bool, size: tuple[int, int]) -> str:
    control.reset(server.root_url)
    control.clear_faults(server.root_url)
    overrides = env_to_overrides(server.settings_env())
    overrides.update(confirm_poll_s=0.1, confirm_timeout_s=5.0, theme=THEME)
    overrides["shoplazza"]["rate_per_s"] = 100.0
    service = StoplineService.from_settings(load_settings(**overrides))
    app = StoplineApp(
        service=service, demo=True, read_only=read_only, show_timings=False, theme=THEME
    )
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await steps(pilot)
        await settle(pilot)
        for screen in app.screen_stack:
            for field in screen.query(Input):
                field.cursor_blink = False
        await until_still(pilot)
        return app.export_screenshot()


async def make(out: Path, size: tuple[int, int]) -> int:
    config = SandboxConfig(pattern_cancel_delay_s=0.3, shoplazza_rate_per_s=None)
    with SandboxServer(config) as server:
        netloc = server.root_url.split("://", 1)[1]
        for name, (steps, read_only) in SHOTS.items():
            shot_size = SMALL if name.endswith("-80x24.svg") else size
            svg = await shoot(server, steps, read_only, shot_size)
            problem = volatile(svg_text(svg), netloc)
            if problem:
                sys.stderr.write(f"screenshots: {name} shows {problem}; not written\n")
                return 1
            (out / name).write_text(svg, encoding="utf-8")
            print(f"wrote {out / name}")
    return 0


def isolate(home: Path) -> None:
    """Nothing of this machine's Stopline config (keymap, theme, user themes) or colour
    settings may change the pictures."""
    for name in [n for n in os.environ if n.startswith("STOPLINE_")] + ["NO_COLOR"]:
        os.environ.pop(name, None)
    config = home / "config.toml"
    config.write_text("")
    config.chmod(0o600)
    os.environ["STOPLINE_CONFIG"] = str(config)
    os.environ["STOPLINE_DATA_DIR"] = str(home / "data")
    os.environ["STOPLINE_LOG_DIR"] = str(home / "log")
    os.environ["STOPLINE_STATE_DIR"] = str(home / "state")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100x30", help="terminal size (default 100x30)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the SVGs")
    args = parser.parse_args()
    width, _, height = args.size.partition("x")
    with tempfile.TemporaryDirectory(prefix="stopline-shots-") as home:
        isolate(Path(home))
        args.out.mkdir(parents=True, exist_ok=True)
        return asyncio.run(make(args.out.resolve(), (int(width), int(height))))


if __name__ == "__main__":
    sys.exit(main())
