"""Answers no document promises, per provider on ``httpx.MockTransport``: bodies past the
size cap, answers that outlast the deadline, a request that cannot be built, 2xx bodies that
say failure, and secrets quoted back. (Over real HTTP, with memory measured:
``tests/faults/test_hostile_provider.py``.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.domain import CancelRequest, Outcome
from tui.core.errors import ProviderError, ProviderResponseError, ProviderUnavailable
from tui.core.lifecycle import Done, NotSent, Why
from tui.core.providers.transport import EXCHANGE
from tui.core.redact import Redactor

from .cases import CASES, RX_MARKED, pattern_cancel_body
from .fakes import make_settings

ALL = list(CASES)
SMALL_CAP = 64 * 1024


def request_for(key: str) -> CancelRequest:
    case = CASES[key]
    return CancelRequest(provider=key, order_id=case.ident, reason=case.reason, operator="t")


class Trickle(httpx.AsyncByteStream):
    """A body that arrives a byte at a time, forever (until the client gives up)."""

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"x": "'
        while True:
            await asyncio.sleep(self.pause_s)
            yield b"a"


class Endless(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"z" * 16384
        while True:
            yield chunk
            await asyncio.sleep(0)


# -- size cap ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ALL)
@pytest.mark.parametrize("body", ["declared", "endless"])
async def test_a_flood_is_cut_at_the_cap(api, provider_for, settings_for, key, body):
    """A look-up answer past the cap is an error; a cancel answer past it is unknown."""
    case = CASES[key]
    case.install_token(api)

    def flood(request: httpx.Request) -> httpx.Response:
        if body == "declared":
            return httpx.Response(200, content=b"y" * (SMALL_CAP + 1))
        return httpx.Response(200, stream=Endless())

    case.install_lookup(api, flood)
    api.add(case.cancel_method, case.cancel_path, flood)
    settings = settings_for(**{key: {"max_answer_bytes": SMALL_CAP}})
    provider = provider_for(key, settings=settings)

    with pytest.raises(ProviderResponseError, match="max_answer_bytes"):
        await provider.lookup(case.ident)
    assert len(api.calls("GET", case.lookup_path)) == 1  # a flood is not asked for again
    outcome = await provider.cancel(request_for(key))
    assert outcome.outcome is Outcome.UNKNOWN
    assert "larger than 65,536 bytes" in outcome.message
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1


async def test_an_answer_just_under_the_cap_is_read(api, provider_for, settings_for):
    case = CASES["ordermesh"]
    case.install_token(api)
    padded = {**case.found, "padding": "p" * (SMALL_CAP - 2_000)}
    case.install_lookup(api, (200, padded))
    provider = provider_for(
        "ordermesh", settings=settings_for(ordermesh={"max_answer_bytes": SMALL_CAP})
    )
    assert await provider.lookup(case.ident) is not None


# -- deadline ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ALL)
async def test_the_deadline_covers_the_whole_answer(api, provider_for, settings_for, key):
    """Each byte arrives well within any per-read timeout; the exchange as a whole does not."""
    case = CASES[key]
    case.install_token(api)

    def trickle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Trickle(0.01))

    case.install_lookup(api, trickle)
    api.add(case.cancel_method, case.cancel_path, trickle)
    provider = provider_for(key, settings=settings_for(**{key: {"timeout_s": 0.1}}))

    with pytest.raises(ProviderUnavailable, match=r"no complete answer within 0.1 s"):
        await provider.lookup(case.ident)
    outcome = await provider.cancel(request_for(key))
    assert outcome.outcome is Outcome.UNKNOWN
    assert "no complete answer within 0.1 s" in outcome.message
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1


async def test_a_deadline_that_strikes_while_connecting_means_nothing_was_sent(
    api, provider_for, settings_for
):
    """The provider's transport reports the exchange's progress (as ProviderTransport does
    when it opens a connection): stuck before any byte of the request was written, a cancel
    is an error — safe to send again — not unknown."""
    case = CASES["shoplazza"]
    attempts: list[str] = []

    async def stuck_connecting(request: httpx.Request) -> httpx.Response:
        attempts.append(request.method)
        seen = EXCHANGE.get()
        assert seen is not None
        seen.connecting = True
        await asyncio.sleep(60)
        raise AssertionError("the deadline should have struck")

    api.add(case.cancel_method, case.cancel_path, stuck_connecting)
    provider = provider_for("shoplazza", settings=settings_for(shoplazza={"timeout_s": 0.05}))
    outcome = await provider.cancel(request_for("shoplazza"))
    assert outcome.outcome is Outcome.ERROR
    assert outcome.message == "cannot connect within 0.05 s"
    assert len(attempts) == 3  # never reached the provider: retried like a refused connection


# -- a request that cannot be built was never sent -------------------------------------------


@pytest.mark.parametrize("key", ["pattern", "ordermesh"])
@pytest.mark.parametrize("token", ["tok\nInjected: 1", "tok\r\n", "tøken"])
async def test_an_issued_token_that_cannot_be_a_header_is_an_error_not_unknown(
    api, service_for, key, token
):
    case = CASES[key]
    api.add("POST", case.token_path, (200, {"access_token": token, "expires_in": 60}))
    service = service_for()

    final = await service.cancel(request_for(key))

    # The token is needed first for the look-up before sending: it cannot be sent either,
    # so the cancel is not sent — an error, never unknown.
    assert isinstance(final, NotSent) and final.why is Why.LOOKUP_FAILED
    assert final.outcome is not None and final.outcome.outcome is Outcome.ERROR
    assert "nothing was sent" in final.outcome.message
    assert api.calls(case.cancel_method, case.cancel_path) == []
    assert api.calls("GET", case.lookup_path) == []


async def test_a_url_httpx_refuses_is_an_error_and_nothing_is_sent(api, provider_for):
    """Settings refuse such a URL; should one get through anyway, it is still not unknown."""
    settings = make_settings()
    bad = settings.model_copy(
        update={"pattern": settings.pattern.model_copy(update={"token_url": "http://[::1"})}
    )
    provider = provider_for("pattern", settings=bad)
    outcome = await provider.cancel(request_for("pattern"))
    assert outcome.outcome is Outcome.ERROR
    assert api.requests == []
    with pytest.raises(ProviderError, match="nothing was sent"):
        await provider.lookup("MO-1")


# -- success is read, not assumed ------------------------------------------------------------

CONTRADICTIONS = [
    ("ordermesh", (200, {"success": False, "message": "Cancellation FAILED: order locked"})),
    ("ordermesh", (200, {"error": "Order could not be cancelled"})),
    ("ordermesh", (200, "Cancellation FAILED: order locked")),
    ("rxuniverse", (200, {"error": "Order could not be deleted: locked", "details": []})),
    ("pattern", (200, pattern_cancel_body(cancelled=()))),
    ("pattern", (206, pattern_cancel_body(cancelled=(), refused=((12, "packed", "Packed"),)))),
    ("pattern", (200, pattern_cancel_body(cancelled=(11,), success=False))),
    ("shoplazza", (200, CASES["shoplazza"].found)),  # OK, and the order is still open
]


@pytest.mark.parametrize(("key", "answer"), CONTRADICTIONS)
async def test_a_success_status_whose_body_says_failure_is_unknown_then_rechecked(
    api, service_for, key, answer
):
    case = CASES[key]
    case.install_token(api)
    api.add(case.cancel_method, case.cancel_path, answer)
    case.install_lookup(api)  # the look-up shows the order open, before and after
    service = service_for()

    final = await service.cancel(request_for(key))

    assert isinstance(final, Done)
    outcome = final.outcome
    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.confirmed is False and outcome.cancelled == []
    # One look-up before sending, one reconciling the answer that said failure.
    assert len(api.calls("GET", case.lookup_path)) == 2
    assert len(api.calls(case.cancel_method, case.cancel_path)) == 1


async def test_a_contradicted_success_that_the_look_up_shows_done_is_complete(api, service_for):
    case = CASES["rxuniverse"]
    api.add("DELETE", case.cancel_path, (200, {"error": "Order could not be deleted: retry"}))
    api.add("GET", case.lookup_path, (200, case.found))
    # Open before sending; marked for cancellation when the answer is reconciled.
    api.add("GET", case.status_path, (200, case.found_status), (200, RX_MARKED))
    final = await service_for().cancel(request_for("rxuniverse"))
    assert isinstance(final, Done)
    assert final.outcome.outcome is Outcome.COMPLETE and final.outcome.confirmed


@pytest.mark.parametrize(
    "answer", [(200, "OK"), (200, {"message": "Order cancelled successfully"})]
)
async def test_ordermesh_documented_successes_stay_complete(api, provider_for, answer):
    case = CASES["ordermesh"]
    case.install_token(api)
    api.add("POST", case.cancel_path, answer)
    outcome = await provider_for("ordermesh").cancel(request_for("ordermesh"))
    assert outcome.outcome is Outcome.COMPLETE


# -- redaction by value ----------------------------------------------------------------------

ISSUED = "issued-T0ken-8c1f2e"
SECRETS = {
    "pattern": "pattern-secret-value",
    "ordermesh": "om-secret-value",
    "shoplazza": "shop-token-value",
    "rxuniverse": "rx-lab-key-value",
}


@pytest.mark.parametrize("key", ALL)
async def test_secrets_quoted_in_a_success_are_removed(api, service_for, settings_for, key):
    case = CASES[key]
    if case.token_path:
        api.add("POST", case.token_path, (200, {"access_token": ISSUED, "expires_in": 60}))
    quoted = f"thanks {SECRETS[key]} / {ISSUED} / {json.dumps(SECRETS[key])}"
    success = {
        "pattern": (200, pattern_cancel_body(cancelled=(11,), message=quoted)),
        "ordermesh": (200, {"message": quoted}),
        "shoplazza": (
            200,
            {"order": {"id": case.ident, "status": "cancelled", "cancel_reason": quoted}},
        ),
        "rxuniverse": (200, {"orderNumber": "72544", "message": quoted}),
    }[key]
    api.add(case.cancel_method, case.cancel_path, success)
    case.install_lookup(api, (200, case.found))
    service = service_for(settings_for(rxuniverse={"api_key": SECRETS["rxuniverse"]}))

    final = await service.cancel(request_for(key))

    assert isinstance(final, Done)
    outcome = final.outcome
    dumped = outcome.model_dump_json()
    assert SECRETS[key] not in dumped
    if case.token_path:  # a token this provider issued is a secret of it too
        assert ISSUED not in dumped
    assert "***" in dumped
    assert outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL)


def test_the_redactor_catches_encoded_and_cut_forms() -> None:
    redactor = Redactor(["s3cret/+value"], shared=False)
    assert redactor.text("a s3cret/+value b") == "a *** b"
    assert redactor.text("q=s3cret%2F%2Bvalue") == "q=***"
    assert redactor.text("cut here s3cret/+v…") == "cut here ***…"
    assert redactor.text("nothing here…") == "nothing here…"
    redactor.add("abc")  # too short to be a secret worth blanking
    assert redactor.text("abc") == "abc"


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=4, max_size=12).filter(lambda s: len(s.strip()) >= 4),
    st.sampled_from(["status", "sku", "reason", "key", "identifier", "none"]),
    st.text(max_size=20),
    st.booleans(),
)
def test_redacting_a_model_skips_the_copy_only_when_the_full_pass_would_change_nothing(
    secret: str, where: str, noise: str, cut: bool
) -> None:
    """``Redactor.model`` returns a model untouched when no secret (nor the start of one cut
    by a length limit) is in any of its strings: the answer must be what the full pass
    (dump, redact every string, validate again) gives, wherever a secret hides."""
    from tui.core.domain import Line, Order

    redactor = Redactor([secret], shared=False)
    planted = secret[: len(secret) // 2] + "…" if cut else f"{noise}{secret}{noise}"
    text = planted if where != "none" else noise
    order = Order(
        provider="ordermesh",
        order_id="O-1",
        status=text if where == "status" else "open",
        identifiers={text if where == "key" else "po": text if where == "identifier" else "P"},
        lines=(
            Line(
                id="L1",
                sku=text if where == "sku" else None,
                not_cancellable_reason=text if where == "reason" else None,
            ),
        ),
    )
    full = Order.model_validate(redactor._walk(order.model_dump()))
    assert redactor.model(order) == full
    if full == order and not cut:
        assert redactor.model(order) is order  # nothing to remove: no copy made
