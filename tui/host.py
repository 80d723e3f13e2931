"""What the screens may ask of the console they run in — and nothing more.

Screens reach the app only through this protocol (``host(screen)``), never by importing the
app; the app reaches screens only through messages (:mod:`tui.messages`). So the app is on
top and the screens below it, with no import cycle between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

from tui.core.providers.registry import ReasonRules

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tui.core.domain import CancelRequest, Order
    from tui.core.service import StoplineService
    from tui.widgets.status_strip import ProviderInfo


GENERIC_REASONS: tuple[str, ...] = (
    "Customer request",
    "Inventory / stock-out",
    "Fraud",
    "Duplicate order",
    "Damaged",
    "Other",
)


@dataclass(frozen=True)
class CancelContext:
    """What the dialog needs to know about the provider holding the order."""

    label: str
    environment: str
    supports_item_cancel: bool = False
    is_async: bool = False
    reasons: ReasonRules = field(default_factory=ReasonRules)
    """How the provider takes reasons (its registered rules): free text, or its codes."""
    journal_note: str = ""
    """What the floor has done with this order already ("cancelled 2 min ago by ana")."""

    def presets(self) -> list[tuple[str, str | None]]:
        """(reason text, reason code) in the order ``up``/``down`` step through them."""
        if self.reasons.codes:
            return [(desc, code) for code, desc in self.reasons.codes.items()]
        return [(reason, None) for reason in GENERIC_REASONS]

    def code_for(self, reason: str) -> str | None:
        return self.reasons.code_for(reason)


class ConsoleHost(Protocol):
    service: StoplineService | None
    """The service, once settings, sandbox and journal are open."""
    demo: bool
    problems: list[str]
    """Why the console could not start (shown as they are)."""
    show_timings: bool

    @property
    def read_only(self) -> bool: ...

    @property
    def connection_state(self) -> str: ...

    def provider_read_only(self, key: str) -> bool: ...

    def provider_info(self, key: str) -> ProviderInfo | None: ...

    def provider_infos(self) -> list[ProviderInfo]: ...

    def is_async(self, request: CancelRequest) -> bool: ...

    def cancel_context(self, order: Order) -> CancelContext: ...

    def open_history(self) -> None: ...

    def open_batch(self) -> None: ...

    def action_help(self) -> None: ...

    def hold_work(self, key: str, words: Callable[[], str]) -> None:
        """Work in flight under ``key`` that quitting would drop: ``q`` asks first, saying
        ``words()``."""

    def release_work(self, key: str) -> None: ...

    def action_quit(self) -> object: ...

    def action_toggle_timings(self) -> None: ...

    def set_theme(self, name: str) -> None: ...


def host(node: DOMNode) -> ConsoleHost:
    """The console ``node`` runs in."""
    return cast("ConsoleHost", node.app)
