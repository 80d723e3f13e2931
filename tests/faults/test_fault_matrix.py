"""Promise 1: faults never lose or invent a result.

Every sandbox fault, for look-up, cancel and batch, over real HTTP. ``before`` faults replace the
provider's handling (nothing applied); ``after`` faults let the cancel take effect and then
misbehave, which is how a client meets an answer it cannot trust. For each: no crash, the
documented outcome, the sandbox's own state consistent with it, and the journal holding
what the operator was told. (401 and 429 mean "not processed" by definition, RFC 9110/6585,
and the client resends on them; so they are injected ``before`` only.)

Every cancel looks its order up first (what it records before sending): a fault on that
look-up means nothing is sent at all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tui.core.batch import HELD, BatchRow, BatchRunner, BatchSummary
from tui.core.domain import CancelOutcome, CancelRequest, LookupState, Outcome
from tui.core.errors import ProviderError
from tui.core.journal.model import utcnow
from tui.core.lifecycle import SEND_BUDGET_TIMEOUTS, Done, NotSent, Why
from tui.core.providers.factory import build_provider
from tui.core.settings import Settings
from tui.core.text import clean
from tui.core.vocabulary import BUILTIN_PROVIDERS
from tui.sandbox import control, showcase

from .conftest import OPERATOR, StackFactory
from .kit import (
    OPEN_ORDER,
    REASON,
    TIMEOUT_S,
    TOKENED,
    RequestCounter,
    applied,
    assert_consistent,
    assert_journalled,
    quick_sleep,
)

FOUND, ERROR = LookupState.FOUND, LookupState.ERROR
SECOND_ORDER = {"pattern": showcase.PATTERN_PARTIAL, "ordermesh": showcase.ORDERMESH_SHIPPED}
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


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
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


LOOKUP_FAILS = [f for f, expected in LOOKUP_CASES if expected is ERROR]


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
@pytest.mark.parametrize("fault", [pytest.param(f, id=f.id) for f in LOOKUP_FAILS])
async def test_a_cancel_whose_lookup_fails_is_not_sent(
    make_stack: StackFactory, provider: str, fault: Fault
) -> None:
    """The order's state must be recorded before a cancel leaves: no look-up, no cancel."""
    stack = make_stack()
    cancels = RequestCounter(stack.server, provider, ["cancel"])
    fault.add(stack.url, provider, ["lookup"])

    final = await stack.service.cancel(
        CancelRequest(provider=provider, order_id=OPEN_ORDER[provider], reason=REASON)
    )

    assert isinstance(final, NotSent) and final.why is Why.LOOKUP_FAILED
    assert final.outcome is not None and final.outcome.outcome is FAIL
    assert final.message.startswith("not sent: the order could not be looked up first")
    assert final.message == clean(final.message) and "Traceback" not in final.message
    assert cancels.seen == 0
    assert not applied(stack.server, provider, OPEN_ORDER[provider])
    assert stack.journal.attempts(limit=None) == []  # the claim was withdrawn
    assert stack.journal.open_attempt(provider, OPEN_ORDER[provider]) is None


async def cancel_sent(stack: Any, request: CancelRequest) -> CancelOutcome:
    """Cancel; the request must have been sent (``Done``): its outcome."""
    final = await stack.service.cancel(request)
    assert isinstance(final, Done), final
    return final.outcome


# -- cancel ------------------------------------------------------------------------------------

# Expected outcome after the lifecycle's own reconciliation (one look-up for an unknown).
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


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
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

    outcome = await cancel_sent(
        stack, CancelRequest(provider=provider, order_id=order_id, reason=REASON)
    )

    really = applied(stack.server, provider, order_id)
    assert outcome.outcome is expected, outcome
    assert_consistent(outcome, really)
    # An unknown is unknown because it may have applied: here it provably did not, and the
    # look-up shows the order untouched so far, inside the cancel's window (the warning the
    # operator reads); it holds the order until reconciled.
    if expected is UNKNOWN:
        assert not really
        assert any("untouched so far; it may still take effect" in w for w in outcome.warnings)
        assert stack.journal.open_attempt(provider, order_id) is not None
    # An error is only ever reported when the cancel provably did not apply...
    if expected is FAIL:
        assert not really and outcome.message
    # ...and an after-fault's success is only claimed once the look-up confirmed it.
    if fault.when == "after" and fault.mode != "latency":
        assert really and outcome.confirmed
        assert any(w.startswith("re-check: the look-up shows it applied") for w in outcome.warnings)
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

    outcome = await cancel_sent(
        stack, CancelRequest(provider=provider, order_id=order_id, reason=REASON)
    )

    assert outcome.outcome is COMPLETE
    assert applied(stack.server, provider, order_id)
    assert tokens.fetch_count == fetched + 1
    assert_journalled(stack.journal, outcome, OPERATOR)
    # Revoked again, and the token endpoint now refuses too: a clear auth error, nothing
    # sent (the look-up before the cancel already fails). Another order: the first one's
    # (Pattern: initiated, unconfirmed) cancel would stop a second one before any request.
    control.revoke_tokens(stack.url)
    cancels = RequestCounter(stack.server, provider, ["cancel"])
    Fault("unauthorized").add(stack.url, provider, ["lookup", "cancel", "token"])
    other = SECOND_ORDER[provider]
    final = await stack.service.cancel(
        CancelRequest(provider=provider, order_id=other, reason=REASON)
    )
    assert isinstance(final, NotSent) and final.why is Why.LOOKUP_FAILED
    assert final.outcome is not None and final.outcome.outcome is FAIL
    assert "401" in final.message
    assert cancels.seen == 0
    assert stack.journal.open_attempt(provider, other) is None
    assert [a.order_id for a in stack.journal.attempts(limit=None)] == [order_id]


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


