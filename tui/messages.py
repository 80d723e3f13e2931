"""Messages that workers post to the screens. Workers never touch widgets directly.

Each look-up carries a ``generation``: answers from a search the user has replaced are
recognised and dropped even if they were queued before the old worker was cancelled.
Confirmation progress coalesces (``can_replace``), so a burst of polls renders once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tui.core.domain import CancelOutcome, CancelRequest, LookupResult
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


class CancelSent(Message):
    """A confirmed request is on its way to the provider."""

    def __init__(self, request: CancelRequest) -> None:
        super().__init__()
        self.request = request


class CancelAnswered(Message):
    def __init__(self, request: CancelRequest, outcome: CancelOutcome) -> None:
        super().__init__()
        self.request = request
        self.outcome = outcome


class CancelFailed(Message):
    """The cancel could not be sent (or broke before an outcome existed)."""

    def __init__(self, request: CancelRequest, error: str) -> None:
        super().__init__()
        self.request = request
        self.error = error


class ConfirmationUpdate(Message):
    """Progress of the bounded confirmation poll of an initiated (async) cancel."""

    def __init__(
        self, request: CancelRequest, outcome: CancelOutcome, polls: int, final: bool
    ) -> None:
        super().__init__()
        self.request = request
        self.outcome = outcome
        self.polls = polls
        self.final = final

    def can_replace(self, message: Message) -> bool:
        # A newer progress report replaces an older one still queued; a final one never
        # gets replaced because it is never followed by another.
        return (
            isinstance(message, ConfirmationUpdate)
            and not message.final
            and message.request == self.request
        )
