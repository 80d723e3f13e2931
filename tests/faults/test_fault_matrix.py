"""Promise 1: faults never lose or invent a result.

Every sandbox fault, for look-up, cancel and batch, over real HTTP. ``before`` faults replace the
provider's handling (nothing applied); ``after`` faults let the cancel take effect and then
misbehave, which is how a client meets an answer it cannot trust. For each: no crash, the
documented outcome, the sandbox's own state consistent with it, and the journal holding
what the operator was told. (401 and 429 mean "not processed" by definition, RFC 9110/6585,
and the client resends on them; so they are injected ``before`` only.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tui.core.batch import BatchRow, BatchRunner
from tui.core.domain import PROVIDER_KEYS, CancelRequest, LookupState, Outcome
from tui.core.errors import ProviderError
from tui.core.providers import build_provider
from tui.core.settings import Settings
from tui.core.text import clean
from tui.sandbox import control

from .conftest import OPERATOR, StackFactory
from .kit import (
    OPEN_ORDER,
    REASON,
    TOKENED,
    RequestCounter,
    applied,
    assert_consistent,
    assert_journalled,
    quick_sleep,
)

FOUND, ERROR = LookupState.FOUND, LookupState.ERROR
COMPLETE, UNKNOWN, FAIL = Outcome.COMPLETE, Outcome.UNKNOWN, Outcome.ERROR


@dataclass(frozen=True)
class Fault:
    mode: str
    when: str = "before"
    count: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        extra = "".join(f"-{v}" for v in self.options.values())
        times = "always" if self.count is None else f"x{self.count}"
        return f"{self.mode}{extra}-{self.when}-{times}"

    def add(self, url: str, provider: str, operations: list[str]) -> None:
        rule: dict[str, Any] = {
            "provider": provider,
            "mode": self.mode,
            "when": self.when,
            "operations": operations,
            **self.options,
        }
        if self.count is not None:
            rule["count"] = self.count
        control.add_fault(url, **rule)


def fault_params(cases: list[tuple[Fault, Any]]) -> list[Any]:
    return [pytest.param(fault, expected, id=fault.id) for fault, expected in cases]


# -- look-up -----------------------------------------------------------------------------------

TOKEN_DEPENDENT = "found if the provider fetches a new token, else error"

LOOKUP_CASES: list[tuple[Fault, Any]] = [
    (Fault("latency", options={"latency_ms": 50}), FOUND),
    (Fault("error", options={"status": 500}), ERROR),
    (Fault("error", options={"status": 502}), ERROR),
    (Fault("error", count=1, options={"status": 503}), FOUND),  # 502/503/504 are retried
    (Fault("timeout"), ERROR),
    (Fault("timeout", count=1), FOUND),
    (Fault("malformed_json"), ERROR),
    (Fault("html_error"), ERROR),
    (Fault("html_error", count=1), FOUND),
    (Fault("reset"), ERROR),
    (Fault("reset", count=1), FOUND),
    (Fault("unauthorized"), ERROR),
    (Fault("unauthorized", count=1), TOKEN_DEPENDENT),
    (Fault("rate_limit"), ERROR),
    (Fault("rate_limit", count=2), FOUND),
]


@pytest.mark.parametrize("provider", PROVIDER_KEYS)
@pytest.mark.parametrize(("fault", "expected"), fault_params(LOOKUP_CASES))
async def test_lookup_under_fault(
    make_stack: StackFactory, provider: str, fault: Fault, expected: Any
) -> None:
    stack = make_stack()
    fault.add(stack.url, provider, ["lookup"])
    if expected == TOKEN_DEPENDENT:
        expected = FOUND if provider in TOKENED else ERROR

    result = await stack.service.lookup_one(provider, OPEN_ORDER[provider])

    assert result.state is expected
    if expected is FOUND:
        assert result.orders[0].cancellable and not result.orders[0].cancelled
    else:
        # One clean line for the operator, never a traceback or the provider's raw bytes.
        assert result.error and result.error == clean(result.error) and "\n" not in result.error
        assert "Traceback" not in result.error
    assert not applied(stack.server, provider, OPEN_ORDER[provider])


# -- cancel ------------------------------------------------------------------------------------

# Expected outcome after the service's own reconciliation (one look-up for an unknown).
CANCEL_CASES: list[tuple[Fault, Any]] = [
    (Fault("latency", options={"latency_ms": 50}), COMPLETE),
    (Fault("latency", "after", options={"latency_ms": 50}), COMPLETE),
    (Fault("error", options={"status": 500}), UNKNOWN),
    (Fault("error", options={"status": 502}), UNKNOWN),
    (Fault("error", options={"status": 503}), UNKNOWN),
    (Fault("error", "after", options={"status": 500}), COMPLETE),
    (Fault("error", "after", options={"status": 503}), COMPLETE),
    (Fault("timeout"), UNKNOWN),
    (Fault("timeout", "after"), COMPLETE),
    (Fault("malformed_json"), UNKNOWN),
    (Fault("malformed_json", "after"), COMPLETE),
    (Fault("html_error"), UNKNOWN),
    (Fault("html_error", "after"), COMPLETE),
    (Fault("reset"), UNKNOWN),
    (Fault("reset", "after"), COMPLETE),
    (Fault("unauthorized"), FAIL),
    (Fault("unauthorized", count=1), TOKEN_DEPENDENT),
    (Fault("rate_limit"), FAIL),
    (Fault("rate_limit", count=2), COMPLETE),
]


@pytest.mark.parametrize("provider", PROVIDER_KEYS)
@pytest.mark.parametrize(("fault", "expected"), fault_params(CANCEL_CASES))
async def test_cancel_under_fault(
    make_stack: StackFactory, provider: str, fault: Fault, expected: Any
) -> None:
    stack = make_stack()
    order_id = OPEN_ORDER[provider]
    cancels = RequestCounter(stack.server, provider, ["cancel"])
    fault.add(stack.url, provider, ["cancel"])
    if expected == TOKEN_DEPENDENT:
        expected = COMPLETE if provider in TOKENED else FAIL

    outcome = await stack.service.cancel(
        CancelRequest(provider=provider, order_id=order_id, reason=REASON)
    )

    really = applied(stack.server, provider, order_id)
    assert outcome.outcome is expected, outcome
    assert_consistent(outcome, really)
    # An unknown is unknown because it may have applied: here it provably did not, and the
    # look-up said the order is still open (the warning the operator reads).
    if expected is UNKNOWN:
        assert not really
        assert any("may not have been cancelled" in w for w in outcome.warnings)
    # An error is only ever reported when the cancel provably did not apply...
    if expected is FAIL:
        assert not really and outcome.message
    # ...and an after-fault's success is only claimed once the look-up confirmed it.
    if fault.when == "after" and fault.mode != "latency":
        assert really and outcome.confirmed
        assert "confirmed by look-up after no answer" in outcome.warnings
    # A cancel is never re-sent once it may have reached the provider; a 401/429 (not
    # processed) is re-sent at most as often as the discipline allows.
    resent_allowed = fault.mode in ("unauthorized", "rate_limit")
    assert cancels.seen == 1 or (resent_allowed and 1 < cancels.seen <= 4)
    assert_journalled(stack.journal, outcome, OPERATOR)


@pytest.mark.parametrize("provider", TOKENED)
async def test_tokens_revoked_mid_session_are_fetched_again_once(
    make_stack: StackFactory, provider: str
) -> None:
    stack = make_stack()
    order_id = OPEN_ORDER[provider]
    assert (await stack.service.lookup_one(provider, order_id)).state is FOUND
    assert control.revoke_tokens(stack.url) >= 1
    tokens = stack.service.providers[provider].tokens  # type: ignore[attr-defined]
    fetched = tokens.fetch_count

    outcome = await stack.service.cancel(
        CancelRequest(provider=provider, order_id=order_id, reason=REASON)
    )

    assert outcome.outcome is COMPLETE
    assert applied(stack.server, provider, order_id)
    assert tokens.fetch_count == fetched + 1
    assert_journalled(stack.journal, outcome, OPERATOR)
    # Revoked again, and the token endpoint now refuses too: a clear auth error, nothing sent.
    control.reset(stack.url)
    control.revoke_tokens(stack.url)
    Fault("unauthorized").add(stack.url, provider, ["lookup", "cancel", "token"])
    outcome = await stack.service.cancel(
        CancelRequest(provider=provider, order_id=order_id, reason=REASON)
    )
    assert outcome.outcome is FAIL
    assert "401" in outcome.message
    assert not applied(stack.server, provider, order_id)
    assert_journalled(stack.journal, outcome, OPERATOR)


# -- batch -------------------------------------------------------------------------------------

BATCH_FAULTS = [
    Fault("error", options={"status": 503}),
    Fault("error", "after", options={"status": 500}),
    Fault("timeout"),
    Fault("timeout", "after"),
    Fault("malformed_json", "after"),
    Fault("html_error"),
    Fault("reset", "after"),
    Fault("unauthorized"),
    Fault("rate_limit"),
]


@pytest.mark.parametrize("fault", [pytest.param(f, id=f.id) for f in BATCH_FAULTS])
async def test_batch_under_fault_then_resumed_applies_each_cancel_once(
    make_stack: StackFactory, fault: Fault
) -> None:
    stack = make_stack()
    cancels = {key: RequestCounter(stack.server, key, ["cancel"]) for key in PROVIDER_KEYS}
    fault.add(stack.url, "*", ["cancel"])
    rows = [
        BatchRow(line, CancelRequest(provider=key, order_id=OPEN_ORDER[key], reason=REASON))
        for line, key in enumerate(PROVIDER_KEYS, start=1)
    ]
    runner = BatchRunner(stack.service, stack.journal, concurrency=4)

    first = await runner.run(rows)

    assert first.done == len(rows) and not first.interrupted
    applied_first = {}
    for result in first.results:
        key = result.row.request.provider
        applied_first[key] = applied(stack.server, key, result.row.request.order_id)
        assert_consistent(result.outcome, applied_first[key])
        assert_journalled(stack.journal, result.outcome, OPERATOR)
        assert result.outcome.outcome in (UNKNOWN, FAIL, COMPLETE)
    assert all(counter.seen >= 1 for counter in cancels.values())
    sent_first = {key: counter.seen for key, counter in cancels.items()}

    # The same batch again once the provider behaves: what applied is settled by a look-up
    # and not sent again; what provably did not (or was shown open) is sent once more.
    control.clear_faults(stack.url)
    cancels = {key: RequestCounter(stack.server, key, ["cancel"]) for key in PROVIDER_KEYS}
    second = await BatchRunner(stack.service, stack.journal, concurrency=4).run(rows)

    for result in second.results:
        key = result.row.request.provider
        assert applied(stack.server, key, result.row.request.order_id)
        assert result.outcome.outcome is COMPLETE, (key, result)
        assert cancels[key].seen == (0 if applied_first[key] else 1), (key, sent_first)
        assert result.skipped is applied_first[key]
    # Every attempt of both runs is in the journal, finished, under the operator's name.
    attempts = stack.journal.attempts(limit=None)
    assert attempts and all(a.operator == OPERATOR and a.state == "finished" for a in attempts)


async def test_a_failed_rx_lookup_leaves_no_request_running() -> None:
    """Rx-Universe asks two endpoints at once; when one fails, the other is not left running
    unowned (it would outlive the look-up, the console's cancellation and the soak)."""

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            await asyncio.sleep(30)  # the slow one
        raise httpx.ConnectError("refused", request=request)

    settings = Settings(rxuniverse={"base_url": "http://lab.invalid:4567"})
    provider = build_provider(
        "rxuniverse", settings, transport=httpx.MockTransport(answer), sleep=quick_sleep
    )
    try:
        with pytest.raises(ProviderError, match="cannot connect"):
            await provider.lookup("72544")
        assert asyncio.all_tasks() == {asyncio.current_task()}
    finally:
        await provider.aclose()
