"""The Textual app: screens wired, global keys, themes, keymap, read-only, service lifetime.

Build it with a runtime factory (the program: settings, sandbox and service are opened in a
thread after the first frame) or with a ready :class:`StoplineService` (tests, scripts).
The app owns the service and closes it, and the runtime, when it unmounts.

One idea, kept whole: the console's host — the one object every screen asks
(:class:`tui.host.ConsoleHost`) for the service, the providers' state, read-only and the
work in flight; its parts are the host's answers, and split they would each need the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType

from tui import messages as msg
from tui import startup_collection
from tui.core.console_state import remember_theme, remembered_theme
from tui.screens.lookup import LookupScreen
from tui.themes import DEFAULT_THEME, load_themes
from tui.widgets.status_strip import ProviderInfo

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.screen import Screen

    from tui.core.domain import CancelRequest, Order
    from tui.core.journal import Attempt
    from tui.core.service import StoplineService
    from tui.host import CancelContext
    from tui.runtime import Runtime

log = logging.getLogger("stopline.console")

FLOOR_FLUSH_S = 0.2
"""How long others' attempts are gathered before the screens hear of them."""
LOOKUP_DEPTH = 2
"""Screens up to and including the lookup screen (Textual's default screen is below it)."""


def _palette_provider() -> type[Provider]:
    from tui.palette import StoplineCommands

    return StoplineCommands


def _batch_screen() -> Screen[None]:
    # Installed (one instance for the app's life), so a running batch keeps going while the
    # operator looks elsewhere, and ``b`` comes back to it. Imported on first use.
    from tui.screens.batch import BatchScreen

    return BatchScreen()


