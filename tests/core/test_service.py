"""The service every front end drives: fan-out look-up, validation before anything is written
or sent, cancel through the lifecycle (claim, look-up, write-ahead, send), reconciliation of
unknown outcomes, and confirmation of asynchronous ones."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace

import httpx
import pytest

from tui.core import lifecycle as lifecycle_module
from tui.core.domain import CancelRequest, ItemSelection, LookupState, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.journal import AttemptState, JournalError
from tui.core.lifecycle import Answered, Done, NotSent, Sending, Updated, Verdict, Why
from tui.core.service import ReadOnly
from tui.core.vocabulary import BUILTIN_PROVIDERS

from .cases import (
    CASES,
    OM_ID,
    PATTERN_TOKEN_PATH,
    pattern_cancel_body,
    pattern_status,
    token_answer,
)
from .fakes import RecordingJournal


@pytest.fixture
def fake_time(monkeypatch, clock):
    """The lifecycle's deadline clock, driven by the fake sleep (the loop keeps real time)."""
    monkeypatch.setattr(
        lifecycle_module, "time", SimpleNamespace(monotonic=clock, perf_counter=time.perf_counter)
    )
    return clock


@pytest.fixture
def journal(tmp_path, api):
    """A real journal that records each write and what had reached the API by then."""
    return RecordingJournal(tmp_path / "journal.sqlite3", api)


async def events_of(service, request, **kw) -> list:
    """Every event of one cancel; a hang fails the test instead of the suite."""

    async def run() -> list:
        return [event async for event in service.cancel_events(request, **kw)]

    return await asyncio.wait_for(run(), 5.0)


def request_for(key: str, order_id: str | None = None, **kw) -> CancelRequest:
    case = CASES[key]
    kw.setdefault("reason", case.reason)
    return CancelRequest(provider=key, order_id=order_id or case.ident, **kw)


async def done(service, request, **kw) -> Done:
    final = await service.cancel(request, **kw)
    assert isinstance(final, Done), final
    return final


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
    for key in BUILTIN_PROVIDERS:
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

    assert [r.provider for r in results] == list(BUILTIN_PROVIDERS)
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
    api, service_for, journal, change, words
):
    service = service_for(journal=journal)
    request = request_for("rxuniverse").model_copy(update=change)

    with pytest.raises(InvalidInput, match=words):
        service.prepare(request)
    with pytest.raises(InvalidInput, match=words):
        await service.cancel(request)
    with pytest.raises(InvalidInput, match=words):
        await events_of(service, request)
    assert api.requests == []
    assert journal.events == []  # not even a claim
    assert await service.attempts() == []


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
    api, service_for, settings_for, journal, overrides
):
    service = service_for(settings_for(**overrides), journal=journal)
    assert service.read_only("rxuniverse")

    with pytest.raises(ReadOnly, match="read-only"):
        await service.cancel(request_for("rxuniverse"))
    assert api.requests == []
    assert journal.events == []


async def test_per_provider_read_only_leaves_the_others_alone(api, service_for, settings_for):
    CASES["rxuniverse"].install_lookups(api, "found")
    api.add("DELETE", "/api/v2/orders/72544", (200, {"orderNumber": "72544"}))
    service = service_for(settings_for(shoplazza={"read_only": True}))
    assert service.read_only("shoplazza") and not service.read_only("rxuniverse")
    final = await done(service, request_for("rxuniverse"))
    assert final.outcome.outcome is Outcome.COMPLETE
    assert len(api.calls("DELETE", "/api/v2/orders/72544")) == 1


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


# -- cancel: claim, look-up, write-ahead, send, answer -------------------------------------------


