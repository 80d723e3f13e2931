"""The service every front end drives: fan-out look-up, validation before sending, cancel,
reconciliation of unknown outcomes, and confirmation of asynchronous ones."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace

import httpx
import pytest

from tui.core import service as service_module
from tui.core.domain import (
    PROVIDER_KEYS,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    LookupState,
    Outcome,
)
from tui.core.identifiers import InvalidInput
from tui.core.service import ReadOnly

from .cases import (
    CASES,
    OM_ID,
    PATTERN_TOKEN_PATH,
    pattern_cancel_body,
    pattern_status,
    token_answer,
)


class FakeJournal:
    def __init__(self, api) -> None:
        self.api = api
        self.events: list[tuple] = []

    def begin(self, request: CancelRequest) -> int:
        self.events.append(("begin", request, len(self.api.requests)))
        return 7

    def finish(self, attempt_id: int, outcome: CancelOutcome, duration_ms: float) -> None:
        self.events.append(("finish", attempt_id, outcome, duration_ms))

    def update(self, attempt_id: int, outcome: CancelOutcome) -> None:
        self.events.append(("update", attempt_id, outcome))


@pytest.fixture
def fake_time(monkeypatch, clock):
    """The service's deadline clock, driven by the fake sleep (the event loop keeps real time)."""
    monkeypatch.setattr(
        service_module, "time", SimpleNamespace(monotonic=clock, perf_counter=time.perf_counter)
    )
    return clock


async def collect(stream, limit_s: float = 5.0) -> list:
    """Every outcome a confirm() stream yields; a hang fails the test instead of the suite."""

    async def run() -> list:
        return [item async for item in stream]

    return await asyncio.wait_for(run(), limit_s)


def request_for(key: str, order_id: str | None = None, **kw) -> CancelRequest:
    case = CASES[key]
    kw.setdefault("reason", case.reason)
    return CancelRequest(provider=key, order_id=order_id or case.ident, **kw)


# -- construction ------------------------------------------------------------------------------


async def test_only_enabled_providers_are_built(service_for, settings_for):
    service = service_for(settings_for(shoplazza={"base_url": None}, rxuniverse={"base_url": ""}))
    assert sorted(service.providers) == ["ordermesh", "pattern"]
    with pytest.raises(InvalidInput, match="STOPLINE_SHOPLAZZA__BASE_URL"):
        service.provider("shoplazza")


async def test_unknown_provider_names_the_known_ones(service_for):
    service = service_for()
    with pytest.raises(InvalidInput) as info:
        service.provider("amazon")
    message = str(info.value)
    assert "amazon" in message
    for key in PROVIDER_KEYS:
        assert key in message


# -- look-up fan-out ---------------------------------------------------------------------------


async def test_lookup_all_asks_every_provider_that_can_resolve(api, service_for):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("t"))
    api.add("GET", "/hub/v1/orders/status", (404, {"error": "Order not found"}))
    api.add("POST", "/user/v1/clients/token", token_answer("t"))
    api.add("GET", f"/v1/orders/{OM_ID}", (200, CASES["ordermesh"].found))
    api.add("GET", f"/openapi/2022-01/orders/number/{OM_ID}", (403, {"errors": ["no scope"]}))
    api.add("GET", f"/api/v2/orders/{OM_ID}", (404, {"error": "No record found"}))
    api.add("GET", f"/api/v2/orders/{OM_ID}/status", (404, {"error": "No record found"}))
    service = service_for()

    results = await service.lookup_all(f"  {OM_ID}  ")

    assert [r.provider for r in results] == list(PROVIDER_KEYS)
    states = {r.provider: r.state for r in results}
    assert states == {
        "pattern": LookupState.NOT_FOUND,
        "ordermesh": LookupState.FOUND,
        "shoplazza": LookupState.ERROR,
        "rxuniverse": LookupState.NOT_FOUND,
    }
    by_key = {r.provider: r for r in results}
    assert by_key["ordermesh"].orders[0].order_id == OM_ID
    assert by_key["shoplazza"].error == "no scope"
    assert all(r.identifier == OM_ID for r in results)
    assert all(r.elapsed_ms > 0 for r in results)


