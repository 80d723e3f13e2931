"""The command palette (``ctrl+p`` or ``:``): every action by name, themes included."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from textual.app import App

    from tui.host import ConsoleHost

Command = tuple[str, str, Callable[[], object]]


def stopline_commands(textual_app: App[object]) -> list[Command]:
    """(name, help, callback) for what can be done from the screen under the palette: the
    screen's own (its ``palette_commands``), then the console's."""
    from tui.host import host

    app: ConsoleHost = host(textual_app)
    commands: list[Command] = []
    top = next(
        (s for s in reversed(textual_app.screen_stack) if not isinstance(s, CommandPalette)), None
    )
    own = getattr(top, "palette_commands", None)
    if callable(own):
        commands.extend(own())
    if app.service is not None:
        commands.append(
            ("History", "The journal of cancel attempts, newest first  (h)", app.open_history)
        )
        if not app.read_only:
            commands.append(
                ("Batch cancel", "Cancel many orders at once: paste or load  (b)", app.open_batch)
            )
    commands.append(("Keys", "Show the keys valid right now  (?)", app.action_help))
    commands.append(
        (
            "Timings",
            "Show or hide look-up durations in the status strip",
            app.action_toggle_timings,
        )
    )
    for name in sorted(textual_app.available_themes):
        commands.append((f"Theme: {name}", "Switch to this theme", partial(app.set_theme, name)))
    commands.append(("Quit", "Leave Stopline  (q)", app.action_quit))
    return commands


class StoplineCommands(Provider):
    def _commands(self) -> list[Command]:
        return stopline_commands(self.app)

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