async def test_cancel_is_claimed_looked_up_and_written_ahead_before_it_is_sent(
    api, service_for, journal
):
    case = CASES["rxuniverse"]
    case.install_lookups(api, "found")
    api.add("DELETE", case.cancel_path, (200, {"orderNumber": "72544"}))
    service = service_for(journal=journal)

    events = await events_of(service, request_for("rxuniverse"))

    sending, answered, final = events
    assert isinstance(sending, Sending) and isinstance(answered, Answered)
    assert isinstance(final, Done)
    assert journal.writes == ["claim", "mark_sent", "finish"]
    (_, claim_args, _, sent_before_claim), (_, sent_args, _, sent_before_write), finish = (
        journal.events
    )
    assert sent_before_claim == 0  # claimed before anything reached the provider
    request, holder = claim_args
    assert request.operator == "tester" and holder.operator == "tester"
    # Written ahead after the look-up (detail and status) and before the cancel left.
    assert sent_before_write == 2
    assert [r.method for r in api.requests[:2]] == ["GET", "GET"]
    attempt_id, before = sent_args
    assert attempt_id == sending.attempt_id
    assert before == sending.before
    assert before.order_id == "72544" and not before.cancelled
    # Answered after the cancel request reached the provider.
    assert finish[3] == 3 and api.requests[2].method == "DELETE"
    assert finish[1][0] == attempt_id and finish[1][1].outcome is Outcome.COMPLETE
    assert finish[1][2] >= 0
    assert final.outcome.attempt_id == attempt_id
    stored = await service.attempt(attempt_id)
    assert stored is not None
    assert (stored.state, stored.open, stored.outcome) == (
        AttemptState.FINISHED,
        False,
        Outcome.COMPLETE,
    )
    assert stored.before == before


@pytest.mark.parametrize("key", list(CASES))
async def test_an_order_the_lookup_does_not_find_is_not_sent(api, service_for, key):
    case = CASES[key]
    case.install_token(api)
    case.install_lookup(api, (404, {"error": "Order not found"}))
    service = service_for()

    final = await service.cancel(request_for(key))

    assert isinstance(final, NotSent) and final.why is Why.NOT_FOUND
    assert final.outcome is not None and final.outcome.outcome is Outcome.NOT_FOUND
    assert "nothing was sent" in final.message
    assert api.calls(case.cancel_method, case.cancel_path) == []
    assert await service.attempts() == []  # the claim was withdrawn: not an attempt
    assert await service.open_attempt(key, case.ident) is None


async def test_an_order_that_cannot_be_looked_up_is_not_sent(api, service_for):
    case = CASES["shoplazza"]
    case.install_lookup(api, (403, {"errors": ["no scope"]}))
    service = service_for()

    final = await service.cancel(request_for("shoplazza"))

    assert isinstance(final, NotSent) and final.why is Why.LOOKUP_FAILED
    assert final.outcome is not None and final.outcome.outcome is Outcome.ERROR
    assert "no scope" in final.message
    assert api.calls("POST", case.cancel_path) == []
    assert await service.attempts() == []
    assert await service.open_attempt("shoplazza", case.ident) is None


async def test_an_order_already_cancelled_is_not_sent_again(api, service_for):
    case = CASES["shoplazza"]
    case.install_lookups(api, "cancelled")
    service = service_for()

    final = await service.cancel(request_for("shoplazza"))

    assert isinstance(final, NotSent) and final.why is Why.ALREADY_CANCELLED
    assert api.calls("POST", case.cancel_path) == []
    assert await service.attempts() == []


@pytest.mark.parametrize("key", list(CASES))
@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, 502])
async def test_unknown_cancel_confirmed_by_lookup(api, service_for, key, failure):
    case = CASES[key]
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, failure, case.cancel_ok)
    case.install_lookups(api, "found", "cancelled")
    service = service_for()

    final = await done(service, request_for(key))

    outcome = final.outcome
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1
    assert len(api.calls("GET", case.lookup_path)) == 2  # before, and after no answer
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is True
    assert any(w.startswith("re-check: the look-up shows it applied") for w in outcome.warnings)
    assert outcome.cancelled
    stored = await service.attempt(outcome.attempt_id)
    assert stored is not None and stored.outcome is Outcome.COMPLETE and not stored.open


