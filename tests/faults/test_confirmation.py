"""Promise 1, continued: Pattern's asynchronous cancel is confirmed only by a look-up that
shows it, whatever the look-ups meet on the way; the journal follows each step.

Every cancel looks its order up before sending (the state the confirmation is compared
with), so the look-up faults here are put in force once the cancel has been answered: from
the ``Answered`` event on, as the confirmation polls begin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui.core.domain import CancelOutcome, CancelRequest, Outcome
from tui.core.lifecycle import Answered, CancelEvent, Done, Updated
from tui.sandbox import SandboxConfig, SandboxServer, control, showcase

from .conftest import OPERATOR, StackFactory
from .kit import REASON, applied, assert_consistent, assert_journalled

ORDER = showcase.PATTERN_ALL_CANCELLABLE
DELAY_S = 0.8
"""Pattern shows a cancellation this long after initiating it (real: minutes)."""


@pytest.fixture(scope="module")
def slow_pattern() -> Iterator[SandboxServer]:
    config = SandboxConfig(pattern_cancel_delay_s=DELAY_S, shoplazza_rate_per_s=None)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def slow(slow_pattern: SandboxServer) -> Iterator[SandboxServer]:
    control.reset(slow_pattern.root_url)
    control.clear_faults(slow_pattern.root_url)
    yield slow_pattern
    control.clear_faults(slow_pattern.root_url)


async def cancel_and_confirm(
    stack: Any, request: CancelRequest, on_answer: Callable[[], object] = lambda: None
) -> tuple[CancelOutcome, list[CancelOutcome], Done]:
    """Cancel and follow it until confirmed (or given up): the answer's outcome, each
    confirmation update's, and the final event. ``on_answer`` runs as the answer arrives."""
    answer: CancelOutcome | None = None
    updates: list[CancelOutcome] = []
    events: list[CancelEvent] = []
    async for event in stack.service.cancel_events(request, confirm=True):
        events.append(event)
        if isinstance(event, Answered):
            answer = event.outcome
            on_answer()
        elif isinstance(event, Updated):
            updates.append(event.outcome)
    final = events[-1]
    assert isinstance(final, Done), final
    assert answer is not None
    return answer, updates, final


LOOKUP_FAULTS = [
    {"mode": "latency", "latency_ms": 50},
    {"mode": "error", "status": 500, "count": 3},
    {"mode": "error", "status": 503, "count": 3},
    {"mode": "timeout", "count": 2},
    {"mode": "malformed_json", "count": 3},
    {"mode": "html_error", "count": 3},
    {"mode": "reset", "count": 3},
    {"mode": "unauthorized", "count": 2},
    {"mode": "rate_limit", "count": 5},
]


@pytest.mark.parametrize("fault", LOOKUP_FAULTS, ids=lambda f: f["mode"])
async def test_confirmation_survives_lookup_faults(
    make_stack: StackFactory, slow: SandboxServer, fault: dict[str, Any]
) -> None:
    stack = make_stack(slow)
    request = CancelRequest(provider="pattern", order_id=ORDER, reason=REASON)

    outcome, updates, done = await cancel_and_confirm(
        stack,
        request,
        lambda: control.add_fault(stack.url, provider="pattern", operations=["lookup"], **fault),
    )

    assert outcome.outcome is Outcome.COMPLETE and not outcome.confirmed  # initiated
    final = updates[-1]
    assert final.outcome is Outcome.COMPLETE and final.confirmed
    assert done.outcome == final
    assert applied(stack.server, "pattern", ORDER)
    for update in updates:
        assert_consistent(update, applied(stack.server, "pattern", ORDER))
    assert_journalled(stack.journal, final, OPERATOR)


@pytest.mark.parametrize("mode", ["error", "malformed_json", "timeout"])
async def test_confirmation_never_claimed_while_lookups_keep_failing(
    make_stack: StackFactory, slow: SandboxServer, mode: str
) -> None:
    stack = make_stack(slow, confirm_timeout_s=1.0)
    request = CancelRequest(provider="pattern", order_id=ORDER, reason=REASON)

    outcome, updates, _ = await cancel_and_confirm(
        stack,
        request,
        lambda: control.add_fault(stack.url, provider="pattern", mode=mode, operations=["lookup"]),
    )

    final = updates[-1]
    assert final.outcome is Outcome.COMPLETE and not final.confirmed
    assert any("not confirmed after" in w for w in final.warnings)
    attempt = stack.journal.get(outcome.attempt_id or 0)
    assert attempt is not None and not attempt.confirmed and attempt.outcome is Outcome.COMPLETE
    assert any("not confirmed after" in w for w in attempt.warnings)


# ``timeout`` after the cancel is in the matrix (test_fault_matrix): here the answer must be
# lost well within DELAY_S, so that the first re-check still sees the order pending.
@pytest.mark.parametrize("mode", ["reset", "error", "html_error", "malformed_json"])
async def test_an_unknown_cancel_becomes_complete_only_once_the_lookup_shows_it(
    make_stack: StackFactory, slow: SandboxServer, mode: str
) -> None:
    stack = make_stack(slow)
    control.add_fault(
        stack.url, provider="pattern", mode=mode, when="after", count=1, operations=["cancel"]
    )
    request = CancelRequest(provider="pattern", order_id=ORDER, reason=REASON)
    at_answer: list[Any] = []

    outcome, updates, done = await cancel_and_confirm(
        stack, request, lambda: at_answer.extend(stack.journal.attempts(limit=1))
    )

    # Sent, applied, answer lost; the immediate look-up does not show it yet (Pattern shows
    # a cancellation only once it is effective): unknown, and the order held meanwhile.
    assert outcome.outcome is Outcome.UNKNOWN
    assert any("untouched so far" in w for w in outcome.warnings)
    [answered] = at_answer
    assert answered.id == outcome.attempt_id
    assert answered.outcome is Outcome.UNKNOWN and answered.open
    assert applied(stack.server, "pattern", ORDER)
    for update in updates:
        assert_consistent(update, True)
    final = updates[-1]
    assert final.outcome is Outcome.COMPLETE and final.confirmed
    assert done.outcome == final
    assert_journalled(stack.journal, final, OPERATOR)
    attempt = stack.journal.get(outcome.attempt_id or 0)
    assert attempt is not None and attempt.outcome is Outcome.COMPLETE and attempt.confirmed
    assert not attempt.open
