"""Dockyard's adapter, settings and registry entry: everything Stopline's core needs."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from tui.core.domain import CancelledLine, CancelOutcome, CancelRequest, Line, Order, Outcome
from tui.core.provider_settings import ProviderSettings
from tui.core.providers.base import BaseProvider, as_dict, json_body, lookup_failure, segment
from tui.core.providers.http import ProviderHttp
from tui.core.providers.registry import ProviderSpec


class DockyardSettings(ProviderSettings):
    api_key: SecretStr | None = None


SPEC = ProviderSpec(
    key="dockyard",
    label="Dockyard",
    settings=DockyardSettings,
    adapter="fifthprovider.core:DockyardProvider",
    order=50,
    secrets=("api_key",),
    required=("api_key",),
    identifier=r"DY-\d+",
    identifier_hint="Dockyard orders look like DY-123",
    sandbox="fifthprovider.sandbox",
)


class DockyardProvider(BaseProvider):
    spec: ClassVar[ProviderSpec] = SPEC

    def __init__(self, settings: DockyardSettings, client: httpx.AsyncClient, **http: Any) -> None:
        self.settings = settings
        super().__init__(ProviderHttp(self.key, client, auth=self._auth, **http))

    async def _auth(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"X-Dock-Key": key.get_secret_value()} if key else {}

    async def _lookup(self, identifier: str) -> Order | None:
        response = await self.http.request(
            "GET", f"/orders/{segment(identifier)}", idempotent=True
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise lookup_failure(self.key, response)
        body = as_dict(json_body(response, self.key), self.key, "order")
        cancelled = body.get("status") == "cancelled"
        return Order(
            provider=self.key,
            order_id=str(body["id"]),
            found_by="order_id",
            identifiers={"order_id": str(body["id"])},
            status=str(body.get("status", "")),
            lines=(Line(id="crate", quantity=1, status=str(body.get("status", ""))),),
            cancellable=not cancelled,
            cancelled=cancelled,
        )

    async def _cancel(self, request: CancelRequest) -> CancelOutcome:
        response = await self.http.request(
            "POST", f"/orders/{segment(request.order_id)}/cancel", idempotent=False
        )
        if response.status_code == 200:
            return self.outcome(
                request,
                Outcome.COMPLETE,
                http_status=200,
                confirmed=True,
                cancelled=[CancelledLine(id=request.order_id)],
            )
        return self.other_answer(request, response)