@pytest.mark.parametrize("key", list(CASES))
async def test_unknown_cancel_still_open_stays_unknown_and_holds_the_order(api, service_for, key):
    case = CASES[key]
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, httpx.ReadTimeout)
    case.install_lookups(api, "found")
    service = service_for()

    final = await done(service, request_for(key))

    outcome = final.outcome
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1
    assert len(api.calls("GET", case.lookup_path)) == 2
    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.confirmed is False
    assert outcome.cancelled == []
    assert any(
        w.startswith("re-check: untouched so far; it may still take effect until")
        for w in outcome.warnings
    )
    stored = await service.attempt(outcome.attempt_id)
    assert stored is not None and stored.open and stored.outcome is Outcome.UNKNOWN

    # Cancelling again does not re-send: the open attempt is reconciled (still untouched,
    # inside its window) and holds the order.
    again = await service.cancel(request_for(key))
    assert isinstance(again, NotSent) and again.why is Why.EARLIER_UNKNOWN
    assert again.held
    assert again.attempt is not None and again.attempt.id == outcome.attempt_id
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1
    assert len(api.calls("GET", case.lookup_path)) == 3


async def test_unknown_cancel_whose_recheck_fails_stays_unknown(api, service_for):
    case = CASES["rxuniverse"]
    api.add(case.cancel_method, case.cancel_path, httpx.ReadTimeout)
    api.add("GET", case.lookup_path, (200, case.found), 503)
    api.add("GET", case.status_path, (200, case.found_status))
    service = service_for()

    final = await done(service, request_for("rxuniverse"))

    assert final.outcome.outcome is Outcome.UNKNOWN
    assert any(w.startswith("re-check: look-up failed") for w in final.outcome.warnings)
    assert len(api.calls("DELETE", case.cancel_path)) == 1
    assert await service.open_attempt("rxuniverse", "72544") is not None


async def test_unknown_cancel_whose_order_vanished_stays_unknown(api, service_for):
    case = CASES["shoplazza"]
    api.add(case.cancel_method, case.cancel_path, 500)
    api.add("GET", case.lookup_path, (200, case.found), (404, {"errors": ["Unable to find"]}))
    service = service_for()

    final = await done(service, request_for("shoplazza"))

    assert final.outcome.outcome is Outcome.UNKNOWN
    assert "re-check: the order is not found now" in final.outcome.warnings


async def test_shoplazza_ok_that_left_the_order_open_is_rechecked(api, service_for):
    case = CASES["shoplazza"]
    api.add(case.cancel_method, case.cancel_path, (200, case.found))
    case.install_lookups(api, "found", "cancelled")
    service = service_for()

    final = await done(service, request_for("shoplazza"))

    assert final.outcome.outcome is Outcome.COMPLETE
    assert final.outcome.confirmed is True
    assert final.outcome.http_status == 200


async def test_settled_outcomes_are_not_rechecked(api, service_for):
    case = CASES["shoplazza"]
    case.install_lookups(api, "found")
    api.add(case.cancel_method, case.cancel_path, (406, {"error": "not allowed"}))
    service = service_for()

    final = await done(service, request_for("shoplazza"))

    assert final.outcome.outcome is Outcome.REFUSED
    assert len(api.calls("GET", case.lookup_path)) == 1  # the look-up before sending only
    assert await service.open_attempt("shoplazza", case.ident) is None


async def test_recheck_never_sends_a_cancel(api, service_for):
    case = CASES["rxuniverse"]
    api.add(case.cancel_method, case.cancel_path, httpx.ReadTimeout)
    case.install_lookups(api, "found", "found", "cancelled")
    service = service_for()
    unknown = await done(service, request_for("rxuniverse"))
    assert unknown.outcome.outcome is Outcome.UNKNOWN

    result = await service.recheck(unknown.outcome.attempt_id)

    assert result.verdict is Verdict.APPLIED
    assert result.attempt.outcome is Outcome.COMPLETE and result.attempt.confirmed
    assert result.attempt.open is False
    assert len(api.calls("DELETE", case.cancel_path)) == 1
    looked = len(api.calls("GET", case.lookup_path))
    assert looked == 3
    # Settled now: a second re-check has nothing to look up.
    again = await service.recheck(unknown.outcome.attempt_id)
    assert again.verdict is Verdict.SETTLED
    assert len(api.calls("GET", case.lookup_path)) == looked
    assert len(api.calls("DELETE", case.cancel_path)) == 1