class StoplineApp(App[None], inherit_bindings=False):
    TITLE = "Stopline"
    # NO_COLOR: no colour reaches the terminal (see _no_colour_at_all), so whatever colour
    # alone marked — a cursor, a selection — is shown in reverse instead.
    CSS = """
    Input:nocolor > .input--cursor { text-style: reverse; }
    Input:nocolor > .input--selection { text-style: reverse; }
    DataTable:nocolor:focus > .datatable--cursor { text-style: reverse bold; }
    DataTable:nocolor > .datatable--header { text-style: bold underline; }
    """
    COMMANDS = App.COMMANDS | {_palette_provider}
    SCREENS: ClassVar[dict[str, Callable[[], Screen[object]]]] = {"batch": _batch_screen}
    # Textual's own ctrl+q is replaced by ours (inherit_bindings=False): the footer shows one
    # key per action, the first live one in this order — q, or ctrl+q while a field has
    # focus and q types a q.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "question_mark",
            "help",
            "Keys",
            id="stopline.help",
            tooltip="Show the keys valid right now",
        ),
        Binding(
            "f1",
            "help",
            "Keys",
            id="stopline.help_f1",
            tooltip="Show the keys valid right now (also inside text fields)",
        ),
        Binding("q", "quit", "Quit", id="stopline.quit", tooltip="Leave Stopline"),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            priority=True,
            id="stopline.quit_anywhere",
            tooltip="Leave Stopline (also inside text fields)",
        ),
        Binding("ctrl+c", "help_quit", show=False, system=True),
        Binding(
            "ctrl+p",
            "command_palette",
            "Palette",
            show=False,
            priority=True,
            id="stopline.palette",
            tooltip="Open the command palette",
        ),
        Binding(
            "colon",
            "command_palette",
            "Palette",
            show=False,
            id="stopline.palette_colon",
            tooltip="Open the command palette",
        ),
    ]

    def __init__(
        self,
        runtime_factory: Callable[[], Runtime] | None = None,
        *,
        service: StoplineService | None = None,
        demo: bool = False,
        read_only: bool = False,
        show_timings: bool = True,
        theme: str | None = None,
    ) -> None:
        if (runtime_factory is None) == (service is None):
            raise ValueError("give either a runtime factory or a service")
        super().__init__()
        self.runtime_factory = runtime_factory
        self.runtime: Runtime | None = None
        self.service: StoplineService | None = None
        self._given_service = service
        self.demo = demo
        self._read_only_flag = read_only
        self.show_timings = show_timings
        self.problems: list[str] = []
        self.config_problem = False
        self._closing = False
        self._floor: asyncio.Task[None] | None = None
        self._theme_override = theme
        self._work: dict[str, Callable[[], str]] = {}
        """Work in flight that quitting would drop: key → what it is, in words."""
        self._asking_to_quit = False
        if self.no_color:
            self._no_colour_at_all()
        loaded = load_themes()
        for item in loaded.themes:
            self.register_theme(item)
        self.theme_problems = loaded.problems
        self._remember_themes = False
        """Set once the console is up: from then on a theme chosen is remembered."""
        self.remembered_theme = remembered_theme()
        first = theme or self.remembered_theme
        self.theme = first if first in self.available_themes else DEFAULT_THEME

    def _no_colour_at_all(self) -> None:
        """``NO_COLOR``: Textual turns colours into greys unless the theme is ANSI; here no
        colour at all is emitted, greys included (selection shows in reverse, see CSS)."""
        from textual.filter import Monochrome, NoColor

        self._filters = [f for f in self._filters if not isinstance(f, Monochrome | NoColor)]
        self._filters.append(NoColor())

    # -- state the screens read --------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Read-only everywhere: the flag, or settings ``read_only``."""
        if self._read_only_flag:
            return True
        return bool(self.service is not None and self.service.settings.read_only)

    def provider_read_only(self, key: str) -> bool:
        if self.read_only:
            return True
        return bool(self.service is not None and self.service.read_only(key))

    @property
    def connection_state(self) -> str:
        if self.service is not None:
            count = len(self.service.providers)
            return f"{count} provider{'s' if count != 1 else ''}"
        if self.problems:
            return "not started"
        return "connecting…"

    def provider_infos(self) -> list[ProviderInfo]:
        if self.service is None:
            return []
        from tui.core.providers import registry

        sections = self.service.settings.providers()
        infos = []
        for key in registry.provider_keys():
            provider = self.service.providers.get(key)
            if provider is None:
                continue
            infos.append(
                ProviderInfo(
                    key=key,
                    label=provider.label,
                    environment=sections[key].resolved_environment(),
                    # Marked per provider only; read-only everywhere is in the header.
                    read_only=self.provider_read_only(key) and not self.read_only,
                    breaker=provider.breaker,
                )
            )
        return infos

    def provider_info(self, key: str) -> ProviderInfo | None:
        return next((info for info in self.provider_infos() if info.key == key), None)

    def is_async(self, request: CancelRequest) -> bool:
        if self.service is None or request.provider not in self.service.providers:
            return False
        return bool(self.service.providers[request.provider].cancel_is_async)

    def cancel_context(self, order: Order) -> CancelContext:
        from tui.host import CancelContext

        assert self.service is not None
        provider = self.service.provider(order.provider)
        info = self.provider_info(order.provider)
        return CancelContext(
            label=provider.label,
            environment=info.environment if info else "other",
            supports_item_cancel=provider.supports_item_cancel,
            is_async=provider.cancel_is_async,
            reasons=provider.reasons,
        )

    # -- life cycle --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_chosen)
        self.push_screen(LookupScreen())
        if self._given_service is not None:
            self._use_service(self._given_service, None)
        else:
            # Open settings, sandbox and service after the first frame is on screen.
            self.call_after_refresh(self.open_runtime)
        for problem in self.theme_problems:
            self.notify(problem, title="theme skipped", severity="warning", markup=False)

    @work(thread=True, exclusive=True, group="runtime", exit_on_error=False)
    def open_runtime(self) -> None:
        try:
            self._open_runtime()
        finally:
            # Ready, or it cannot be: collect garbage as usual from now on.
            startup_collection.resume()

    def _open_runtime(self) -> None:
        from tui.core.settings import ConfigError

        assert self.runtime_factory is not None
        try:
            runtime = self.runtime_factory()
        except ConfigError as exc:
            self.post_message(msg.RuntimeFailed(list(exc.problems), config=True))
            return
        except Exception as exc:
            log.exception("could not open the runtime")
            self.post_message(msg.RuntimeFailed([f"{type(exc).__name__}: {exc}"], config=False))
            return
        try:
            service = runtime.open_service()
        except Exception as exc:
            log.exception("could not open the service")
            runtime.close()
            self.post_message(msg.RuntimeFailed([f"{type(exc).__name__}: {exc}"], config=False))
            return
        if self._closing:
            runtime.close()
            return
        self.post_message(msg.RuntimeReady(service, runtime))
        # Ready: what the first look-up does not need comes after (the deferred sandbox).
        try:
            runtime.after_ready()
        except Exception:
            log.exception("the demo sandbox could not start")

    def on_runtime_ready(self, message: msg.RuntimeReady) -> None:
        if self._closing:
            return
        self.runtime = message.runtime
        if message.runtime is not None:
            self.demo = self.demo or message.runtime.demo
        self._use_service(message.service, message.runtime)

    def _use_service(self, service: StoplineService, runtime: Runtime | None) -> None:
        self.service = service
        settings = service.settings
        if settings.keymap:
            self.set_keymap(dict(settings.keymap))
        wanted = self._theme_override or self._wanted_theme(settings.theme)
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self.notify(
                f"unknown theme {wanted!r}; using {self.theme}", severity="warning", markup=False
            )
        self._remember_themes = True
        self._tell_screens(msg.ConsoleChanged(service_ready=True))
        if self._floor is None:
            # Not a worker: it lives as long as the app, and waiting for "all work to finish"
            # (tests, the screenshots) must not wait for it. Cancelled when the app unmounts.
            self._floor = asyncio.create_task(self.watch_floor(), name="stopline-floor")

    async def watch_floor(self) -> None:
        """Others' attempts as they are written (and this console's), gathered for a moment
        and told to every screen: the lookup screen's floor line and notes, the history."""
        service = self.service
        if service is None:
            return
        pending: list[Attempt] = []
        flushing: asyncio.Task[None] | None = None

        async def flush_soon() -> None:
            await asyncio.sleep(FLOOR_FLUSH_S)
            batch, pending[:] = list(pending), []
            self._tell_screens(msg.AttemptsWritten(batch))

        try:
            async for attempt in service.watch_attempts():
                pending.append(attempt)
                if flushing is None or flushing.done():
                    flushing = asyncio.create_task(flush_soon())
        except Exception:
            # The floor is a view: losing it must not take the console down.
            log.exception("watching the journal stopped")
        finally:
            if flushing is not None:
                flushing.cancel()

    def _wanted_theme(self, configured: str) -> str:
        """``STOPLINE_THEME`` for this session wins; then the theme last chosen in the
        console; then the configured one."""
        import os

        if os.environ.get("STOPLINE_THEME", "").strip():
            return configured
        if self.remembered_theme in self.available_themes:
            return self.remembered_theme
        return configured

    def _theme_chosen(self, theme: object) -> None:
        """A theme chosen in the console (palette, Textual's picker) is the next start's."""
        if self._remember_themes and not self._closing:
            self.remembered_theme = self.theme
            remember_theme(self.theme)

    def on_runtime_failed(self, message: msg.RuntimeFailed) -> None:
        self.problems = message.problems
        self.config_problem = message.config
        self._tell_screens(msg.ConsoleChanged())

    def _tell_screens(self, message: msg.ConsoleChanged | msg.AttemptsWritten) -> None:
        """The app talks to screens by message only (they reach it through ``tui.host``)."""
        for screen in self.screen_stack:
            if isinstance(message, msg.ConsoleChanged):
                screen.post_message(message.copy_for_screen())
            else:
                screen.post_message(msg.AttemptsWritten(message.attempts))

    async def on_unmount(self) -> None:
        self._closing = True
        if self._floor is not None:
            self._floor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._floor
        service, self.service = self.service, None
        if service is not None:
            try:
                await service.aclose()
            except Exception:
                log.exception("closing the service failed")
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None

    # -- actions -----------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, key_rows

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        where = getattr(screen, "HELP_TITLE", "") or type(screen).__name__.lower()
        self.push_screen(HelpScreen(key_rows(screen), where))

    def open_history(self) -> None:
        """The journal's attempts (``h`` on the lookup screen, or the palette)."""
        if self.service is None:
            self.notify("Still connecting; the history opens with the journal.", timeout=3)
            return
        from tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self._show_over_lookup(HistoryScreen())

    def open_batch(self) -> None:
        """The batch screen (``b`` on the lookup screen, or the palette); never read-only."""
        if self.read_only:
            self.notify("Read-only: batch cancelling is switched off.", severity="warning")
            return
        if self.service is None:
            self.notify("Still connecting; try again in a moment.", timeout=3)
            return
        self._show_over_lookup(self.get_screen("batch"))

    def _show_over_lookup(self, screen: Screen[object]) -> None:
        """Show ``screen`` right above the lookup screen (closing what is in between): the
        lookup screen is the first one pushed, above Textual's default screen."""
        if self.screen is screen:
            return
        while len(self.screen_stack) > LOOKUP_DEPTH:
            self.pop_screen()
        self.push_screen(screen)

    def action_toggle_timings(self) -> None:
        self.show_timings = not self.show_timings
        self._tell_screens(msg.ConsoleChanged())

    # -- work in flight ------------------------------------------------------------------------

    def hold_work(self, key: str, words: Callable[[], str]) -> None:
        """Work in flight that quitting would drop (a cancel, a batch): ``q`` asks first."""
        self._work[key] = words

    def release_work(self, key: str) -> None:
        self._work.pop(key, None)

    def work_in_flight(self) -> list[str]:
        return [words() for words in self._work.values()]

    async def action_quit(self) -> None:
        busy = self.work_in_flight()
        if busy and not self._asking_to_quit:
            self._ask_to_quit(busy)
            return
        self._quit_now()

    def _quit_now(self) -> None:
        self.exit(return_code=(2 if self.config_problem else 1) if self.problems else 0)

    def _ask_to_quit(self, busy: list[str]) -> None:
        from rich.text import Text

        from tui.screens.confirm import ConfirmScreen

        detail = Text()
        for index, words in enumerate(busy):
            if index:
                detail.append("\n")
            detail.append("• ")
            detail.append(words)
        self._asking_to_quit = True

        def answered(yes: bool | None) -> None:
            self._asking_to_quit = False
            if yes:
                self._quit_now()

        self.push_screen(
            ConfirmScreen(
                Text("Quit with work in flight?", style="bold"),
                detail=detail,
                yes="yes, quit",
                no="no, stay",
                title="Quit",
            ),
            callback=answered,
        )

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        # Ours cover keys and quit; keep Textual's theme picker and maximise.
        for command in super().get_system_commands(screen):
            if command.title not in {"Keys", "Quit", "Screenshot"}:
                yield command

    def set_theme(self, name: str) -> None:
        self.theme = name

    def get_key_display(self, binding: Binding) -> str:
        if binding.key == "question_mark":
            return "?"
        if binding.key == "colon":
            return ":"
        if binding.key == "slash":
            return "/"
        return super().get_key_display(binding)
