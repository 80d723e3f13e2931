"""Promise 1, continued: a provider failing repeatedly is backed off by its circuit breaker,
not hammered, and the breaker's state is visible (service and console)."""

from __future__ import annotations

import pytest

from tui.core.domain import CancelRequest, LookupState, Outcome
from tui.core.lifecycle import NotSent, Why
from tui.core.providers.circuit import CircuitBreaker, CircuitState
from tui.core.providers.factory import build_provider
from tui.core.service import StoplineService
from tui.core.vocabulary import BUILTIN_PROVIDERS
from tui.sandbox import control

from .conftest import StackFactory
from .kit import (
    OPEN_ORDER,
    REASON,
    RequestCounter,
    applied,
    look_up,
    quick_sleep,
    screen_text,
)

LOOKUPS = 20
THRESHOLD = CircuitBreaker().threshold


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
@pytest.mark.parametrize("mode", ["error", "timeout"])
async def test_a_failing_provider_is_backed_off_not_hammered(
    make_stack: StackFactory, provider: str, mode: str
) -> None:
    stack = make_stack()
    seen = RequestCounter(stack.server, provider)
    control.add_fault(stack.url, provider=provider, mode=mode, operations=["lookup", "cancel"])
    breaker = stack.service.providers[provider].breaker

    results = [
        await stack.service.lookup_one(provider, OPEN_ORDER[provider]) for _ in range(LOOKUPS)
    ]

    assert all(r.state is LookupState.ERROR for r in results)
    assert breaker.state is CircuitState.OPEN
    assert "paused after repeated failures" in (results[-1].error or "")
    # Unbounded, 20 look-ups with 3 attempts each would be 60 calls (120 for Rx-Universe,
    # which asks two endpoints at once); the breaker stops them at its threshold (a token
    # request or the second of a concurrent pair may slip in before it opens).
    assert seen.seen <= THRESHOLD + 2

    # A cancel while the circuit is open is stopped at its look-up, before anything is
    # sent: provably not applied, so an error; its claim is withdrawn, holding nothing.
    before = seen.seen
    final = await stack.service.cancel(
        CancelRequest(provider=provider, order_id=OPEN_ORDER[provider], reason=REASON)
    )
    assert isinstance(final, NotSent) and final.why is Why.LOOKUP_FAILED
    assert final.outcome is not None and final.outcome.outcome is Outcome.ERROR
    assert "paused" in final.outcome.message
    assert final.message.startswith("not sent")
    assert seen.seen == before
    assert not applied(stack.server, provider, OPEN_ORDER[provider])
    assert stack.journal.attempts(limit=None) == []
    assert stack.journal.open_attempt(provider, OPEN_ORDER[provider]) is None


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_the_breaker_lets_one_trial_through_after_cooling_down_and_closes(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown_s=20.0, clock=clock)
    provider = build_provider("shoplazza", stack.settings, breaker=breaker, sleep=quick_sleep)
    service = StoplineService(stack.settings, {"shoplazza": provider}, sleep=quick_sleep)
    try:
        control.add_fault(stack.url, provider="shoplazza", mode="error", status=502)
        order = OPEN_ORDER["shoplazza"]
        await service.lookup_one("shoplazza", order)
        assert breaker.state is CircuitState.OPEN
        control.clear_faults(stack.url)
        seen = RequestCounter(stack.server, "shoplazza")
        assert (await service.lookup_one("shoplazza", order)).state is LookupState.ERROR
        assert seen.seen == 0  # still cooling down: nothing sent

        clock.now += 20.0
        assert breaker.state is CircuitState.HALF_OPEN
        result = await service.lookup_one("shoplazza", order)
        assert result.state is LookupState.FOUND
        assert breaker.state is CircuitState.CLOSED
        assert seen.seen == 1
    finally:
        await service.aclose()


async def test_console_shows_the_breaker_state(make_stack: StackFactory) -> None:
    stack = make_stack()
    control.add_fault(stack.url, provider="shoplazza", mode="error", status=503)
    app = stack.console()
    async with app.run_test(size=(120, 30)) as pilot:
        assert "breaker" not in screen_text(app)
        for _ in range(3):  # 3 attempts per look-up: the 5th failure opens the circuit
            await look_up(pilot, OPEN_ORDER["shoplazza"])
        assert stack.service.providers["shoplazza"].breaker.state is CircuitState.OPEN
        text = screen_text(app)
        assert "breaker open" in text
        assert "paused after repeated failures" in text
