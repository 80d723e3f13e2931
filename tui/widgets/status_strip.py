"""The per-provider status strip: environment, circuit breaker and the current look-up state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.core.vocabulary import ENVIRONMENT_TONE, LookupState, Tone
from tui.themes import tones
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import LookupResult


@dataclass(frozen=True)
class ProviderInfo:
    """What the console shows about one configured provider."""

    key: str
    label: str
    environment: str
    read_only: bool
    breaker: Any = None
    """The provider's circuit breaker (``.state``), read at each render."""

    def breaker_state(self) -> str:
        state = getattr(self.breaker, "state", None)
        return str(state) if state is not None else "closed"


class ProviderStrip(Static):
    """One column per provider: label and environment, then waiting / found / … with ms."""

    DEFAULT_CSS = """
    ProviderStrip { height: auto; padding: 0 1; }
    """

    def __init__(self, *, show_timings: bool = True, id: str | None = None) -> None:
        super().__init__(Text("connecting…", style="dim"), id=id)
        self.show_timings = show_timings
        self.providers: list[ProviderInfo] = []
        self.results: dict[str, LookupResult] = {}
        self.waiting: set[str] = set()
        self.note: Text | None = None

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())

    def set_providers(self, providers: list[ProviderInfo]) -> None:
        self.providers = providers
        self.redraw()

    def start(self, keys: list[str]) -> None:
        self.results.clear()
        self.waiting = set(keys)
        self.note = None
        self.redraw()

    def answer(self, result: LookupResult) -> None:
        self.waiting.discard(result.provider)
        self.results[result.provider] = result
        self.redraw()

    def stop_waiting(self) -> None:
        self.waiting.clear()
        self.redraw()

    def set_note(self, note: Text | None) -> None:
        self.note = note
        self.redraw()

    @property
    def errors(self) -> list[LookupResult]:
        return [r for r in self.results.values() if r.state is LookupState.ERROR]

    def _state(self, key: str, tone: dict[str, str]) -> Text:
        result = self.results.get(key)
        if result is None:
            if key in self.waiting:
                return Text(LookupState.WAITING.mark, style=tone["muted"])
            return Text("idle", style=tone["muted"])
        state = result.state
        style = tone[state.tone] if state.tone is not None else ""
        if state is LookupState.ERROR:
            style = f"bold {style}"
        text = Text(state.mark, style=style)
        if self.show_timings and state in (
            LookupState.FOUND,
            LookupState.NOT_FOUND,
            LookupState.ERROR,
        ):
            text.append(f" {result.elapsed_ms:.0f} ms", style=tone["muted"])
        return text

    def render_strip(self) -> RenderableType:
        tone = tones(self.app.current_theme if self.is_attached else None)
        if not self.providers:
            return self.note or Text("connecting…", style=tone["muted"])
        grid = Table.grid(expand=True, padding=(0, 1))
        for _ in self.providers:
            grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        heads: list[Text] = []
        states: list[Text] = []
        for info in self.providers:
            head = Text(info.label, style="bold")
            env = info.environment
            head.append(" ")
            head.append(env.upper(), style=f"reverse {tone[ENVIRONMENT_TONE.get(env, Tone.WARN)]}")
            heads.append(head)
            state = self._state(info.key, tone)
            breaker = info.breaker_state()
            if breaker != "closed":
                state = Text.assemble(
                    state, Text(f" breaker {breaker}", style=f"bold {tone['bad']}")
                )
            if info.read_only:
                state.append(" ro", style=tone["muted"])
            states.append(state)
        grid.add_row(*heads)
        grid.add_row(*states)
        parts: list[RenderableType] = [grid]
        for result in self.results.values():
            if result.state is LookupState.SKIPPED and result.why_skipped:
                label = next((p.label for p in self.providers if p.key == result.provider), "")
                parts.append(
                    Text.assemble(
                        Text(f"{label or result.provider} skipped: ", style=tone["muted"]),
                        t(result.why_skipped, tone["muted"], max_chars=200),
                    )
                )
        for result in sorted(self.errors, key=lambda r: r.provider):
            label = next((p.label for p in self.providers if p.key == result.provider), "")
            parts.append(
                Text.assemble(
                    Text(f"{label or result.provider}: ", style=f"bold {tone['bad']}"),
                    t(result.error or "error", max_chars=300),
                    Text("  (r retries)", style=tone["muted"]),
                )
            )
        if self.note is not None:
            parts.append(self.note)
        return Group(*parts)

    def redraw(self) -> None:
        self.update(self.render_strip())
