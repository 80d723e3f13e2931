"""Shoplazza OpenAPI (seed 002): ``Access-Token`` auth, a 2 requests/s leaky bucket, and a
cancel that answers with the cancelled order itself."""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import httpx
from aiolimiter import AsyncLimiter
from pydantic import Field, SecretStr, field_validator

from tui.core.domain import CancelledLine, CancelOutcome, CancelRequest, Line, Order, Outcome
from tui.core.provider_settings import ProviderSettings, check_plain, check_secret
from tui.core.providers.base import (
    BaseProvider,
    as_dict,
    as_list,
    error_text,
    json_body,
    lookup_failure,
    segment,
)
from tui.core.providers.http import ProviderHttp
from tui.core.providers.registry import ProviderSpec
from tui.core.text import clean

_ORDER_ID = re.compile(r"^\d+-\d+$")
_CANCELLED = frozenset({"cancelled", "canceled"})
_CLOSED_STATUS = {"finished": "the order is finished"}
_SHIPPED = frozenset({"shipped", "partially_shipped", "finished", "partially_finished"})
# 400 and 422 answers that name the order's state are refusals, not malformed requests.
_STATE_WORDS = re.compile(r"status|state|cancel|ship|fulfil|finish|paid|refund", re.IGNORECASE)


class ShoplazzaSettings(ProviderSettings):
    access_token: SecretStr | None = None
    api_version: str = "2022-01"
    rate_per_s: float = Field(default=2.0, le=100)
    """Shoplazza's documented leaky bucket: 2 requests/s per app and store."""

    @field_validator("access_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        return check_secret(value, header=True)

    @field_validator("api_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is empty (Shoplazza's is 2022-01)")
        return check_plain(value, what="the API version", max_chars=40) or value

    @field_validator("rate_per_s")
    @classmethod
    def _check_rate(cls, value: float) -> float:
        if not value >= 1:  # aiolimiter cannot take a whole request below 1 per second
            raise ValueError("must be at least 1 request per second (Shoplazza documents 2)")
        return value


def _in_flight(section: ShoplazzaSettings, concurrency: int) -> int:
    """The adapter paces itself at ``rate_per_s``: more requests in flight than that only wait
    inside it holding a slot (and a claim)."""
    return max(1, min(concurrency, math.ceil(section.rate_per_s)))


SPEC = ProviderSpec(
    key="shoplazza",
    label="Shoplazza",
    settings=ShoplazzaSettings,
    adapter="tui.core.providers.shoplazza:ShoplazzaProvider",
    order=30,
    secrets=("access_token",),
    required=("access_token",),
    max_in_flight=_in_flight,
    sandbox="tui.sandbox.providers.shoplazza",
)


class ShoplazzaProvider(BaseProvider):
    spec: ClassVar[ProviderSpec] = SPEC

    def __init__(self, settings: ShoplazzaSettings, client: httpx.AsyncClient, **http: Any) -> None:
        self.settings = settings
        # A leaky bucket on our side too, so a batch does not earn a 429 per request.
        self.limiter = AsyncLimiter(settings.rate_per_s, 1.0)
        http.setdefault("before_send", self._acquire)
        super().__init__(ProviderHttp(self.key, client, auth=self._auth_headers, **http))

    async def _acquire(self) -> None:
        await self.limiter.acquire()

    async def _auth_headers(self) -> dict[str, str]:
        token = self.settings.access_token
        return {
            "Access-Token": token.get_secret_value() if token else "",
            "Content-Type": "application/json",
        }

    def _path(self, *parts: str) -> str:
        version = segment(self.settings.api_version)
        return "/openapi/" + version + "/" + "/".join(parts)

    # -- look-up ---------------------------------------------------------------------------

    async def _lookup(self, identifier: str) -> Order | None:
        if _ORDER_ID.match(identifier):
            path, found_by = self._path("orders", segment(identifier)), "order_id"
        else:
            number = identifier.removeprefix("#")
            path, found_by = self._path("orders", "number", segment(number)), "order_number"
        response = await self.http.request("GET", path, idempotent=True)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise lookup_failure(self.key, response)
        body = as_dict(json_body(response, self.key), self.key, "order answer")
        order = as_dict(body.get("order"), self.key, "order")
        return self._order(order, found_by)

    def _order(self, order: dict[str, Any], found_by: str) -> Order:
        order_id = clean(order.get("id"), max_chars=64)
        status = clean(order.get("status"), max_chars=40)
        fulfillment = clean(order.get("fulfillment_status"), max_chars=40)
        financial = clean(order.get("financial_status"), max_chars=40)
        cancelled = status.lower() in _CANCELLED
        why_not: str | None = None
        if cancelled:
            why_not = "already cancelled"
        elif status.lower() in _CLOSED_STATUS:
            why_not = _CLOSED_STATUS[status.lower()]
        elif fulfillment.lower() in _SHIPPED:
            why_not = f"fulfilment is {fulfillment}"
        lines = tuple(
            Line(
                id=clean(item.get("id"), max_chars=64),
                sku=clean(item.get("sku"), max_chars=80) or None,
                description=clean(item.get("title"), max_chars=120) or None,
                quantity=item.get("quantity") if isinstance(item.get("quantity"), int) else None,
                status=clean(item.get("fulfillment_status") or status, max_chars=40),
                cancellable=why_not is None,
                not_cancellable_reason=why_not,
            )
            for item in as_list(order.get("line_items"))
            if isinstance(item, dict)
        )
        identifiers = {"order_id": order_id}
        if order.get("number"):
            identifiers["order_number"] = clean(order["number"], max_chars=64)
        shown = status if not financial else f"{status} · {financial}"
        if fulfillment:
            shown = f"{shown} · {fulfillment}"
        return Order(
            provider=self.key,
            order_id=order_id,
            found_by=found_by,
            identifiers=identifiers,
            status=shown,
            lines=lines,
            cancellable=why_not is None,
            not_cancellable_reason=why_not,
            cancelled=cancelled,
        )

    # -- cancel ----------------------------------------------------------------------------

    async def _cancel(self, request: CancelRequest) -> CancelOutcome:
        response = await self.http.request(
            "POST",
            self._path("orders", segment(request.order_id), "cancel"),
            idempotent=False,
            json={"reason": request.reason} if request.reason else {},
        )
        status = response.status_code
        rid = self.request_id(response)
        if status == 200:
            body = as_dict(
                json_body(response, self.key), self.key, "cancel answer", http_status=status
            )
            order = as_dict(body.get("order"), self.key, "order", http_status=status)
            shown = clean(order.get("status"), max_chars=40)
            if shown.lower() not in _CANCELLED:
                # Success that leaves the order open: never call it cancelled.
                return self.outcome(
                    request,
                    Outcome.UNKNOWN,
                    http_status=200,
                    message=f"provider answered OK but the order is still {shown or 'open'}",
                    request_id=rid,
                )
            return self.outcome(
                request,
                Outcome.COMPLETE,
                http_status=200,
                message=clean(order.get("cancel_reason") or ""),
                confirmed=True,
                cancelled=[
                    CancelledLine(id=clean(order.get("id") or request.order_id), status=shown)
                ],
                request_id=rid,
            )
        if status == 406 or (status in (400, 422) and _STATE_WORDS.search(error_text(response))):
            return self.answered(request, response, Outcome.REFUSED)
        return self.other_answer(request, response)