async def test_recheck_of_an_unknown_attempt_id_is_refused(service_for):
    from tui.core.journal import UnknownAttempt

    service = service_for()
    with pytest.raises(UnknownAttempt):
        await service.recheck(999)


# -- confirmation of an asynchronous (Pattern) cancel ------------------------------------------


def _install_pattern_cancel(api, *statuses, answer=None) -> None:
    """The look-up before sending shows the order open; ``statuses`` are what it shows
    after (the last repeats)."""
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("t"))
    api.add(
        "POST",
        "/hub/v1/orders/cancel_order",
        answer or (200, pattern_cancel_body(cancelled=(1, 2))),
    )
    before = pattern_status("processing", "pending", "pending")
    api.add("GET", "/hub/v1/orders/status", (200, before), *((200, s) for s in statuses))


async def test_confirm_polls_until_the_lookup_shows_the_sub_orders_cancelled(
    api, service_for, settings_for, journal, sleep, fake_time
):
    _install_pattern_cancel(
        api,
        pattern_status("processing", "pending", "pending"),
        pattern_status("processing", "cancelled", "pending"),  # 1 of 2: not yet
        pattern_status("processing", "cancelled", "cancelled"),
    )
    settings = settings_for(confirm_poll_s=2.0, confirm_timeout_s=60)
    service = service_for(settings, journal=journal)

    events = await events_of(service, request_for("pattern"), confirm=True)

    answered = next(e for e in events if isinstance(e, Answered))
    assert answered.outcome.outcome is Outcome.COMPLETE and answered.outcome.confirmed is False
    assert answered.confirming is True
    updates = [e for e in events if isinstance(e, Updated)]
    assert len(updates) == 1
    assert updates[0].polls == 3
    final = events[-1]
    assert isinstance(final, Done)
    assert final.outcome.confirmed is True
    assert final.outcome.outcome is Outcome.COMPLETE
    assert final.outcome.attempt_id == answered.outcome.attempt_id
    assert sleep.delays == [2.0, 2.0, 2.0]
    assert len(api.calls("GET", "/hub/v1/orders/status")) == 4  # before, then three polls
    assert len(api.calls("POST", "/hub/v1/orders/cancel_order")) == 1
    name, args, _, _ = journal.events[-1]
    assert name == "settle" and args[1].confirmed
    stored = await service.attempt(final.outcome.attempt_id)
    assert stored is not None and stored.confirmed and stored.updated_at is not None


async def test_confirm_gives_up_after_the_timeout_with_a_warning(
    api, service_for, settings_for, journal, sleep, fake_time
):
    _install_pattern_cancel(api, pattern_status("processing", "pending", "pending"))
    settings = settings_for(confirm_poll_s=1.0, confirm_timeout_s=5.0)
    service = service_for(settings, journal=journal)

    events = await events_of(service, request_for("pattern"), confirm=True)

    (gave_up,) = [e for e in events if isinstance(e, Updated)]
    final = events[-1]
    assert isinstance(final, Done) and final.outcome == gave_up.outcome
    assert gave_up.outcome.confirmed is False
    assert gave_up.outcome.outcome is Outcome.COMPLETE  # initiated stays initiated
    assert gave_up.outcome.warnings == ["re-check: not confirmed after 5 s; re-check later"]
    assert sleep.delays == [1.0] * 5
    assert len(api.calls("GET", "/hub/v1/orders/status")) == 6
    assert journal.writes[-1] == "settle"
    stored = await service.attempt(final.outcome.attempt_id)
    assert stored is not None and stored.confirmed is False
    assert stored.warnings == gave_up.outcome.warnings
    assert final.next_step.value == "recheck"