async def test_lookup_all_skips_providers_that_cannot_resolve_without_asking(api, service_for):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("t"))
    api.add("GET", "/hub/v1/orders/status", (200, pattern_status("processing", "pending")))
    api.add("GET", "/openapi/2022-01/orders/number/1004", (404, {"errors": ["x"]}))
    api.add("GET", "/api/v2/orders/%231004", (404, {"error": "No record found"}))
    api.add("GET", "/api/v2/orders/%231004/status", (404, {"error": "No record found"}))
    service = service_for()

    results = await service.lookup_all("#1004")

    skipped = [r for r in results if r.state is LookupState.SKIPPED]
    assert [r.provider for r in skipped] == ["ordermesh"]
    assert skipped[0].elapsed_ms == 0.0
    assert not any(r.url.host == "api.ordermesh.test" for r in api.requests)
    assert {r.provider: r.state for r in results}["pattern"] is LookupState.FOUND


async def test_lookup_all_only_asks_enabled_providers(api, service_for, settings_for):
    api.add("GET", "/api/v2/orders/72544", (200, CASES["rxuniverse"].found))
    api.add("GET", "/api/v2/orders/72544/status", (200, CASES["rxuniverse"].found_status))
    settings = settings_for(
        pattern={"base_url": None}, ordermesh={"base_url": None}, shoplazza={"base_url": None}
    )
    service = service_for(settings)

    results = await service.lookup_all("72544")

    assert [(r.provider, r.state) for r in results] == [("rxuniverse", LookupState.FOUND)]
    assert {r.url.host for r in api.requests} == {"labserver"}


async def test_lookup_all_can_be_limited_to_named_providers(api, service_for):
    api.add("GET", "/api/v2/orders/72544", (200, CASES["rxuniverse"].found))
    api.add("GET", "/api/v2/orders/72544/status", (200, CASES["rxuniverse"].found_status))
    service = service_for()
    results = await service.lookup_all("72544", ["rxuniverse"])
    assert [r.provider for r in results] == ["rxuniverse"]


@pytest.mark.parametrize(
    ("identifier", "providers", "words"),
    [
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("x" * 129, None, "longer than"),
        ("ab\x1b[2Jc", None, "control"),
        ("72544", ["nope"], "known providers: pattern, ordermesh, shoplazza, rxuniverse"),
    ],
)
async def test_lookup_all_rejects_bad_input_before_any_request(
    api, service_for, identifier, providers, words
):
    service = service_for()
    with pytest.raises(InvalidInput, match=words):
        await service.lookup_all(identifier, providers)
    assert api.requests == []


async def test_lookup_error_reports_an_open_circuit(api, service_for):
    service = service_for()
    breaker = service.providers["shoplazza"].breaker
    for _ in range(breaker.threshold):
        breaker.record_failure()
    result = await service.lookup_one("shoplazza", "1004")
    assert result.state is LookupState.ERROR
    assert "paused" in (result.error or "")
    assert api.requests == []


# -- prepare: refused before anything is written or sent ------------------------------------


BAD_REQUESTS = [
    pytest.param(dict(order_id=""), "empty", id="empty-id"),
    pytest.param(dict(order_id="   "), "empty", id="blank-id"),
    pytest.param(dict(order_id="9" * 129), "longer than", id="long-id"),
    pytest.param(dict(order_id="72\x0044"), "control", id="nul-id"),
    pytest.param(dict(order_id="72\u202e44"), "control", id="bidi-id"),
    pytest.param(dict(reason=""), "reason is required", id="empty-reason"),
    pytest.param(dict(reason="  \t "), "reason is required", id="blank-reason"),
    pytest.param(dict(reason="r" * 501), "longer than", id="long-reason"),
    pytest.param(dict(reason="why\x1b]0;x\x07"), "control", id="control-reason"),
    pytest.param(dict(provider="amazon"), "known providers", id="unknown-provider"),
    pytest.param(dict(items=(ItemSelection(id="1", quantity=1),)), "whole orders only", id="items"),
]


