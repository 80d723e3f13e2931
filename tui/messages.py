"""Messages that workers post to the screens. Workers never touch widgets directly.

Each look-up carries a ``generation``: answers from a search the user has replaced are
recognised and dropped even if they were queued before the old worker was cancelled.
Confirmation progress coalesces (``can_replace``), so a burst of polls renders once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from pathlib import Path

    from tui.core.domain import CancelRequest, LookupResult
    from tui.core.journal import Attempt
    from tui.core.lifecycle import CancelEvent, Reconciled
    from tui.core.service import StoplineService
    from tui.runtime import Runtime


class RuntimeReady(Message):
    """Settings loaded, sandbox (if any) started, service built."""

    def __init__(self, service: StoplineService, runtime: Runtime | None) -> None:
        super().__init__()
        self.service = service
        self.runtime = runtime


class RuntimeFailed(Message):
    """The runtime could not be opened; ``problems`` are shown to the user as they are."""

    def __init__(self, problems: list[str], *, config: bool) -> None:
        super().__init__()
        self.problems = problems
        self.config = config


class ConsoleChanged(Message):
    """The console's state changed (the service is ready, it failed to start, timings were
    toggled): screens redraw what they show of it. The app posts one to each screen."""

    def __init__(self, *, service_ready: bool = False) -> None:
        super().__init__()
        self.service_ready = service_ready

    def copy_for_screen(self) -> ConsoleChanged:
        return ConsoleChanged(service_ready=self.service_ready)


class AttemptsWritten(Message):
    """Attempts someone on the floor wrote (this console included), gathered for a moment
    so a busy floor redraws a few times a second, not once per attempt."""

    def __init__(self, attempts: list[Attempt]) -> None:
        super().__init__()
        self.attempts = attempts


class FloorNotes(Message):
    """The latest attempt on each order a look-up found (key ``provider:order_id``)."""

    def __init__(self, generation: int, latest: dict[str, Attempt]) -> None:
        super().__init__()
        self.generation = generation
        self.latest = latest


class LookupStarted(Message):
    def __init__(self, generation: int, identifier: str, providers: list[str]) -> None:
        super().__init__()
        self.generation = generation
        self.identifier = identifier
        self.providers = providers


class LookupAnswered(Message):
    """One provider's answer to the look-up of ``generation``."""

    def __init__(self, generation: int, result: LookupResult) -> None:
        super().__init__()
        self.generation = generation
        self.result = result


class LookupFailed(Message):
    """The look-up could not start (bad identifier, no provider) or broke."""

    def __init__(self, generation: int, error: str) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class LookupFinished(Message):
    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class CancelProgress(Message):
    """One event of a cancel's lifecycle (:mod:`tui.core.lifecycle`): sending, answered,
    a confirmation update, done, or not sent. A queued confirmation update is replaced by a
    newer one for the same request, so a burst of polls renders once."""

    def __init__(self, event: CancelEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        from tui.core.lifecycle import Updated

        return (
            isinstance(message, CancelProgress)
            and isinstance(message.event, Updated)
            and isinstance(self.event, Updated)
            and message.event.request == self.event.request
        )


class CancelFailed(Message):
    """The cancel could not run: refused before sending (``InvalidInput``), or broke."""

    def __init__(self, request: CancelRequest, error: str) -> None:
        super().__init__()
        self.request = request
        self.error = error


class CancelRechecked(Message):
    """``r`` on an unknown or unconfirmed cancel: what reconciling its attempt found (or why
    the look-up could not run)."""

    def __init__(
        self, request: CancelRequest, result: Reconciled | None, error: str | None = None
    ) -> None:
        super().__init__()
        self.request = request
        self.result = result
        self.error = error


# -- history -----------------------------------------------------------------------------------


class HistoryLoaded(Message):
    """A page of the journal's attempts, newest first, with whether each is in flight; or
    why they could not be read. The first page replaces what the screen shows, the others
    add to it; ``complete`` when no page follows."""

    def __init__(
        self,
        attempts: list[Attempt],
        in_flight: list[bool],
        error: str | None = None,
        *,
        first: bool = True,
        complete: bool = True,
    ) -> None:
        super().__init__()
        self.attempts = attempts
        self.in_flight = in_flight
        self.error = error
        self.first = first
        self.complete = complete


class AttemptRechecked(Message):
    """A re-check of attempt ``attempt_id`` ended: ``attempt`` is the journal's row after it
    (None if it could not be read back); ``note`` says what the look-up showed."""

    def __init__(
        self, attempt_id: int, attempt: Attempt | None, note: str, *, settled: bool, failed: bool
    ) -> None:
        super().__init__()
        self.attempt_id = attempt_id
        self.attempt = attempt
        self.note = note
        self.settled = settled
        self.failed = failed


# -- batch -------------------------------------------------------------------------------------


class BatchFileRead(Message):
    """A batch file was read (in a thread): its text, or why it could not be."""

    def __init__(self, path: Path, text: str | None, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.text = text
        self.error = error


class BatchPreviewed(Message):
    """The pasted or loaded rows parsed, checked and compared with the journal."""

    def __init__(self, generation: int, preview: object | None, error: str | None) -> None:
        super().__init__()
        self.generation = generation
        self.preview = preview
        self.error = error


class BatchProgress(Message):
    """Results of run ``run_id`` have arrived (the screen reads them from the run's summary).

    Posted at most every ~100 ms, and a queued one is replaced by a newer one, so a run of
    thousands of orders updates the screen a few times a second, never once per order.
    """

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchProgress) and message.run_id == self.run_id


class BatchDone(Message):
    """Run ``run_id`` ended: finished, stopped by the user, or broken (``error``)."""

    def __init__(self, run_id: int, *, stopped: bool, error: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.stopped = stopped
        self.error = error


class ExportWritten(Message):
    """Batch results written as CSV to ``path`` (or why not)."""

    def __init__(self, path: Path, rows: int, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.rows = rows
        self.error = error