async def test_confirm_uses_the_configured_poll_and_timeout(
    api, service_for, settings_for, sleep, fake_time
):
    _install_pattern_cancel(api, pattern_status("processing", "pending", "pending"))
    service = service_for(settings_for(confirm_poll_s=3.0, confirm_timeout_s=9.0))

    final = await done(service, request_for("pattern"), confirm=True)

    assert sleep.delays == [3.0, 3.0, 3.0]
    assert final.outcome.warnings == ["re-check: not confirmed after 9 s; re-check later"]


async def test_an_initiated_cancel_is_not_followed_unless_asked(api, service_for, sleep, fake_time):
    _install_pattern_cancel(api, pattern_status("processing", "cancelled", "cancelled"))
    service = service_for()

    events = await events_of(service, request_for("pattern"))

    assert not any(isinstance(e, Updated) for e in events)
    answered = next(e for e in events if isinstance(e, Answered))
    assert answered.confirming is False
    final = events[-1]
    assert isinstance(final, Done) and final.outcome.confirmed is False
    assert final.next_step.value == "recheck"
    assert sleep.delays == []
    assert len(api.calls("GET", "/hub/v1/orders/status")) == 1


@pytest.mark.parametrize(
    ("key", "answer", "outcome"),
    [
        ("rxuniverse", (200, {"orderNumber": "72544"}), Outcome.COMPLETE),  # synchronous
        ("pattern", (409, pattern_cancel_body(refused=((1, "shipped", "gone"),))), Outcome.REFUSED),
        ("shoplazza", (406, {"error": "not allowed"}), Outcome.REFUSED),
        ("ordermesh", (400, {"message": "Order is shipped"}), Outcome.REFUSED),
    ],
)
async def test_confirm_has_nothing_to_do_for_settled_outcomes(
    api, service_for, sleep, fake_time, key, answer, outcome
):
    case = CASES[key]
    case.install_token(api)
    case.install_lookups(api, "found")
    api.add(case.cancel_method, case.cancel_path, answer)
    service = service_for()

    events = await events_of(service, request_for(key), confirm=True)

    assert not any(isinstance(e, Updated) for e in events)
    answered = next(e for e in events if isinstance(e, Answered))
    assert answered.confirming is False
    assert isinstance(events[-1], Done) and events[-1].outcome.outcome is outcome
    assert sleep.delays == []
    assert len(api.calls("GET", case.lookup_path)) == 1  # before sending only


async def test_confirm_settles_an_unknown_cancel_once_the_lookup_shows_it(
    api, service_for, settings_for, sleep, fake_time
):
    _install_pattern_cancel(
        api,
        pattern_status("processing", "pending", "pending"),  # right after: untouched
        pattern_status("processing", "pending", "pending"),  # first poll
        pattern_status("cancelled", "cancelled", "cancelled"),
        answer=httpx.ReadTimeout,
    )
    service = service_for(settings_for(confirm_poll_s=1.0, confirm_timeout_s=30))

    events = await events_of(service, request_for("pattern"), confirm=True)

    answered = next(e for e in events if isinstance(e, Answered))
    assert answered.outcome.outcome is Outcome.UNKNOWN and answered.confirming
    final = events[-1]
    assert isinstance(final, Done)
    assert final.outcome.outcome is Outcome.COMPLETE and final.outcome.confirmed
    assert sleep.delays == [1.0, 1.0]
    assert len(api.calls("POST", "/hub/v1/orders/cancel_order")) == 1
    stored = await service.attempt(final.outcome.attempt_id)
    assert stored is not None and stored.outcome is Outcome.COMPLETE and not stored.open


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