@pytest.mark.parametrize(("change", "words"), BAD_REQUESTS)
async def test_prepare_and_cancel_reject_bad_requests_without_sending(
    api, service_for, change, words
):
    journal = FakeJournal(api)
    service = service_for(journal=journal)
    request = request_for("rxuniverse").model_copy(update=change)

    with pytest.raises(InvalidInput, match=words):
        service.prepare(request)
    with pytest.raises(InvalidInput, match=words):
        await service.cancel(request)
    assert api.requests == []
    assert journal.events == []


@pytest.mark.parametrize("key", ["pattern", "shoplazza", "rxuniverse"])
async def test_item_selection_is_refused_by_whole_order_providers(service_for, key):
    service = service_for()
    request = request_for(key, items=(ItemSelection(id="x"),))
    with pytest.raises(InvalidInput, match="cancels whole orders only"):
        service.prepare(request)


async def test_item_selections_are_checked(service_for):
    service = service_for()
    twice = request_for("ordermesh", items=(ItemSelection(id="a"), ItemSelection(id="a")))
    with pytest.raises(InvalidInput, match="selected twice"):
        service.prepare(twice)
    bad = request_for("ordermesh", items=(ItemSelection(id="a\x07"),))
    with pytest.raises(InvalidInput, match="control"):
        service.prepare(bad)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"read_only": True}, id="everywhere"),
        pytest.param({"rxuniverse": {"read_only": True}}, id="this-provider"),
    ],
)
async def test_read_only_refuses_to_cancel_without_sending(
    api, service_for, settings_for, overrides
):
    journal = FakeJournal(api)
    service = service_for(settings_for(**overrides), journal=journal)
    assert service.read_only("rxuniverse")

    with pytest.raises(ReadOnly, match="read-only"):
        await service.cancel(request_for("rxuniverse"))
    assert api.requests == []
    assert journal.events == []


async def test_per_provider_read_only_leaves_the_others_alone(api, service_for, settings_for):
    api.add("DELETE", "/api/v2/orders/72544", (200, {"orderNumber": "72544"}))
    service = service_for(settings_for(shoplazza={"read_only": True}))
    assert service.read_only("shoplazza") and not service.read_only("rxuniverse")
    outcome = await service.cancel(request_for("rxuniverse"))
    assert outcome.outcome is Outcome.COMPLETE


async def test_prepare_normalises_and_fills_the_operator(service_for, settings_for):
    service = service_for(settings_for(operator="carol"))
    prepared = service.prepare(
        CancelRequest(provider="rxuniverse", order_id="  72544 ", reason="  Customer request ")
    )
    assert (prepared.order_id, prepared.reason, prepared.operator) == (
        "72544",
        "Customer request",
        "carol",
    )
    explicit = service.prepare(request_for("rxuniverse", operator="dave"))
    assert explicit.operator == "dave"


# -- cancel, journal, reconciliation -------------------------------------------------------------


async def test_cancel_is_journalled_before_it_is_sent(api, service_for):
    api.add("DELETE", "/api/v2/orders/72544", (200, {"orderNumber": "72544"}))
    journal = FakeJournal(api)
    service = service_for(journal=journal)

    outcome = await service.cancel(request_for("rxuniverse"))

    (begin, request, sent_before), finish = journal.events
    assert begin == "begin"
    assert sent_before == 0  # written before anything reached the provider
    assert request.operator == "tester"
    assert finish[0] == "finish" and finish[1] == 7
    assert finish[2].outcome is Outcome.COMPLETE
    assert finish[3] >= 0
    assert outcome.attempt_id == 7


@pytest.mark.parametrize("key", list(CASES))
@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, 502])
async def test_unknown_cancel_confirmed_by_lookup(api, service_for, key, failure):
    case = CASES[key]
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, failure, case.cancel_ok)
    case.install_lookup(api, cancelled=True)
    service = service_for()

    outcome = await service.cancel(request_for(key))

    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is True
    assert "confirmed by look-up after no answer" in outcome.warnings
    assert outcome.cancelled


