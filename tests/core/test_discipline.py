"""The HTTP rules every adapter shares, checked once per provider.

401 → one fresh token and a resend; 429 → honour Retry-After (bounded) and resend; look-ups
resend on 502/503/504 and connection failures with backoff; a cancel is resent only when it
provably never took effect, and a lost answer is ``unknown``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tui.core.domain import CancelRequest, Outcome
from tui.core.errors import (
    CircuitOpen,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
)
from tui.core.providers.circuit import CircuitBreaker, CircuitState
from tui.core.providers.http import parse_retry_after

from .cases import CASES, Case
from .fakes import FakeClock

ALL = list(CASES)
TOKENED = ["pattern", "ordermesh"]


def request_for(case: Case) -> CancelRequest:
    return CancelRequest(
        provider=case.key, order_id=case.ident, reason=case.reason, operator="tester"
    )


@pytest.fixture(params=ALL)
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


def _auth_of(request: httpx.Request) -> str | None:
    return request.headers.get("authorization")


# -- 429 --------------------------------------------------------------------------------------


async def test_lookup_honours_retry_after_then_succeeds(case: Case, api, provider_for, sleep):
    case.install_token(api)
    case.install_lookup(api, (429, {"error": "slow down"}, {"Retry-After": "3"}), (200, case.found))
    provider = provider_for(case.key)

    order = await provider.lookup(case.ident)

    assert order is not None
    assert len(api.calls("GET", case.lookup_path)) == 2
    assert sleep.delays == [3.0]


async def test_cancel_honours_retry_after_then_succeeds(case: Case, api, provider_for, sleep):
    case.install_token(api)
    api.add(
        case.cancel_method,
        case.cancel_path,
        (429, {"errors": ["Too Many Requests"]}, {"Retry-After": "2"}),
        case.cancel_ok,
    )
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.COMPLETE
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 2
    assert sleep.delays == [2.0]


@pytest.mark.parametrize(("header", "bound", "expected"), [("120", None, 10.0), ("9", 1.5, 1.5)])
async def test_retry_after_is_bounded(
    case: Case, api, provider_for, sleep, header, bound, expected
):
    case.install_token(api)
    api.add(
        case.cancel_method, case.cancel_path, (429, {}, {"Retry-After": header}), case.cancel_ok
    )
    http = {} if bound is None else {"max_retry_after_s": bound}
    provider = provider_for(case.key, **http)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.COMPLETE
    assert sleep.delays == [expected]


async def test_429_without_retry_after_backs_off(case: Case, api, provider_for, sleep):
    case.install_token(api)
    case.install_lookup(api, 429, 429, (200, case.found))
    provider = provider_for(case.key)

    assert await provider.lookup(case.ident) is not None
    assert len(sleep.delays) == 2
    assert all(0.2 <= d <= 2.2 for d in sleep.delays)


async def test_lookup_still_rate_limited_gives_up(case: Case, api, provider_for, sleep):
    case.install_token(api)
    case.install_lookup(api, (429, {}, {"Retry-After": "1"}))
    provider = provider_for(case.key)

    with pytest.raises(ProviderUnavailable, match="rate limited") as info:
        await provider.lookup(case.ident)
    assert info.value.http_status == 429
    assert len(api.calls("GET", case.lookup_path)) == 4
    assert sleep.delays == [1.0, 1.0, 1.0]


async def test_cancel_still_rate_limited_is_an_error_not_unknown(case: Case, api, provider_for):
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, (429, {}, {"Retry-After": "0"}))
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    # A 429 provably applied nothing: the outcome is settled, not unknown.
    assert outcome.outcome is Outcome.ERROR
    assert outcome.http_status == 429
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 4


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == (
        7.0
    )
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == (
        0.0
    )
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") is None


# -- look-up retries ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_lookup_retries_transient_statuses_with_backoff(
    case: Case, api, provider_for, sleep, status
):
    case.install_token(api)
    case.install_lookup(api, (status, "<html>bad gateway</html>"), status, (200, case.found))
    provider = provider_for(case.key)

    assert await provider.lookup(case.ident) is not None
    assert len(api.calls("GET", case.lookup_path)) == 3
    first, second = sleep.delays
    assert 0.2 <= first <= 0.4
    assert 0.4 <= second <= 0.6


async def test_lookup_gives_up_after_transient_failures(case: Case, api, provider_for):
    case.install_token(api)
    case.install_lookup(api, 503)
    provider = provider_for(case.key)

    with pytest.raises(ProviderUnavailable, match=r"unavailable \(503\)") as info:
        await provider.lookup(case.ident)
    assert info.value.http_status == 503
    assert len(api.calls("GET", case.lookup_path)) == 3


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout])
async def test_lookup_retries_connection_failures(case: Case, api, provider_for, sleep, failure):
    case.install_token(api)
    case.install_lookup(api, failure, (200, case.found))
    provider = provider_for(case.key)

    assert await provider.lookup(case.ident) is not None
    assert len(api.calls("GET", case.lookup_path)) == 2
    assert len(sleep.delays) == 1


async def test_lookup_unreachable_is_provider_unavailable(case: Case, api, provider_for):
    case.install_token(api)
    case.install_lookup(api, httpx.ConnectError)
    provider = provider_for(case.key)

    with pytest.raises(ProviderUnavailable, match="cannot connect"):
        await provider.lookup(case.ident)
    assert len(api.calls("GET", case.lookup_path)) == 3


async def test_lookup_404_is_none(case: Case, api, provider_for):
    case.install_token(api)
    case.install_lookup(api, (404, {"error": "No record found", "details": ["Provided: x"]}))
    provider = provider_for(case.key)

    assert await provider.lookup(case.ident) is None
    assert len(api.calls("GET", case.lookup_path)) == 1


# -- cancel: resent only when it provably never took effect --------------------------------------


async def test_cancel_resent_after_connect_error(case: Case, api, provider_for, sleep):
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, httpx.ConnectError, case.cancel_ok)
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.COMPLETE
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 2
    assert len(sleep.delays) == 1


async def test_cancel_never_connected_is_an_error(case: Case, api, provider_for):
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, httpx.ConnectError)
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.ERROR
    assert "cannot connect" in outcome.message
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 3


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (httpx.ReadTimeout, "no answer in time"),
        (httpx.WriteTimeout, "no answer in time"),
        (httpx.RemoteProtocolError, "connection lost"),
        (httpx.ReadError, "connection lost"),
    ],
)
async def test_cancel_lost_after_sending_is_unknown_and_never_resent(
    case: Case, api, provider_for, sleep, failure, words
):
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, failure, case.cancel_ok)
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.confirmed is False
    assert outcome.cancelled == []
    assert words in outcome.message
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_cancel_5xx_is_unknown_and_never_resent(case: Case, api, provider_for, status):
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, (status, {"error": "upstream exploded"}))
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.http_status == status
    assert "upstream exploded" in outcome.message
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1


@pytest.mark.parametrize("key", ["pattern", "shoplazza", "rxuniverse"])  # OrderMesh: text 200
async def test_cancel_success_with_an_unreadable_body_is_unknown(key, api, provider_for):
    case = CASES[key]
    case.install_token(api)
    api.add(
        case.cancel_method,
        case.cancel_path,
        (200, b"<html>proxy page</html>", {"content-type": "text/html"}),
    )
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.http_status == 200
    assert "unreadable" in outcome.message


async def test_request_id_is_kept_with_the_outcome(case: Case, api, provider_for):
    case.install_token(api)
    status, body = case.cancel_ok
    api.add(case.cancel_method, case.cancel_path, (status, body, {"Request-Id": "req-\x1b[1m42"}))
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.request_id == "req-42"  # kept, and sanitised


# -- 401 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", TOKENED)
async def test_lookup_401_fetches_a_new_token_once(key, api, provider_for):
    case = CASES[key]
    case.install_token(api, "tok-1", "tok-2")
    case.install_lookup(api, (401, {"error": "token expired"}), (200, case.found))
    provider = provider_for(key)

    assert await provider.lookup(case.ident) is not None

    calls = api.calls("GET", case.lookup_path)
    assert [_auth_of(r) for r in calls] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(api.calls("POST", case.token_path)) == 2


@pytest.mark.parametrize("key", TOKENED)
async def test_cancel_401_fetches_a_new_token_once_and_resends(key, api, provider_for):
    case = CASES[key]
    case.install_token(api, "tok-1", "tok-2")
    api.add(case.cancel_method, case.cancel_path, (401, {"error": "expired"}), case.cancel_ok)
    provider = provider_for(key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.COMPLETE
    calls = api.calls(case.cancel_method, case.cancel_path)
    assert [_auth_of(r) for r in calls] == ["Bearer tok-1", "Bearer tok-2"]


@pytest.mark.parametrize("key", TOKENED)
async def test_a_second_401_is_an_auth_failure(key, api, provider_for):
    case = CASES[key]
    case.install_token(api, "tok-1", "tok-2", "tok-3")
    api.add(case.cancel_method, case.cancel_path, (401, {"error": "no"}))
    case.install_lookup(api, (401, {"error": "no"}))
    provider = provider_for(key)

    outcome = await provider.cancel(request_for(case))
    assert outcome.outcome is Outcome.ERROR
    assert outcome.http_status == 401
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 2

    with pytest.raises(ProviderAuthError) as info:
        await provider.lookup(case.ident)
    assert info.value.http_status == 401
    assert len(api.calls("GET", case.lookup_path)) == 2


async def test_static_credentials_refused_is_an_error_sent_once(api, provider_for, settings_for):
    """Shoplazza and Rx-Universe have no token to renew: one 401 is final."""
    settings = settings_for(rxuniverse={"api_key": "lab-key"})
    for key in ("shoplazza", "rxuniverse"):
        case = CASES[key]
        api.add(case.cancel_method, case.cancel_path, (401, {"error": "bad token"}))
        provider = provider_for(key, settings=settings)

        outcome = await provider.cancel(request_for(case))

        assert outcome.outcome is Outcome.ERROR
        assert outcome.http_status == 401
        assert "bad token" in outcome.message
        assert len(api.calls(case.cancel_method, case.cancel_path)) == 1


# -- circuit breaker ---------------------------------------------------------------------------


async def test_circuit_opens_after_repeated_failures_and_refuses_without_sending(api, provider_for):
    case = CASES["shoplazza"]
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=5, cooldown_s=20.0, clock=clock)
    case.install_lookup(api, 503)
    api.add(case.cancel_method, case.cancel_path, case.cancel_ok)
    provider = provider_for(case.key, breaker=breaker)

    with pytest.raises(ProviderUnavailable):
        await provider.lookup(case.ident)  # 3 failures
    with pytest.raises(ProviderUnavailable):
        await provider.lookup(case.ident)  # 2 more: the circuit opens
    assert breaker.state is CircuitState.OPEN
    sent = len(api.requests)
    assert sent == 5

    with pytest.raises(CircuitOpen, match="paused"):
        await provider.lookup(case.ident)
    outcome = await provider.cancel(request_for(case))
    assert outcome.outcome is Outcome.ERROR  # nothing was sent, so nothing is unknown
    assert "paused" in outcome.message
    assert len(api.requests) == sent

    # After the cool-down one trial goes through; a success closes the circuit.
    clock.advance(20.0)
    assert breaker.state is CircuitState.HALF_OPEN
    case.install_lookup(api, (200, case.found))
    assert await provider.lookup(case.ident) is not None
    assert breaker.state is CircuitState.CLOSED
    assert len(api.requests) == sent + 1


async def test_answers_about_one_order_do_not_trip_the_circuit(api, provider_for):
    case = CASES["shoplazza"]
    breaker = CircuitBreaker(threshold=2, clock=FakeClock())
    case.install_lookup(api, (404, {"errors": ["Unable to find resource"]}))
    provider = provider_for(case.key, breaker=breaker)
    for _ in range(5):
        assert await provider.lookup(case.ident) is None
    assert breaker.state is CircuitState.CLOSED


def test_circuit_breaker_half_open_lets_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown_s=10.0, clock=clock)
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()
    assert breaker.retry_in_s == 10.0
    clock.advance(10.0)
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()  # the trial failed: open again for a full cool-down
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow() and breaker.allow()


# -- errors are one sanitised line ---------------------------------------------------------------


async def test_provider_error_text_is_sanitised(case: Case, api, provider_for):
    case.install_token(api)
    case.install_lookup(api, (418, {"error": "\x1b]0;owned\x07tea\x1b[31m pot", "details": []}))
    provider = provider_for(case.key)

    with pytest.raises(ProviderError) as info:
        await provider.lookup(case.ident)
    assert info.value.message == "tea pot"
    assert info.value.http_status == 418


@pytest.mark.parametrize("key", TOKENED)
async def test_circuit_recovers_when_the_trial_needs_a_fresh_token(key, api, provider_for):
    """The trial after a cool-down must be able to fetch its token through the same breaker."""
    case = CASES[key]
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown_s=20.0, clock=clock)
    api.add("POST", case.token_path, httpx.ConnectError)
    provider = provider_for(key, breaker=breaker)
    with pytest.raises(ProviderUnavailable):
        await provider.lookup(case.ident)
    assert breaker.state is CircuitState.OPEN

    clock.advance(20.0)
    api.replace("POST", case.token_path, (200, {"access_token": "tok-9", "expires_in": 3600}))
    case.install_lookup(api, (200, case.found))

    assert await provider.lookup(case.ident) is not None
    assert breaker.state is CircuitState.CLOSED


async def test_a_trial_cancelled_mid_flight_does_not_wedge_the_circuit(api, provider_for):
    """Ctrl-C (task cancellation) during the half-open trial must not pause calls forever."""
    case = CASES["shoplazza"]
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown_s=20.0, clock=clock)
    provider = provider_for(case.key, breaker=breaker)
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.advance(20.0)

    reached = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        reached.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    case.install_lookup(api, hang, (200, case.found))
    trial = asyncio.create_task(provider.lookup(case.ident))
    await reached.wait()
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial

    assert await provider.lookup(case.ident) is not None
    assert breaker.state is CircuitState.CLOSED


def _garbled(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        content=b"\x00not gzip at all",
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )


async def test_an_undecodable_cancel_answer_is_unknown_not_a_crash(case: Case, api, provider_for):
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, _garbled)
    provider = provider_for(case.key)

    outcome = await provider.cancel(request_for(case))

    assert outcome.outcome is Outcome.UNKNOWN
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1


async def test_an_undecodable_lookup_answer_is_a_provider_error(case: Case, api, provider_for):
    case.install_token(api)
    case.install_lookup(api, _garbled)
    provider = provider_for(case.key)

    with pytest.raises(ProviderUnavailable):
        await provider.lookup(case.ident)
