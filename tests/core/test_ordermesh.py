"""OrderMesh (seed 001): client token, whole-order and item cancel, both 200 forms."""

from __future__ import annotations

import functools
import json

import pytest

from tui.core.domain import CancelRequest, ItemSelection, Outcome
from tui.core.errors import ProviderAuthError
from tui.core.providers import base as base_module
from tui.core.providers.http import TokenSource

from .cases import OM_ID, ORDERMESH_TOKEN_PATH, ordermesh_order, token_answer

ORDER = f"/v1/orders/{OM_ID}"
CANCEL = f"/v1/orders/{OM_ID}/cancel"


def cancel_request(*items: ItemSelection, reason: str = "Customer changed mind") -> CancelRequest:
    return CancelRequest(provider="ordermesh", order_id=OM_ID, reason=reason, items=items)


@pytest.fixture
def ordermesh(api, provider_for, clock, monkeypatch):
    monkeypatch.setattr(base_module, "TokenSource", functools.partial(TokenSource, clock=clock))
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1", None), token_answer("om-2", None))
    return provider_for("ordermesh")


def sent_body(api) -> dict:
    (call,) = api.calls("POST", CANCEL)
    return json.loads(call.content)


# -- token ------------------------------------------------------------------------------------


async def test_client_token_request_and_24_hour_cache(api, ordermesh, clock):
    api.add("GET", ORDER, (200, ordermesh_order()))

    await ordermesh.lookup(OM_ID)
    clock.advance(86_400 - 31)
    await ordermesh.lookup(OM_ID)

    (token_call,) = api.calls("POST", ORDERMESH_TOKEN_PATH)
    assert token_call.url.host == "api.ordermesh.test"
    assert json.loads(token_call.content) == {
        "client_id": "om-client",
        "client_secret": "om-secret-value",
    }
    assert "authorization" not in token_call.headers

    clock.advance(1)
    await ordermesh.lookup(OM_ID)
    assert len(api.calls("POST", ORDERMESH_TOKEN_PATH)) == 2
    auths = [r.headers["authorization"] for r in api.calls("GET", ORDER)]
    assert auths == ["Bearer om-1", "Bearer om-1", "Bearer om-2"]


async def test_camel_case_token_answer_is_accepted(api, provider_for):
    api.add("POST", ORDERMESH_TOKEN_PATH, (200, {"accessToken": "camel", "expiresIn": 60}))
    api.add("GET", ORDER, (200, ordermesh_order()))
    provider = provider_for("ordermesh")
    await provider.lookup(OM_ID)
    assert api.calls("GET", ORDER)[0].headers["authorization"] == "Bearer camel"


async def test_token_refused(api, provider_for):
    api.add("POST", ORDERMESH_TOKEN_PATH, (401, {"message": "Invalid client credentials"}))
    provider = provider_for("ordermesh")
    with pytest.raises(ProviderAuthError, match="Invalid client credentials"):
        await provider.lookup(OM_ID)
    assert api.calls("GET", ORDER) == []


# -- look-up ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "resolvable"),
    [
        (OM_ID, True),
        (OM_ID.upper(), True),
        (OM_ID[:-1], False),
        (OM_ID + "0", False),
        ("670e58fe7741035996cf7d2g", False),
        ("#1004", False),
        ("", False),
    ],
)
def test_only_24_hex_ids_can_be_resolved(provider_for, identifier, resolvable):
    assert provider_for("ordermesh").can_resolve(identifier) is resolvable


async def test_lookup_maps_items_and_remaining_quantities(api, ordermesh):
    body = ordermesh_order(
        "Processing",
        {
            "id": "i1",
            "sku": "MUG",
            "name": "Mug",
            "quantity": 3,
            "cancelledQuantity": 1,
            "status": "Processing",
        },
        {"id": "i2", "sku": "CAP", "quantity": 1, "status": "Shipped"},
        {"id": "i3", "sku": "PEN", "quantity": 2, "cancelledQuantity": 2, "status": "Pending"},
    )
    api.add("GET", ORDER, (200, body))

    order = await ordermesh.lookup(OM_ID)

    assert order is not None
    assert order.order_id == OM_ID
    assert order.identifiers == {
        "order_id": OM_ID,
        "external_order_id": "EXT-9",
        "safe_id": "SAFE-9",
    }
    i1, i2, i3 = order.lines
    assert (i1.quantity, i1.cancellable, i1.description) == (2, True, "Mug")
    assert (i2.cancellable, i2.not_cancellable_reason) == (False, "item is Shipped")
    assert (i3.quantity, i3.cancellable, i3.not_cancellable_reason) == (
        0,
        False,
        "nothing left to cancel",
    )
    assert order.cancellable and not order.cancelled


async def test_lookup_404(api, ordermesh):
    api.add("GET", ORDER, (404, {"message": "Record Not Found"}))
    assert await ordermesh.lookup(OM_ID) is None