@pytest.mark.parametrize("key", list(CASES))
async def test_unknown_cancel_still_open_stays_unknown_with_a_warning(api, service_for, key):
    case = CASES[key]
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, httpx.ReadTimeout)
    case.install_lookup(api)
    service = service_for()

    outcome = await service.cancel(request_for(key))

    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1
    assert len(api.calls("GET", case.lookup_path)) == 1
    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.confirmed is False
    assert outcome.cancelled == []
    assert any("re-check" in w and "may not have been cancelled" in w for w in outcome.warnings)


async def test_unknown_cancel_whose_recheck_fails_stays_unknown(api, service_for):
    case = CASES["rxuniverse"]
    api.add(case.cancel_method, case.cancel_path, httpx.ReadTimeout)
    case.install_lookup(api, 503)
    service = service_for()

    outcome = await service.cancel(request_for("rxuniverse"))

    assert outcome.outcome is Outcome.UNKNOWN
    assert any(w.startswith("re-check failed") for w in outcome.warnings)
    assert len(api.calls("DELETE", case.cancel_path)) == 1


async def test_unknown_cancel_whose_order_vanished_stays_unknown(api, service_for):
    case = CASES["shoplazza"]
    api.add(case.cancel_method, case.cancel_path, 500)
    case.install_lookup(api, (404, {"errors": ["Unable to find resource"]}))
    service = service_for()

    outcome = await service.cancel(request_for("shoplazza"))

    assert outcome.outcome is Outcome.UNKNOWN
    assert "re-check: order not found" in outcome.warnings


async def test_shoplazza_ok_that_left_the_order_open_is_rechecked(api, service_for):
    case = CASES["shoplazza"]
    api.add(case.cancel_method, case.cancel_path, (200, case.found))
    case.install_lookup(api, cancelled=True)
    service = service_for()

    outcome = await service.cancel(request_for("shoplazza"))

    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is True


async def test_settled_outcomes_are_not_rechecked(api, service_for):
    case = CASES["shoplazza"]
    api.add(case.cancel_method, case.cancel_path, (406, {"error": "not allowed"}))
    service = service_for()

    outcome = await service.cancel(request_for("shoplazza"))

    assert outcome.outcome is Outcome.REFUSED
    assert api.calls("GET", case.lookup_path) == []


async def test_recheck_never_sends_a_cancel(api, service_for):
    case = CASES["rxuniverse"]
    case.install_lookup(api, cancelled=True)
    service = service_for()
    unknown = CancelOutcome(provider="rxuniverse", order_id="72544", outcome=Outcome.UNKNOWN)

    settled = await service.recheck(unknown, request_for("rxuniverse"))

    assert settled.outcome is Outcome.COMPLETE and settled.confirmed
    assert api.calls("DELETE", case.cancel_path) == []


# -- confirmation of an asynchronous (Pattern) cancel ------------------------------------------


def _install_pattern_cancel(api, *statuses) -> None:
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("t"))
    api.add("POST", "/hub/v1/orders/cancel_order", (200, pattern_cancel_body(cancelled=(1, 2))))
    api.add("GET", "/hub/v1/orders/status", *((200, s) for s in statuses))


async def test_confirm_polls_until_the_lookup_shows_the_sub_orders_cancelled(
    api, service_for, sleep, fake_time
):
    _install_pattern_cancel(
        api,
        pattern_status("processing", "pending", "pending"),
        pattern_status("processing", "cancelled", "pending"),
        pattern_status("processing", "cancelled", "cancelled"),
    )
    journal = FakeJournal(api)
    service = service_for(journal=journal)
    request = request_for("pattern")

    initiated = await service.cancel(request)
    assert initiated.outcome is Outcome.COMPLETE and initiated.confirmed is False

    seen = await collect(service.confirm(initiated, request, poll_s=2.0, timeout_s=60))

    assert len(seen) == 1
    final = seen[-1]
    assert final.confirmed is True
    assert final.outcome is Outcome.COMPLETE
    assert final.attempt_id == 7
    assert sleep.delays == [2.0, 2.0, 2.0]
    assert len(api.calls("GET", "/hub/v1/orders/status")) == 3
    assert len(api.calls("POST", "/hub/v1/orders/cancel_order")) == 1
    assert journal.events[-1][0] == "update" and journal.events[-1][2].confirmed