SETTLE_S = 1.5
"""Every provider's settle time in the batch test: an unknown cancel's window ends
``SEND_BUDGET_TIMEOUTS * TIMEOUT_S + SETTLE_S`` after it was sent, long enough for the resume
inside it to run."""


@pytest.mark.parametrize("fault", [pytest.param(f, id=f.id) for f in BATCH_FAULTS])
async def test_batch_under_fault_then_resumed_applies_each_cancel_once(
    make_stack: StackFactory, fault: Fault
) -> None:
    stack = make_stack(**{key: {"settle_s": SETTLE_S} for key in BUILTIN_PROVIDERS})
    cancels = {key: RequestCounter(stack.server, key, ["cancel"]) for key in BUILTIN_PROVIDERS}
    fault.add(stack.url, "*", ["cancel"])
    rows = [
        BatchRow(line, CancelRequest(provider=key, order_id=OPEN_ORDER[key], reason=REASON))
        for line, key in enumerate(BUILTIN_PROVIDERS, start=1)
    ]

    first = await BatchRunner(stack.service, concurrency=4).run(
        rows, summary=BatchSummary(keep_all=True)
    )

    assert first.done == len(rows) and not first.interrupted
    applied_first: dict[str, bool] = {}
    outcome_first: dict[str, Outcome] = {}
    for result in first.results:
        key = result.row.request.provider
        assert result.outcome is not None and result.not_sent is None
        applied_first[key] = applied(stack.server, key, result.row.request.order_id)
        outcome_first[key] = result.outcome.outcome
        assert_consistent(result.outcome, applied_first[key])
        assert_journalled(stack.journal, result.outcome, OPERATOR)
        assert result.outcome.outcome in (UNKNOWN, FAIL, COMPLETE)
    assert all(counter.seen >= 1 for counter in cancels.values())
    sent_first = {key: counter.seen for key, counter in cancels.items()}
    control.clear_faults(stack.url)

    # The same batch again at once, the provider behaving now: what applied settled earlier
    # and is not sent; what provably did not (error) is sent once more; an unknown cancel may
    # still take effect inside its window, so it holds its order and nothing is sent.
    cancels = {key: RequestCounter(stack.server, key, ["cancel"]) for key in BUILTIN_PROVIDERS}
    second = await BatchRunner(stack.service, concurrency=4).run(
        rows, summary=BatchSummary(keep_all=True)
    )
    for result in second.results:
        key = result.row.request.provider
        if outcome_first[key] is UNKNOWN:
            assert result.not_sent is Why.EARLIER_UNKNOWN and result.status == HELD, result
            assert cancels[key].seen == 0
            assert not applied(stack.server, key, result.row.request.order_id)
        else:
            assert result.status == "complete", (key, result)
            assert cancels[key].seen == (0 if applied_first[key] else 1), (key, sent_first)
            assert result.skipped is applied_first[key]
            assert applied(stack.server, key, result.row.request.order_id)

    # After the unknown cancels' windows, a look-up showing the order untouched proves they
    # did not apply: each is closed as not applied and sent exactly once more.
    leases = [a.lease_until for a in stack.journal.attempts(limit=None, open_only=True)]
    assert len(leases) == sum(o is UNKNOWN for o in outcome_first.values())
    if leases:
        wait = max(lease for lease in leases if lease) - utcnow()
        assert wait.total_seconds() <= SEND_BUDGET_TIMEOUTS * TIMEOUT_S + SETTLE_S
        await asyncio.sleep(max(0.0, wait.total_seconds()) + 0.05)
    cancels = {key: RequestCounter(stack.server, key, ["cancel"]) for key in BUILTIN_PROVIDERS}
    third = await BatchRunner(stack.service, concurrency=4).run(
        rows, summary=BatchSummary(keep_all=True)
    )
    for result in third.results:
        key = result.row.request.provider
        assert applied(stack.server, key, result.row.request.order_id)
        assert result.status == "complete", (key, result)
        resent = outcome_first[key] is UNKNOWN
        assert cancels[key].seen == (1 if resent else 0), key
        assert result.skipped is not resent
        if resent:
            assert "was unknown; untouched after its window" in result.note
    # Every attempt of the three runs is in the journal, finished, under the operator's
    # name, and none holds its order any more.
    attempts = stack.journal.attempts(limit=None)
    assert attempts and all(a.operator == OPERATOR and a.state == "finished" for a in attempts)
    assert not any(a.open for a in attempts)


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
