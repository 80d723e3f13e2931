"""Identifiers with URL specials stay one path segment or one query value, for every provider."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.domain import CancelRequest
from tui.core.identifiers import InvalidInput, validate_identifier
from tui.core.providers.base import segment

from .cases import PATTERN_TOKEN_PATH, pattern_cancel_body, pattern_status, token_answer

NASTY = ["a/b", "a&b=c", "a#b", "a b", "a?b", "%2F", "../x", "ü+€"]
ENCODED = {
    "a/b": "a%2Fb",
    "a&b=c": "a%26b%3Dc",
    "a#b": "a%23b",
    "a b": "a%20b",
    "a?b": "a%3Fb",
    "%2F": "%252F",
    "../x": "..%2Fx",
    "ü+€": "%C3%BC%2B%E2%82%AC",
}


def raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


@pytest.mark.parametrize("ident", NASTY)
def test_segment_encodes_everything_that_could_split_a_path(ident: str) -> None:
    assert segment(ident) == ENCODED[ident]


@pytest.mark.parametrize("ident", NASTY)
async def test_pattern_sends_the_identifier_as_one_query_value(ident, api, provider_for):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("t"))
    api.add("GET", "/hub/v1/orders/status", (200, pattern_status("processing", market_id=ident)))
    api.add("POST", "/hub/v1/orders/cancel_order", (200, pattern_cancel_body(cancelled=(1,))))
    provider = provider_for("pattern")

    order = await provider.lookup(ident)
    await provider.cancel(CancelRequest(provider="pattern", order_id=ident, reason="r"))

    assert order is not None and order.order_id == ident
    for call in api.requests[1:]:
        params = call.url.params
        assert list(params.keys()) == ["market_order_id"]  # '&' did not add a parameter
        assert params["market_order_id"] == ident
        assert call.url.fragment == ""  # '#' did not start a fragment
        assert b"#" not in call.url.raw_path


@pytest.mark.parametrize("ident", NASTY)
async def test_ordermesh_paths(ident, api, provider_for):
    api.add("POST", "/user/v1/clients/token", token_answer("t"))
    api.add("GET", f"/v1/orders/{ENCODED[ident]}", (200, {"id": ident, "status": "Pending"}))
    api.add("POST", f"/v1/orders/{ENCODED[ident]}/cancel", (200, "OK"))
    provider = provider_for("ordermesh")

    assert await provider.lookup(ident) is not None
    await provider.cancel(CancelRequest(provider="ordermesh", order_id=ident, reason="r"))

    assert [raw_path(r) for r in api.requests[1:]] == [
        f"/v1/orders/{ENCODED[ident]}",
        f"/v1/orders/{ENCODED[ident]}/cancel",
    ]
    assert all(r.url.query == b"" for r in api.requests)


@pytest.mark.parametrize("ident", NASTY)
async def test_shoplazza_paths(ident, api, provider_for):
    order = {"order": {"id": ident, "status": "cancelled"}}
    api.add("GET", f"/openapi/2022-01/orders/number/{ENCODED[ident]}", (200, order))
    api.add("POST", f"/openapi/2022-01/orders/{ENCODED[ident]}/cancel", (200, order))
    provider = provider_for("shoplazza")

    assert await provider.lookup(ident) is not None
    await provider.cancel(CancelRequest(provider="shoplazza", order_id=ident, reason="r"))

    assert len(api.requests) == 2
    assert all(r.url.query == b"" for r in api.requests)


@pytest.mark.parametrize("ident", NASTY)
async def test_rxuniverse_paths(ident, api, provider_for):
    enc = ENCODED[ident]
    api.add("GET", f"/api/v2/orders/{enc}", (200, {"orderNumber": "1", "poNumber": ident}))
    api.add("GET", f"/api/v2/orders/{enc}/status", (200, {"status": "P"}))
    api.add("DELETE", f"/api/v2/orders/{enc}", (200, {"orderNumber": "1"}))
    provider = provider_for("rxuniverse")

    order = await provider.lookup(ident)
    await provider.cancel(CancelRequest(provider="rxuniverse", order_id=ident, reason="1"))

    assert order is not None and order.found_by == "po"
    (delete,) = api.calls("DELETE", f"/api/v2/orders/{enc}")
    assert list(delete.url.params.keys()) == ["deleteReason"]


async def test_reason_text_with_specials_is_one_query_value(api, provider_for, settings_for):
    reason = "a&b=c #1 ?x/y"
    settings = settings_for(rxuniverse={"reason_codes": {reason: "odd code"}})
    api.add("DELETE", "/api/v2/orders/7", (200, {"orderNumber": "7"}))
    provider = provider_for("rxuniverse", settings=settings)

    await provider.cancel(CancelRequest(provider="rxuniverse", order_id="7", reason=reason))

    (call,) = api.requests
    assert dict(call.url.params) == {"deleteReason": reason}
    assert call.url.fragment == ""


_IDENTIFIERS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co")),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_IDENTIFIERS)
def test_any_valid_identifier_round_trips_through_a_path_segment(raw: str) -> None:
    try:
        ident = validate_identifier(raw)
    except InvalidInput:
        return
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(base_url="http://lab:4567", transport=httpx.MockTransport(handler)) as c:
        c.delete(f"/api/v2/orders/{segment(ident)}", params={"q": ident})

    (request,) = seen
    path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
    prefix, last = path.rsplit("/", 1)
    assert prefix == "/api/v2/orders"
    assert unquote(last) == ident
    assert request.url.params["q"] == ident
    assert list(request.url.params.keys()) == ["q"]


@pytest.mark.parametrize(("ident", "encoded"), [(".", "%2E"), ("..", "%2E%2E")])
def test_dot_segments_are_encoded_so_normalisation_cannot_remove_them(ident, encoded) -> None:
    assert segment(ident) == encoded


@pytest.mark.parametrize(("ident", "encoded"), [(".", "%2E"), ("..", "%2E%2E")])
async def test_a_dot_identifier_never_reaches_another_resource(ident, encoded, api, provider_for):
    api.add("DELETE", f"/api/v2/orders/{encoded}", (404, {"error": "No record found"}))
    api.add("POST", "/user/v1/clients/token", token_answer("t"))
    api.add("POST", f"/v1/orders/{encoded}/cancel", (404, {"message": "Record Not Found"}))
    api.add("POST", f"/openapi/2022-01/orders/{encoded}/cancel", (404, {"errors": ["x"]}))

    for key in ("rxuniverse", "ordermesh", "shoplazza"):
        provider = provider_for(key)
        outcome = await provider.cancel(CancelRequest(provider=key, order_id=ident, reason="1"))
        assert outcome.outcome.value == "not_found", key