# -- cancel -----------------------------------------------------------------------------------


async def test_whole_order_cancel_sends_empty_order_items(api, ordermesh):
    api.add("POST", CANCEL, (200, "OK"))

    outcome = await ordermesh.cancel(cancel_request())

    assert sent_body(api) == {
        "cancelReason": "Customer changed mind",
        "orderItems": [],
        "triggerFlow": True,
    }
    assert api.calls("GET", ORDER) == []  # nothing to resolve
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is True
    assert outcome.message == "OK"
    assert [(c.id, c.quantity) for c in outcome.cancelled] == [(OM_ID, None)]


async def test_item_cancel_with_quantities(api, ordermesh):
    api.add("POST", CANCEL, (200, {"message": "Order cancelled successfully"}))

    outcome = await ordermesh.cancel(
        cancel_request(ItemSelection(id="i1", quantity=2), ItemSelection(id="i2", quantity=1))
    )

    assert sent_body(api)["orderItems"] == [
        {"id": "i1", "quantity": 2},
        {"id": "i2", "quantity": 1},
    ]
    assert api.calls("GET", ORDER) == []
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.message == "Order cancelled successfully"
    assert [(c.id, c.quantity) for c in outcome.cancelled] == [("i1", 2), ("i2", 1)]


async def test_item_without_quantity_is_resolved_by_a_lookup(api, ordermesh):
    body = ordermesh_order(
        "Processing",
        {"id": "i1", "quantity": 5, "cancelledQuantity": 2, "status": "Processing"},
        {"id": "i2", "quantity": 4, "status": "Pending"},
    )
    api.add("GET", ORDER, (200, body))
    api.add("POST", CANCEL, (200, "OK"))

    outcome = await ordermesh.cancel(
        cancel_request(ItemSelection(id="i1"), ItemSelection(id="i2", quantity=1))
    )

    assert sent_body(api)["orderItems"] == [
        {"id": "i1", "quantity": 3},
        {"id": "i2", "quantity": 1},
    ]
    assert [r.method for r in api.requests[1:]] == ["GET", "POST"]  # look-up, then cancel
    assert outcome.outcome is Outcome.COMPLETE


async def test_item_with_nothing_left_is_an_error_and_nothing_is_sent(api, ordermesh):
    body = ordermesh_order(
        "Processing", {"id": "i1", "quantity": 2, "cancelledQuantity": 2, "status": "Pending"}
    )
    api.add("GET", ORDER, (200, body))

    outcome = await ordermesh.cancel(cancel_request(ItemSelection(id="i1")))

    assert outcome.outcome is Outcome.ERROR
    assert "nothing left to cancel" in outcome.message
    assert api.calls("POST", CANCEL) == []


async def test_trigger_flow_comes_from_settings(api, provider_for, settings_for):
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("POST", CANCEL, (200, "OK"))
    provider = provider_for("ordermesh", settings=settings_for(ordermesh={"trigger_flow": False}))

    await provider.cancel(cancel_request())

    assert sent_body(api)["triggerFlow"] is False


async def test_400_is_refused_in_the_providers_words(api, ordermesh):
    api.add("POST", CANCEL, (400, {"message": "Order is already shipped and cannot be cancelled"}))

    outcome = await ordermesh.cancel(cancel_request())

    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 400
    assert outcome.message == "Order is already shipped and cannot be cancelled"


async def test_401_reauthenticates_once_then_resends(api, ordermesh):
    api.add("POST", CANCEL, (401, {"message": "Unauthorized"}), (200, "OK"))

    outcome = await ordermesh.cancel(cancel_request())

    assert outcome.outcome is Outcome.COMPLETE
    auths = [r.headers["authorization"] for r in api.calls("POST", CANCEL)]
    assert auths == ["Bearer om-1", "Bearer om-2"]


async def test_403_is_an_error(api, ordermesh):
    api.add("POST", CANCEL, (403, {"message": "Forbidden: missing permission"}))
    outcome = await ordermesh.cancel(cancel_request())
    assert outcome.outcome is Outcome.ERROR
    assert outcome.http_status == 403
    assert "missing permission" in outcome.message
    assert len(api.calls("POST", CANCEL)) == 1


async def test_404_is_not_found(api, ordermesh):
    api.add("POST", CANCEL, (404, {"message": "Record Not Found"}))
    outcome = await ordermesh.cancel(cancel_request())
    assert outcome.outcome is Outcome.NOT_FOUND
    assert outcome.message == "Record Not Found"


async def test_500_is_unknown(api, ordermesh):
    api.add("POST", CANCEL, (500, {"message": "Unhandled error"}))
    outcome = await ordermesh.cancel(cancel_request())
    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.confirmed is False
    assert "Unhandled error" in outcome.message
    assert len(api.calls("POST", CANCEL)) == 1
