"""Promise 2, continued: every provider response parser takes arbitrary bytes.

For each adapter, look-up and cancel (and the token exchange) meet any status code, content
type, content encoding, ``Retry-After`` and body — random bytes, random JSON, or JSON shaped
like the provider's own with random values. A look-up returns an order, None, or a typed
``ProviderError``; a cancel always returns an outcome, and never a success the answer does not
support. Nothing else may escape.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.core.domain import CancelOutcome, CancelRequest, ItemSelection, Order, Outcome
from tui.core.errors import ProviderError
from tui.core.providers.factory import build_provider
from tui.core.settings import Settings
from tui.core.text import clean

from .test_bad_input import OFFLINE_SETTINGS

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

IDENTIFIER = {
    "pattern": "114-3941689-8772232",
    "ordermesh": "670e58fe7741035996cf7d20",
    "shoplazza": "633130-00000004",
    "rxuniverse": "72544",
}
SHAPE_KEYS = {
    "pattern": [
        "market_order_id",
        "order_status",
        "sub_orders",
        "sub_order_status",
        "items",
        "sku",
        "quantity",
        "success",
        "message",
        "cancelled_orders",
        "non_cancellable_orders",
        "warehouse_order_id",
        "status",
        "reason",
    ],
    "ordermesh": [
        "id",
        "status",
        "orderItems",
        "items",
        "sku",
        "quantity",
        "cancelledQuantity",
        "name",
        "externalOrderId",
        "safeId",
        "message",
    ],
    "shoplazza": [
        "order",
        "id",
        "number",
        "status",
        "financial_status",
        "fulfillment_status",
        "line_items",
        "title",
        "quantity",
        "sku",
        "cancel_reason",
    ],
    "rxuniverse": [
        "orderNumber",
        "trayNumber",
        "poNumber",
        "status",
        "statusDesc",
        "currentStation",
        "currentStationDesc",
        "error",
        "details",
        "message",
    ],
}
COMMON_KEYS = [
    "error",
    "errors",
    "message",
    "error_description",
    "details",
    "access_token",
    "expires_in",
    "expiresIn",
    "accessToken",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "cancelled",
            "canceled",
            "pending",
            "shipped",
            "C",
            "Pending",
            "Order marked for cancelation",
            "\x1b[31m",
            "[bold]x[/]",
            "",
        ]
    ),
)


def shaped(provider: str) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(SHAPE_KEYS[provider] + COMMON_KEYS)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=6),
        max_leaves=25,
    )


def bodies(provider: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        shaped(provider).map(lambda v: json.dumps(v, allow_nan=True).encode()),
        st.text(max_size=100).map(str.encode),
        st.sampled_from(
            [
                b"",
                b"OK",
                b"<html><body>502</body></html>",
                b"[" * 5000,
                b"{" * 50,
                b'{"a":' + b"9" * 5000 + b"}",
                b"\xff\xfe{}",
                b"null",
                b"1e999",
            ]
        ),
    )


statuses = st.one_of(
    st.sampled_from(
        [200, 201, 202, 204, 206, 301, 400, 401, 403, 404, 406, 409, 422, 429, 500, 502, 503, 504]
    ),
    st.integers(min_value=200, max_value=599),
)
latin1 = st.text(st.characters(max_codepoint=0xFF, exclude_characters="\r\n\x00"), max_size=20)
headers = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
                "text/html",
                "application/octet-stream",
                "application/json; charset=x-nonsense",
                "",
            ]
        ),
        "content-encoding": st.sampled_from(["gzip", "deflate", "identity", "nonsense"]),
        "retry-after": st.one_of(latin1, st.sampled_from(["²", "1", "99999999999", "-1"])),
        "request-id": latin1,
    },
)


class Scripted:
    """Answers every call except the token exchange with the fuzzed response."""

    def __init__(self, status: int, head: dict[str, str], body: bytes, *, token: bool = False):
        self.answer = (status, head, body)
        self.fuzz_token = token
        self.sent: list[tuple[str, str, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        is_token = request.url.path.endswith("token")
        if is_token and not self.fuzz_token:
            return httpx.Response(200, json={"access_token": "T0KEN", "expires_in": 3600})
        if not is_token and self.fuzz_token:
            return httpx.Response(404, json={"error": "Order not found"})
        status, head, body = self.answer
        raw = [(k.encode(), v.encode("latin-1")) for k, v in head.items()]
        self.sent.append((request.method, request.url.path, status))
        return httpx.Response(status, headers=raw, content=body)


async def no_sleep(_seconds: float) -> None:
    return None


async def exercise(provider: str, script: Scripted, operation: str) -> Any:
    adapter = build_provider(
        provider,
        Settings(**OFFLINE_SETTINGS),
        transport=httpx.MockTransport(script),
        sleep=no_sleep,
    )
    try:
        if operation == "lookup":
            try:
                return await adapter.lookup(IDENTIFIER[provider])
            except ProviderError as exc:
                return exc
        items = (ItemSelection(id="item-1"),) if provider == "ordermesh" else ()
        return await adapter.cancel(
            CancelRequest(
                provider=provider,
                order_id=IDENTIFIER[provider],
                reason="Customer request",
                items=items,
            )
        )
    finally:
        await adapter.aclose()


def check_lookup(result: Any) -> None:
    if isinstance(result, ProviderError):
        assert result.message == clean(result.message, max_chars=10_000)
        return
    assert result is None or isinstance(result, Order)
    if isinstance(result, Order):
        texts = [result.order_id, result.status, *result.identifiers.values()]
        for line in result.lines:
            texts += [line.id, line.status, line.sku or "", line.not_cancellable_reason or ""]
        assert all(text == clean(text) for text in texts)


def check_cancel(outcome: Any, script: Scripted) -> None:
    assert isinstance(outcome, CancelOutcome)
    assert outcome.message == clean(outcome.message, max_chars=10_000)
    cancels = [s for m, p, s in script.sent if m in ("POST", "DELETE")]
    if outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL) or outcome.confirmed:
        assert cancels and 200 <= cancels[-1] < 300, "a success the answer does not support"
    if cancels and 200 <= cancels[-1] < 300:
        assert outcome.outcome is not Outcome.ERROR, "a 2xx answer called provably not applied"
    if cancels and cancels[-1] >= 500:
        assert outcome.outcome is Outcome.UNKNOWN


PROVIDERS = ["pattern", "ordermesh", "shoplazza", "rxuniverse"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("operation", ["lookup", "cancel"])
def test_any_answer_gives_an_outcome_or_a_typed_error(provider: str, operation: str) -> None:
    @FUZZ
    @given(status=statuses, head=headers, body=bodies(provider))
    @example(status=200, head={"content-type": "application/json"}, body=b"[" * 100_000)
    @example(status=429, head={"retry-after": "²"}, body=b"")
    @example(status=200, head={"content-type": "application/json"}, body=b'{"message": "Ord')
    @example(status=202, head={}, body=b"")
    @example(status=200, head={"content-encoding": "gzip"}, body=b"not gzip")
    def run(status: int, head: dict[str, str], body: bytes) -> None:
        script = Scripted(status, head, body)
        result = asyncio.run(exercise(provider, script, operation))
        if operation == "lookup":
            check_lookup(result)
        else:
            check_cancel(result, script)

    run()


@pytest.mark.parametrize("provider", ["pattern", "ordermesh"])
def test_any_token_answer_gives_a_typed_error_or_a_token(provider: str) -> None:
    @FUZZ
    @given(status=statuses, head=headers, body=bodies(provider))
    @example(status=200, head={}, body=b'{"access_token": "x", "expires_in": ' + b"9" * 400 + b"}")
    @example(status=200, head={}, body=b'{"access_token": "x", "expires_in": -1e999}')
    @example(status=200, head={}, body=b'{"access_token": ["x"]}')
    def run(status: int, head: dict[str, str], body: bytes) -> None:
        script = Scripted(status, head, body, token=True)
        result = asyncio.run(exercise(provider, script, "lookup"))
        assert result is None or isinstance(result, ProviderError)

    run()