async def test_confirm_gives_up_after_the_timeout_with_a_warning(
    api, service_for, sleep, fake_time
):
    _install_pattern_cancel(api, pattern_status("processing", "pending", "pending"))
    journal = FakeJournal(api)
    service = service_for(journal=journal)
    request = request_for("pattern")
    initiated = await service.cancel(request)

    seen = await collect(service.confirm(initiated, request, poll_s=1.0, timeout_s=5.0))

    (gave_up,) = seen
    assert gave_up.confirmed is False
    assert gave_up.outcome is Outcome.COMPLETE  # initiated stays initiated, never upgraded
    assert gave_up.warnings == ["not confirmed after 5 s; re-check later"]
    assert sleep.delays == [1.0] * 5
    assert len(api.calls("GET", "/hub/v1/orders/status")) == 5
    assert journal.events[-1][0] == "update"


async def test_confirm_uses_the_configured_poll_and_timeout(
    api, service_for, settings_for, sleep, fake_time
):
    _install_pattern_cancel(api, pattern_status("processing", "pending", "pending"))
    service = service_for(settings_for(confirm_poll_s=3.0, confirm_timeout_s=9.0))
    request = request_for("pattern")
    initiated = await service.cancel(request)

    seen = await collect(service.confirm(initiated, request))

    assert sleep.delays == [3.0, 3.0, 3.0]
    assert seen[-1].warnings == ["not confirmed after 9 s; re-check later"]


async def test_confirm_has_nothing_to_do_for_settled_outcomes(api, service_for, sleep):
    service = service_for()
    request = request_for("rxuniverse")
    for outcome in (
        CancelOutcome(
            provider="rxuniverse", order_id="1", outcome=Outcome.COMPLETE, confirmed=True
        ),
        CancelOutcome(provider="rxuniverse", order_id="1", outcome=Outcome.REFUSED),
        CancelOutcome(provider="rxuniverse", order_id="1", outcome=Outcome.ERROR),
        CancelOutcome(provider="rxuniverse", order_id="1", outcome=Outcome.NOT_FOUND),
    ):
        assert await collect(service.confirm(outcome, request)) == []
    assert api.requests == []
    assert sleep.delays == []


async def test_confirm_settles_an_unknown_outcome_once_the_lookup_shows_it(
    api, service_for, sleep, fake_time
):
    case = CASES["rxuniverse"]
    api.add("GET", case.lookup_path, (200, case.found))
    api.add("GET", case.status_path, (200, case.found_status), (200, case.cancelled_status))
    service = service_for()
    unknown = CancelOutcome(provider="rxuniverse", order_id="72544", outcome=Outcome.UNKNOWN)

    seen = await collect(
        service.confirm(unknown, request_for("rxuniverse"), poll_s=1, timeout_s=30)
    )

    assert seen[-1].outcome is Outcome.COMPLETE and seen[-1].confirmed
    assert sleep.delays == [1.0, 1.0]
    assert api.calls("DELETE", case.cancel_path) == []


async def test_closing_a_lookup_stream_cancels_the_slow_providers(api, service_for, settings_for):
    cancelled = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    api.add("GET", "/openapi/2022-01/orders/number/72544", hang)
    api.add("GET", "/api/v2/orders/72544", (200, CASES["rxuniverse"].found))
    api.add("GET", "/api/v2/orders/72544/status", (200, CASES["rxuniverse"].found_status))
    settings = settings_for(pattern={"base_url": None}, ordermesh={"base_url": None})
    service = service_for(settings)

    async with contextlib.aclosing(service.lookup_stream("72544")) as stream:
        first = await anext(stream)
    assert first.provider == "rxuniverse" and first.state is LookupState.FOUND
    await asyncio.wait_for(cancelled.wait(), 5)
