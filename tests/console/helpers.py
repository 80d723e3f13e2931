"""Keystroke helpers, plain-text views of what the console shows, the sandbox's count of
cancel requests, and journal attempts as other Stopline processes leave them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any, TypeVar

import psutil
from rich.console import Console, RenderableType
from textual.message import Message
from textual.pilot import Pilot

from tui import messages as msg
from tui.app import StoplineApp
from tui.core.domain import CancelOutcome, CancelRequest, Line, Order
from tui.core.holders import host_name
from tui.core.journal import Attempt, Holder, SqliteStore
from tui.core.lifecycle import CancelEvent
from tui.sandbox import control
from tui.screens.lookup import LookupScreen

E = TypeVar("E", bound=CancelEvent)


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
    screen = next((s for s in app.screen_stack if isinstance(s, LookupScreen)), None)
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


def final_outcome(screen: LookupScreen) -> CancelOutcome:
    """The outcome of the latest cancel, which must have been sent (``Done``)."""
    from tui.core.lifecycle import Done

    final = screen.last_final
    assert isinstance(final, Done), f"the latest cancel was not sent: {final!r}"
    return final.outcome


def cancel_calls(root_url: str) -> int:
    """How many cancel requests the sandbox has received (since the test's reset)."""
    return len(control.calls(root_url, "cancel"))


# -- attempts as another Stopline process leaves them in the journal ----------------------------

FAR_LEASE = datetime(2099, 1, 1, tzinfo=UTC)


def holder_of(pid: int, operator: str) -> Holder:
    """A holder on this host: process ``pid`` (its real start time, so it is recognised)."""
    return Holder(
        operator=operator,
        host=host_name(),
        pid=pid,
        pid_started=psutil.Process(pid).create_time(),
    )


def dead_holder(operator: str) -> Holder:
    """A holder on this host whose process has ended (as after ``kill -9``)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    holder = holder_of(proc.pid, operator)
    proc.wait(timeout=30)
    return holder


def order_before(request: CancelRequest, status: str = "placed") -> Order:
    """The order as a look-up showed it just before an attempt was sent."""
    return Order(
        provider=request.provider,
        order_id=request.order_id,
        status=status,
        lines=(Line(id="L1", quantity=1, status=status, cancellable=True),),
    )


def never_take_over(attempt: Attempt) -> bool:
    return False


def claim(store: SqliteStore, request: CancelRequest, holder: Holder) -> int:
    """Take the claim on the request's order as ``holder`` (state ``claimed``)."""
    got = store.claim(request, holder, lease_until=FAR_LEASE, take_over=never_take_over)
    assert got.attempt_id is not None, f"the order is held by {got.holder!r}"
    return got.attempt_id


def sent_attempt(
    store: SqliteStore,
    request: CancelRequest,
    holder: Holder,
    *,
    lease_until: datetime,
    before: Order | None = None,
) -> int:
    """Claimed and written ahead (state ``sent``) with ``before`` (default: a made-up open
    order) as the look-up's snapshot: the request left, no answer recorded."""
    attempt_id = claim(store, request, holder)
    store.mark_sent(attempt_id, before or order_before(request), lease_until=lease_until)
    return attempt_id


def finished_attempt(
    store: SqliteStore, request: CancelRequest, holder: Holder, outcome: CancelOutcome
) -> int:
    """Claimed, written ahead and answered with ``outcome``."""
    attempt_id = sent_attempt(store, request, holder, lease_until=FAR_LEASE)
    store.finish(attempt_id, outcome, 12.4)
    return attempt_id


def fault_once_written_ahead(app: StoplineApp, root_url: str, **fault: Any) -> None:
    """Put a sandbox fault in force the moment the app's next cancel is written ahead: after
    the look-up the lifecycle makes before sending, before the request leaves."""
    service = app.service
    assert service is not None
    journal = service.lifecycle.journal
    real = journal.mark_sent

    async def mark_sent(*args: Any, **kwargs: Any) -> None:
        await real(*args, **kwargs)
        journal.mark_sent = real  # type: ignore[method-assign]
        control.add_fault(root_url, **fault)

    journal.mark_sent = mark_sent  # type: ignore[method-assign]


class Recorder:
    """A ``run_test(message_hook=...)``: keeps every message once (a bubbling message is
    dispatched more than once)."""

    def __init__(self) -> None:
        self.seen: list[Message] = []
        self._ids: set[int] = set()

    def __call__(self, message: Message) -> None:
        if id(message) in self._ids:
            return
        self._ids.add(id(message))
        self.seen.append(message)

    def events(self, kind: type[E]) -> list[E]:
        """The cancel lifecycle's events of one kind, in order."""
        return [
            m.event
            for m in self.seen
            if isinstance(m, msg.CancelProgress) and isinstance(m.event, kind)
        ]