async def test_the_same_order_cancelled_twice_at_once_is_sent_once(api, service_for):
    """Two cancels of one order in one process: the second finds the first's claim, in
    flight, and sends nothing — not even a look-up."""
    case = CASES["shoplazza"]
    case.install_lookups(api, "found")
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def slow_cancel(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        return httpx.Response(200, json=case.cancelled)

    api.add("POST", case.cancel_path, slow_cancel)
    service = service_for()

    first = asyncio.ensure_future(service.cancel(request_for("shoplazza")))
    await asyncio.wait_for(arrived.wait(), 5)
    second = await asyncio.wait_for(service.cancel(request_for("shoplazza")), 5)
    release.set()
    done_first = await asyncio.wait_for(first, 5)

    assert isinstance(second, NotSent) and second.why is Why.HELD
    assert isinstance(done_first, Done) and done_first.outcome.outcome is Outcome.COMPLETE
    assert second.attempt is not None and second.attempt.id == done_first.outcome.attempt_id
    assert len(api.calls("POST", case.cancel_path)) == 1
    assert len(api.calls("GET", case.lookup_path)) == 1


class FinishFails(RecordingJournal):
    """The journal fails to record one answer (a full disk, a lost database)."""

    failures = 1

    def __getattr__(self, name: str):
        if name == "finish" and self.failures:

            async def fail(*args, **kwargs):
                self.failures -= 1
                self.events.append(("finish", args, kwargs, len(self.api.requests)))
                raise JournalError("disk I/O error")

            return fail
        return super().__getattr__(name)


async def test_a_journal_failure_after_sending_still_reports_the_answer(api, service_for, tmp_path):
    case = CASES["shoplazza"]
    case.install_lookups(api, "found", "cancelled")
    api.add("POST", case.cancel_path, (200, case.cancelled))
    journal = FinishFails(tmp_path / "journal.sqlite3", api)
    service = service_for(journal=journal)

    final = await done(service, request_for("shoplazza"))

    outcome = final.outcome
    assert outcome.outcome is Outcome.COMPLETE and outcome.confirmed  # the provider's answer
    assert any(
        w.startswith(f"journal write failed; attempt {outcome.attempt_id} reads as unknown there")
        for w in outcome.warnings
    )
    # The journal still holds the write-ahead: open and unknown, never "cancelled".
    stored = await service.attempt(outcome.attempt_id)
    assert stored is not None
    assert (stored.state, stored.open, stored.outcome) == (
        AttemptState.SENT,
        True,
        Outcome.UNKNOWN,
    )
    # The next cancel in this process writes the answer it kept first (the journal took
    # its claim), then finds the order cancelled: nothing is sent again.
    again = await service.cancel(request_for("shoplazza"))
    assert isinstance(again, NotSent) and again.why is Why.ALREADY_CANCELLED
    assert len(api.calls("POST", case.cancel_path)) == 1
    assert service.lifecycle.recorder.unrecorded == []
    written = await service.attempt(outcome.attempt_id)
    assert written is not None
    assert (written.state, written.outcome, written.confirmed) == (
        AttemptState.FINISHED,
        Outcome.COMPLETE,
        True,
    )


async def test_an_answer_the_journal_refused_is_written_once_it_takes_it(
    api, service_for, tmp_path
):
    """A console lives on: the answer it could not record must not stay "sent" under its
    live pid (held, for every other process on the machine, as being cancelled)."""
    case = CASES["shoplazza"]
    case.install_lookups(api, "found", "cancelled")
    api.add("POST", case.cancel_path, (200, case.cancelled))
    journal = FinishFails(tmp_path / "journal.sqlite3", api)
    service = service_for(journal=journal)

    final = await done(service, request_for("shoplazza"))
    assert service.lifecycle.recorder.unrecorded == [final.outcome.attempt_id]
    await service.lifecycle.recorder.flush()  # what the background writer does, in a while

    assert service.lifecycle.recorder.unrecorded == []
    stored = await service.attempt(final.outcome.attempt_id)
    assert stored is not None
    assert (stored.state, stored.open, stored.outcome, stored.confirmed) == (
        AttemptState.FINISHED,
        False,
        Outcome.COMPLETE,
        True,
    )
