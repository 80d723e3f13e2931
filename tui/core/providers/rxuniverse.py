"""Rx-Universe optical lab (seed 003): one job per order, found by order, tray or PO number.

Cancel is ``DELETE`` with a delete reason (``deleteReason``, a name the vendor's docs confirm;
query or body is unconfirmed: a setting, default query). Each lab sets up its own reason
codes and whether one is required; no API lists them, so Stopline ships none. Without
configured codes the reason (or ``--reason-code``) is sent as given and the lab decides;
with codes configured they are checked before sending. Once flagged, ``/status`` answers
**200** with ``{"error": "Order marked for cancelation"}``.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, field_validator

from tui.core.domain import CancelledLine, CancelOutcome, CancelRequest, Order, Outcome
from tui.core.errors import ProviderError
from tui.core.identifiers import InvalidInput, validate_reason_code
from tui.core.provider_settings import (
    HEADER_NAME,
    ProviderSettings,
    check_plain,
    check_secret,
)
from tui.core.providers.base import (
    BaseProvider,
    as_dict,
    error_text,
    json_body,
    lookup_failure,
    segment,
)
from tui.core.providers.http import ProviderHttp
from tui.core.providers.registry import ProviderSpec, ReasonRules
from tui.core.text import clean

MARKED = "order marked for cancelation"
_STATUS_WORDS = {"U": "unvalid", "V": "valid", "P": "in process", "C": "complete", "W": "hold"}
SETUP = "the lab's Setup → Order Delete Reasons"


class RxUniverseSettings(ProviderSettings):
    api_key: SecretStr | None = None
    """Optional; auth is unconfirmed (network-level at most labs)."""
    api_key_header: str = "X-Api-Key"
    """Header carrying ``api_key``. A guess: the vendor documents none."""
    reason_param: Literal["query", "body"] = "query"
    """How the delete reason is sent. Unconfirmed; query ``deleteReason`` is the guess."""
    reason_field: str = "deleteReason"
    """The delete reason's name; ``deleteReason`` is confirmed by the vendor's docs."""
    reason_required: bool = False
    """Whether the lab's 'Enter reason code when deleting order' setting is on: with
    ``reason_codes`` set, a cancel must then name one of them (checked before sending)."""
    reason_codes: dict[str, str] = Field(default_factory=dict)
    """The lab's delete reason codes, code → description, as set up at the lab (Setup →
    Order Delete Reasons). No API lists them and there are no defaults: without them the
    reason is sent as given and the lab decides."""

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        return check_secret(value, header=True)

    @field_validator("api_key_header")
    @classmethod
    def _check_header(cls, value: str) -> str:
        value = value.strip()
        if not HEADER_NAME.match(value):
            raise ValueError("is not a valid HTTP header name (letters, digits and - only)")
        return value

    @field_validator("reason_field")
    @classmethod
    def _check_field(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is empty (the vendor's name is deleteReason)")
        return check_plain(value, what="the reason field", max_chars=60) or value

    @field_validator("reason_codes")
    @classmethod
    def _check_codes(cls, value: dict[str, str]) -> dict[str, str]:
        codes: dict[str, str] = {}
        for code, description in value.items():
            checked = validate_reason_code(code)
            if checked is None:
                raise ValueError("a reason code is blank")
            check_plain(description, what=f"the description of reason code {checked}")
            codes[checked] = description.strip() or checked
        return codes


def _reasons(section: RxUniverseSettings) -> ReasonRules:
    return ReasonRules(
        codes=dict(section.reason_codes), required=section.reason_required, holder="this lab"
    )


SPEC = ProviderSpec(
    key="rxuniverse",
    label="Rx-Universe",
    settings=RxUniverseSettings,
    adapter="tui.core.providers.rxuniverse:RxUniverseProvider",
    order=40,
    secrets=("api_key",),
    reasons=_reasons,
    sandbox="tui.sandbox.providers.rxuniverse",
)


class RxUniverseProvider(BaseProvider):
    spec: ClassVar[ProviderSpec] = SPEC

    def __init__(
        self, settings: RxUniverseSettings, client: httpx.AsyncClient, **http: Any
    ) -> None:
        self.settings = settings
        auth = self._auth_headers if settings.api_key else None
        super().__init__(ProviderHttp(self.key, client, auth=auth, **http))

    async def _auth_headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {self.settings.api_key_header: key.get_secret_value()} if key else {}

    def reason_to_send(self, request: CancelRequest) -> tuple[str | None, str | None]:
        """(the ``deleteReason`` to send or None, or why nothing may be sent). The service
        checks the same rules before anything is journalled (``prepare``); this is the last
        word for a caller that bypassed it."""
        try:
            explicit = validate_reason_code(request.reason_code)
            if not self.reasons.codes:
                # No codes configured: the lab decides (one without codes ignores it).
                return explicit or request.reason.strip() or None, None
            return self.reasons.to_send(request.reason, explicit), None
        except InvalidInput as exc:
            message = str(exc)
            if "nothing was sent" not in message:
                message += "; nothing was sent"
            return None, message

    # -- look-up ---------------------------------------------------------------------------

    async def _lookup(self, identifier: str) -> Order | None:
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
        reason, problem = self.reason_to_send(request)
        if problem is not None:
            return self.outcome(request, Outcome.ERROR, message=problem)
        params: dict[str, str] | None = None
        payload: dict[str, str] | None = None
        if reason is not None:
            if self.settings.reason_param == "query":
                params = {self.settings.reason_field: reason}
            else:
                payload = {self.settings.reason_field: reason}
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
            failure = body.get("error")
            if failure not in (None, "", [], {}):
                # A 200 that says it failed ("Order could not be deleted: …"): never complete.
                return self.contradicted(request, response, clean(failure))
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
            return await self._bad_request(request, response)
        return self.other_answer(request, response)

    async def _bad_request(self, request: CancelRequest, response: httpx.Response) -> CancelOutcome:
        """The lab's documented 400s, each in words that say what to do about it."""
        said = error_text(response)
        text = said.lower()
        if "reason" in text:
            if "empty" in text or "configured" in text:
                why = (
                    f"the lab requires a delete reason but has none set up ({said}); its "
                    f"administrator adds them in {SETUP}"
                )
            elif "not exist" in text or "invalid" in text or "provided" in text:
                why = (
                    f"the lab does not know this delete reason ({said}); give one of its codes "
                    f"with --reason-code, or list them in rxuniverse.reason_codes (from {SETUP})"
                )
            else:
                why = (
                    f"the lab requires a delete reason code ({said}); give one with "
                    "--reason-code, or list the lab's codes in rxuniverse.reason_codes and set "
                    "rxuniverse.reason_required = true"
                )
            return self._said(request, response, Outcome.ERROR, why)
        if "job tracker" in text:
            why = f"{said}: the lab's Rx-Universe cancels only with its Job Tracker module"
            return self._said(request, response, Outcome.ERROR, why)
        if "already completed" in text:
            return await self._completed_or_marked(request, response, said)
        # A station that prevents cancelling, or another state the lab names.
        return self.answered(request, response, Outcome.REFUSED)

    async def _completed_or_marked(
        self, request: CancelRequest, response: httpx.Response, said: str
    ) -> CancelOutcome:
        """The lab answers "Order already completed" both for a complete job and for one
        already marked for cancellation: the look-up tells which."""
        try:
            order = await self.lookup(request.order_id)
        except ProviderError as exc:
            order, note = None, f"the look-up to tell which failed: {exc.message}"
        else:
            note = "the look-up does not show which"
        if order is not None and order.cancelled:
            why = f"already marked for cancellation before this request (the lab says: {said})"
            return self._said(request, response, Outcome.REFUSED, why)
        if order is not None and order.not_cancellable_reason == "job is complete":
            return self._said(request, response, Outcome.REFUSED, f"the job is complete ({said})")
        why = f"{said} (the lab says this for a complete job and for one already marked for "
        why += f"cancellation; {note})"
        return self._said(request, response, Outcome.REFUSED, why)

    def _said(
        self, request: CancelRequest, response: httpx.Response, kind: Outcome, message: str
    ) -> CancelOutcome:
        return self.outcome(
            request,
            kind,
            http_status=response.status_code,
            message=message,
            request_id=self.request_id(response),
        )
