"""Rx-Universe optical lab (seed 003): one job per order, found by order, tray or PO number.

Cancel is ``DELETE`` with a lab-configured reason code; how the code is sent is unconfirmed
(a setting, default query ``deleteReason``). Once flagged, ``/status`` answers **200** with
``{"error": "Order marked for cancelation"}``.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx

from tui.core.domain import CancelledLine, CancelOutcome, CancelRequest, Order, Outcome
from tui.core.providers.base import (
    BaseProvider,
    as_dict,
    error_text,
    json_body,
    lookup_failure,
    segment,
)
from tui.core.providers.http import ProviderHttp
from tui.core.settings import RxUniverseSettings
from tui.core.text import clean

MARKED = "order marked for cancelation"
_STATUS_WORDS = {"U": "unvalid", "V": "valid", "P": "in process", "C": "complete", "W": "hold"}
# 400 answers about the request rather than the job's state: errors, not refusals.
_REQUEST_PROBLEMS = ("reason", "job tracker")


class RxUniverseProvider(BaseProvider):
    key: ClassVar[str] = "rxuniverse"
    label: ClassVar[str] = "Rx-Universe"
    supports_item_cancel: ClassVar[bool] = False
    cancel_is_async: ClassVar[bool] = False

    def __init__(
        self, settings: RxUniverseSettings, client: httpx.AsyncClient, **http: Any
    ) -> None:
        self.settings = settings
        auth = self._auth_headers if settings.api_key else None
        super().__init__(ProviderHttp(self.key, client, auth=auth, **http))
        self.reason_codes = dict(settings.reason_codes)
        self.reason_required = settings.reason_required

    async def _auth_headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {self.settings.api_key_header: key.get_secret_value()} if key else {}

    def reason_code_for(self, reason: str, code: str | None = None) -> str | None:
        """The lab code for a request: an explicit code, or a reason naming one."""
        for candidate in (code, reason):
            if not candidate:
                continue
            text = candidate.strip()
            if text in self.reason_codes:
                return text
            for known, description in self.reason_codes.items():
                if description.lower() == text.lower():
                    return known
        return None

    # -- look-up ---------------------------------------------------------------------------

    async def lookup(self, identifier: str) -> Order | None:
        base = f"/api/v2/orders/{segment(identifier)}"
        calls = [
            asyncio.ensure_future(self.http.request("GET", base, idempotent=True)),
            asyncio.ensure_future(self.http.request("GET", f"{base}/status", idempotent=True)),
        ]
        try:
            detail, status = await asyncio.gather(*calls)
        except BaseException:
            # One failed (or this look-up was cancelled): the other must not run on unowned.
            for call in calls:
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            raise
        if detail.status_code == 404:
            return None
        for response in (detail, status):
            if response.status_code not in (200, 404):
                raise lookup_failure(self.key, response)
        body = as_dict(json_body(detail, self.key), self.key, "order")
        state: dict[str, Any] = {}
        if status.status_code == 200:
            state = as_dict(json_body(status, self.key), self.key, "status")
        return self._order(identifier, body, state)

    def _order(self, identifier: str, body: dict[str, Any], state: dict[str, Any]) -> Order:
        merged = {**body, **{k: v for k, v in state.items() if v not in (None, "")}}
        marked = clean(state.get("error")).lower() == MARKED
        number = clean(merged.get("orderNumber") or identifier, max_chars=64)
        identifiers = {"order_number": number}
        for wire, kind in (("trayNumber", "tray"), ("poNumber", "po")):
            if merged.get(wire):
                identifiers[kind] = clean(merged[wire], max_chars=64)
        found_by = next(
            (kind for kind, value in identifiers.items() if value == identifier), "order_number"
        )
        code = clean(merged.get("status"), max_chars=4).upper()
        status_text = clean(merged.get("statusDesc"), max_chars=60) or _STATUS_WORDS.get(code, code)
        station = clean(
            merged.get("currentStationDesc") or merged.get("currentStation"), max_chars=60
        )
        if marked:
            shown, why_not = "marked for cancelation", "already marked for cancelation"
        else:
            shown = f"{status_text} @ {station}" if station else status_text
            why_not = "job is complete" if code == "C" else None
        return Order(
            provider=self.key,
            order_id=number,
            found_by=found_by,
            identifiers=identifiers,
            status=shown,
            cancellable=why_not is None,
            not_cancellable_reason=why_not,
            cancelled=marked,
        )

    # -- cancel ----------------------------------------------------------------------------

    async def _cancel(self, request: CancelRequest) -> CancelOutcome:
        code = self.reason_code_for(request.reason, request.reason_code)
        if code is None and self.reason_required:
            known = ", ".join(f"{c} {d}" for c, d in self.reason_codes.items())
            return self.outcome(
                request,
                Outcome.ERROR,
                message=f"this lab needs a reason code ({known}); nothing was sent",
            )
        params: dict[str, str] | None = None
        payload: dict[str, str] | None = None
        if code is not None:
            if self.settings.reason_param == "query":
                params = {self.settings.reason_field: code}
            else:
                payload = {self.settings.reason_field: code}
        response = await self.http.request(
            "DELETE",
            f"/api/v2/orders/{segment(request.order_id)}",
            idempotent=False,
            params=params,
            json=payload,
        )
        status = response.status_code
        rid = self.request_id(response)
        if status == 200:
            body = as_dict(
                json_body(response, self.key), self.key, "cancel answer", http_status=status
            )
            warning = clean(body.get("message"))
            return self.outcome(
                request,
                Outcome.COMPLETE,
                http_status=200,
                message="flagged for deletion",
                confirmed=True,
                cancelled=[
                    CancelledLine(
                        id=clean(body.get("orderNumber") or request.order_id, max_chars=64),
                        status="flagged for deletion",
                    )
                ],
                warnings=[warning] if warning else [],
                request_id=rid,
            )
        if status == 400:
            text = error_text(response).lower()
            problem = any(word in text for word in _REQUEST_PROBLEMS)
            return self.answered(request, response, Outcome.ERROR if problem else Outcome.REFUSED)
        return self.other_answer(request, response)
