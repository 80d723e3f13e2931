"""OrderMesh (seed 001): orders of items; cancel the whole order or items by quantity.

The order look-up's shape and status values are unconfirmed by the vendor: this adapter reads
``id``, ``status`` and ``orderItems[{id, sku, quantity, cancelledQuantity, status}]`` and
tolerates anything else.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx

from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    Line,
    Order,
    Outcome,
)
from tui.core.errors import ProviderError
from tui.core.provider_settings import ClientCredentials
from tui.core.providers.base import (
    BearerTokenProvider,
    as_dict,
    as_list,
    json_body,
    lookup_failure,
    segment,
)
from tui.core.providers.registry import ProviderSpec
from tui.core.text import clean

_ORDER_ID = re.compile(r"^[0-9a-fA-F]{24}$")
# Item statuses that still allow a cancel. The vendor's OrderItemStatus values are
# unconfirmed; these are the ones its sandbox-visible behaviour suggests.
_OPEN_ITEM_STATUS = frozenset({"pending", "processing", "new", "open", "partiallycancelled"})
_CANCELLED = frozenset({"cancelled", "canceled"})
_FAILURE_WORDS = re.compile(r"fail|error|denied|not cancel|unable|could not", re.IGNORECASE)
"""Words in a plain-text 200 that contradict the documented "OK"."""


class OrderMeshSettings(ClientCredentials):
    trigger_flow: bool = True
    """Sent as ``triggerFlow`` on cancel. Its meaning is unconfirmed; true as in the docs."""


SPEC = ProviderSpec(
    key="ordermesh",
    label="OrderMesh",
    settings=OrderMeshSettings,
    adapter="tui.core.providers.ordermesh:OrderMeshProvider",
    order=20,
    secrets=("client_secret",),
    required=("client_id", "client_secret"),
    supports_item_cancel=True,
    identifier=_ORDER_ID.pattern,
    identifier_hint="its order ids are 24 hexadecimal characters",
    sandbox="tui.sandbox.providers.ordermesh",
)


class OrderMeshProvider(BearerTokenProvider):
    spec: ClassVar[ProviderSpec] = SPEC

    default_token_ttl_s: ClassVar[float] = 86400.0
    """Documented: service client tokens are valid for 24 hours."""

    def __init__(self, settings: OrderMeshSettings, client: httpx.AsyncClient, **http: Any) -> None:
        self.settings = settings
        super().__init__(client, **http)

    def token_request(self) -> tuple[str, dict[str, str]]:
        secret = self.settings.client_secret
        return "/user/v1/clients/token", {
            "client_id": self.settings.client_id or "",
            "client_secret": secret.get_secret_value() if secret else "",
        }

    # -- look-up ---------------------------------------------------------------------------

    async def _lookup(self, identifier: str) -> Order | None:
        response = await self.http.request(
            "GET", f"/v1/orders/{segment(identifier)}", idempotent=True
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise lookup_failure(self.key, response)
        body = as_dict(json_body(response, self.key), self.key, "order")
        return self._order(identifier, body)

    def _order(self, identifier: str, body: dict[str, Any]) -> Order:
        order_id = clean(body.get("id") or identifier, max_chars=64)
        status = clean(body.get("status"), max_chars=60)
        lines: list[Line] = []
        for item in as_list(body.get("orderItems") or body.get("items")):
            if not isinstance(item, dict):
                continue
            quantity = item.get("quantity") if isinstance(item.get("quantity"), int) else 0
            done = item.get("cancelledQuantity")
            remaining = max(0, quantity - (done if isinstance(done, int) else 0))
            item_status = clean(item.get("status"), max_chars=60)
            is_open = item_status.lower() in _OPEN_ITEM_STATUS and remaining > 0
            reason = None
            if not is_open:
                reason = (
                    "nothing left to cancel"
                    if remaining == 0
                    else (f"item is {item_status or 'in an unknown state'}")
                )
            lines.append(
                Line(
                    id=clean(item.get("id"), max_chars=64),
                    sku=clean(item.get("sku"), max_chars=80) or None,
                    description=clean(item.get("name"), max_chars=120) or None,
                    quantity=remaining,
                    status=item_status,
                    cancellable=is_open,
                    not_cancellable_reason=reason,
                )
            )
        identifiers = {"order_id": order_id}
        for wire, kind in (("externalOrderId", "external_order_id"), ("safeId", "safe_id")):
            if body.get(wire):
                identifiers[kind] = clean(body[wire], max_chars=64)
        cancellable = any(line.cancellable for line in lines)
        return Order(
            provider=self.key,
            order_id=order_id,
            found_by="order_id",
            identifiers=identifiers,
            status=status,
            lines=tuple(lines),
            cancellable=cancellable,
            not_cancellable_reason=None if cancellable else "no item can be cancelled",
            cancelled=status.lower() in _CANCELLED,
        )

    # -- cancel ----------------------------------------------------------------------------

    async def _cancel(self, request: CancelRequest) -> CancelOutcome:
        items = await self._with_quantities(request)
        body = {
            "cancelReason": request.reason,
            "orderItems": [{"id": item.id, "quantity": item.quantity} for item in items],
            "triggerFlow": self.settings.trigger_flow,
        }
        response = await self.http.request(
            "POST", f"/v1/orders/{segment(request.order_id)}/cancel", idempotent=False, json=body
        )
        status = response.status_code
        rid = self.request_id(response)
        if status == 200:
            # Documented as text/plain "OK"; the vendor's example shows JSON {"message"}.
            says = self._failure_said(response)
            if says is not None:
                return self.contradicted(request, response, says)
            message = self._success_message(response)
            cancelled = [CancelledLine(id=item.id, quantity=item.quantity) for item in items] or [
                CancelledLine(id=request.order_id)
            ]
            return self.outcome(
                request,
                Outcome.COMPLETE,
                http_status=200,
                message=message,
                confirmed=True,
                cancelled=cancelled,
                request_id=rid,
            )
        if status == 400:
            # The order or items are in a state that does not allow it, or the ask was
            # malformed: either way nothing was cancelled, in the provider's own words.
            return self.answered(request, response, Outcome.REFUSED)
        return self.other_answer(request, response)

    async def _with_quantities(self, request: CancelRequest) -> list[ItemSelection]:
        """Items as the API wants them: every one with a quantity ("all" = what is left)."""
        if all(item.quantity is not None for item in request.items):
            return list(request.items)
        order = await self.lookup(request.order_id)
        if order is None:
            raise ProviderError(self.key, "order not found while reading item quantities")
        remaining = {line.id: line.quantity for line in order.lines}
        resolved: list[ItemSelection] = []
        for item in request.items:
            if item.quantity is not None:
                resolved.append(item)
                continue
            left = remaining.get(item.id)
            if not left:
                raise ProviderError(self.key, f"item {item.id}: nothing left to cancel")
            resolved.append(ItemSelection(id=item.id, quantity=left))
        return resolved

    def _failure_said(self, response: httpx.Response) -> str | None:
        """What a 200 says when it says the cancel failed, else None: JSON with
        ``success: false`` or an ``error``, or a text that speaks of failure."""
        if "json" in response.headers.get("content-type", ""):
            body = json_body(response, self.key)
            if not isinstance(body, dict):
                return None
            error = body.get("error") or body.get("errors")
            if body.get("success") is False or str(body.get("success")).lower() == "false":
                return clean(body.get("message") or error or "success: false", max_chars=200)
            if error not in (None, "", [], {}):
                return clean(error, max_chars=200)
            return None
        text = clean(response.text, max_chars=200)
        return text if _FAILURE_WORDS.search(text) else None

    def _success_message(self, response: httpx.Response) -> str:
        if "json" in response.headers.get("content-type", ""):
            # A JSON answer that cannot be read is no proof of success: json_body raises,
            # and the outcome is unknown until a look-up settles it.
            body = json_body(response, self.key)
            if isinstance(body, dict):
                return clean(body.get("message") or "", max_chars=200)
        return clean(response.text, max_chars=200)
