"""Pattern Hub (seed 000): market orders made of warehouse orders; cancellation is asynchronous.

The cancel answer's status code is the truth (200 all initiated, 206 partial, 409 none):
the ``success`` field reads ``true`` even on 409 in the vendor's own examples.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import Field, field_validator

from tui.core.domain import CancelledLine, CancelOutcome, CancelRequest, Line, Order, Outcome
from tui.core.provider_settings import ClientCredentials, check_url
from tui.core.providers.base import (
    BearerTokenProvider,
    as_dict,
    as_list,
    json_body,
    lookup_failure,
    not_cancelled,
)
from tui.core.providers.registry import ProviderSpec
from tui.core.text import clean

# Sub-order statuses in which the warehouse orders behind them can still be cancelled.
# The status look-up does not name warehouse statuses (new/backordered); ``pending`` and
# ``backordered`` are the sub-order statuses those map to. A reading of the docs, not a fact.
_CANCELLABLE_SUB_STATUS = frozenset({"pending", "backordered"})
_WHY_NOT = {
    "processing": "in the warehouse's hands (batched, picked or packed)",
    "shipped": "shipped",
    "cancelled": "already cancelled",
    "error": "in error at the warehouse",
}


class PatternSettings(ClientCredentials):
    settle_s: float = Field(default=120.0, ge=0, le=3600)
    """Pattern cancels asynchronously and does not say how long that takes: a guess."""
    token_url: str | None = None
    """OAuth2 client-credentials token endpoint (on another host than the API)."""

    @field_validator("token_url")
    @classmethod
    def _check_token_url(cls, value: str | None) -> str | None:
        return check_url(value)


SPEC = ProviderSpec(
    key="pattern",
    label="Pattern Hub",
    settings=PatternSettings,
    adapter="tui.core.providers.pattern:PatternProvider",
    order=10,
    secrets=("client_secret",),
    required=("token_url", "client_id", "client_secret"),
    cancel_is_async=True,
    # The vendor's documents: the status look-up lists sub-orders with no
    # warehouse_order_id; the cancel answer lists warehouse orders by warehouse_order_id.
    # They do not say how the two correspond, so neither do we.
    lines_note="sub-orders by position: Pattern's look-up gives no warehouse order ids",
    answer_note="warehouse order ids, from Pattern's cancel answer (its look-up lists "
    "sub-orders without ids, so they are not paired)",
    sandbox="tui.sandbox.providers.pattern",
)


class PatternProvider(BearerTokenProvider):
    spec: ClassVar[ProviderSpec] = SPEC

    def __init__(self, settings: PatternSettings, client: httpx.AsyncClient, **http: Any) -> None:
        self.settings = settings
        super().__init__(client, **http)

    def token_request(self) -> tuple[str, dict[str, str]]:
        secret = self.settings.client_secret
        return self.settings.token_url or "", {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id or "",
            "client_secret": secret.get_secret_value() if secret else "",
        }

    # -- look-up ---------------------------------------------------------------------------

    async def _lookup(self, identifier: str) -> Order | None:
        response = await self.http.request(
            "GET", "/v1/orders/status", idempotent=True, params={"market_order_id": identifier}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise lookup_failure(self.key, response)
        body = as_dict(json_body(response, self.key), self.key, "status answer")
        return self._order(identifier, body)

    def _order(self, identifier: str, body: dict[str, Any]) -> Order:
        market_id = clean(body.get("market_order_id") or identifier, max_chars=128)
        status = clean(body.get("order_status"), max_chars=60)
        lines: list[Line] = []
        for index, sub in enumerate(as_list(body.get("sub_orders")), start=1):
            if not isinstance(sub, dict):
                continue
            sub_status = clean(sub.get("sub_order_status"), max_chars=60)
            items = [i for i in as_list(sub.get("items")) if isinstance(i, dict)]
            skus = ", ".join(clean(i.get("sku"), max_chars=60) for i in items)
            quantity = sum(q for i in items if isinstance(q := i.get("quantity"), int))
            cancellable = sub_status.lower() in _CANCELLABLE_SUB_STATUS
            lines.append(
                Line(
                    # The status look-up carries no warehouse_order_id: sub-orders by position.
                    id=f"sub-order {index}",
                    sku=skus or None,
                    quantity=quantity or None,
                    status=sub_status,
                    cancellable=cancellable,
                    not_cancellable_reason=None
                    if cancellable
                    else _WHY_NOT.get(sub_status.lower(), sub_status or "status unknown"),
                )
            )
        cancelled = status.lower() == "cancelled"
        cancellable = any(line.cancellable for line in lines) if lines else not cancelled
        return Order(
            provider=self.key,
            order_id=market_id,
            found_by="market_order_id",
            identifiers={"market_order_id": market_id},
            status=status,
            lines=tuple(lines),
            cancellable=cancellable,
            not_cancellable_reason=None if cancellable else "no warehouse order can be cancelled",
            cancelled=cancelled,
            line_ids_positional=True,
        )

    # -- cancel ----------------------------------------------------------------------------

    async def _cancel(self, request: CancelRequest) -> CancelOutcome:
        response = await self.http.request(
            "POST",
            "/v1/orders/cancel_order",
            idempotent=False,
            params={"market_order_id": request.order_id},
        )
        status = response.status_code
        rid = self.request_id(response)
        if status in (200, 206, 409):
            body = as_dict(
                json_body(response, self.key), self.key, "cancel answer", http_status=status
            )
            kind = {200: Outcome.COMPLETE, 206: Outcome.PARTIAL, 409: Outcome.REFUSED}[status]
            listed = [c for c in as_list(body.get("cancelled_orders")) if isinstance(c, dict)]
            if kind is not Outcome.REFUSED and (not listed or body.get("success") is False):
                # 200/206 mean "initiated"; a body listing no cancelled warehouse order (or
                # saying success false) contradicts it: unknown until a look-up settles it.
                why = "no warehouse order listed as cancelled"
                if body.get("success") is False:
                    why = f"success is false; {why}" if not listed else "success is false"
                message = clean(body.get("message"))
                return self.contradicted(request, response, f"{why}: {message}" if message else why)
            cancelled = [
                CancelledLine(
                    id=clean(c.get("warehouse_order_id"), max_chars=40),
                    status=clean(c.get("status") or "cancelled", max_chars=60),
                )
                for c in as_list(body.get("cancelled_orders"))
                if isinstance(c, dict)
            ]
            refused = [
                not_cancelled(n.get("warehouse_order_id"), n.get("status"), n.get("reason"))
                for n in as_list(body.get("non_cancellable_orders"))
                if isinstance(n, dict)
            ]
            warnings: list[str] = []
            if kind is Outcome.REFUSED and cancelled:
                # Trust the status code; never report these as cancelled.
                warnings.append("409 listed cancelled warehouse orders; the status code wins")
                cancelled = []
            return self.outcome(
                request,
                kind,
                http_status=status,
                message=clean(body.get("message")),
                confirmed=False,
                cancelled=cancelled,
                not_cancelled=refused,
                warnings=warnings,
                request_id=rid,
            )
        # 422 (missing or invalid parameters) is an error with the provider's ``errors``.
        return self.other_answer(request, response)
