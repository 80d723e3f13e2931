"""The one interface every order system's adapter implements, and what they share."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr

from tui.core.domain import (
    CancelOutcome,
    CancelRequest,
    NotCancelledLine,
    Order,
    Outcome,
)
from tui.core.errors import (
    OutcomeUncertain,
    ProviderAuthError,
    ProviderError,
    ProviderResponseError,
)
from tui.core.providers.circuit import CircuitBreaker
from tui.core.providers.http import ProviderHttp, TokenSource
from tui.core.providers.registry import ProviderSpec, ReasonRules
from tui.core.text import clean


@runtime_checkable
class OrderProvider(Protocol):
    """An order system Stopline can look orders up in and cancel them through."""

    key: ClassVar[str]
    label: ClassVar[str]
    supports_item_cancel: ClassVar[bool]
    """Items (with quantities) can be cancelled, not only whole orders."""
    cancel_is_async: ClassVar[bool]
    """A successful cancel is only *initiated*; a later look-up confirms it."""
    breaker: CircuitBreaker

    @property
    def reasons(self) -> ReasonRules:
        """How the provider takes a cancel reason: free text, or codes it knows."""
        ...

    def can_resolve(self, identifier: str) -> bool:
        """Whether an identifier of this form could name an order here (no I/O)."""
        ...

    async def lookup(self, identifier: str) -> Order | None:
        """The order the identifier names, or None when the provider has none."""
        ...

    async def cancel(self, request: CancelRequest) -> CancelOutcome:
        """Ask for the cancellation; never raises for a provider's answer."""
        ...

    async def aclose(self) -> None: ...


def segment(value: str) -> str:
    """Percent-encode one path segment: ``/``, ``#``, ``?``, ``&`` and spaces included."""
    encoded = quote(value, safe="")
    if encoded in {".", ".."}:
        # A bare dot segment is removed by URL normalisation (``orders/..`` → the parent).
        return encoded.replace(".", "%2E")
    return encoded


def json_body(response: httpx.Response, provider: str) -> Any:
    """The response's JSON, or :class:`ProviderResponseError` naming what came instead."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to decode
        ctype = clean(response.headers.get("content-type", "no content type"), max_chars=60)
        raise ProviderResponseError(
            provider,
            f"unreadable answer ({response.status_code}, {ctype})",
            http_status=response.status_code,
        ) from exc


def error_text(response: httpx.Response) -> str:
    """The provider's own words from an error body, whatever shape it takes. Secrets it may
    quote are removed where outcomes and errors leave the adapter (:class:`BaseProvider`)."""
    return _error_words(response)


def _error_words(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        ctype = response.headers.get("content-type", "")
        if "html" in ctype:
            return f"HTTP {response.status_code} (HTML error page)"
        return clean(response.text, max_chars=200) or f"HTTP {response.status_code}"
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("error", "message", "error_description", "errors", "details"):
            value = body.get(key)
            if isinstance(value, list):
                parts.extend(clean(v, max_chars=200) for v in value if v not in (None, ""))
            elif value not in (None, ""):
                parts.append(clean(value, max_chars=200))
    elif isinstance(body, list):
        parts.extend(clean(v, max_chars=200) for v in body)
    return "; ".join(p for p in parts if p) or f"HTTP {response.status_code}"


def lookup_failure(provider: str, response: httpx.Response) -> ProviderError:
    """The error to raise for a look-up answer that is neither the order nor 404."""
    kind = ProviderAuthError if response.status_code in (401, 403) else ProviderError
    return kind(provider, error_text(response), http_status=response.status_code)


def as_dict(
    value: Any, provider: str, what: str, *, http_status: int | None = None
) -> dict[str, Any]:
    """``value`` if it is an object. Pass the answer's ``http_status`` for a cancel answer:
    a 2xx whose body is the wrong shape is then unknown, not "provably not applied"."""
    if not isinstance(value, dict):
        raise ProviderResponseError(provider, f"{what} is not an object", http_status=http_status)
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class BaseProvider:
    """Shared behaviour: owns the HTTP discipline and turns failures into outcomes.

    A subclass names its :class:`~tui.core.providers.registry.ProviderSpec` as ``spec``;
    its key, label and capabilities are read from there, said once."""

    spec: ClassVar[ProviderSpec]
    key: ClassVar[str] = ""
    label: ClassVar[str] = ""
    supports_item_cancel: ClassVar[bool] = False
    cancel_is_async: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.key = spec.key
            cls.label = spec.label
            cls.supports_item_cancel = spec.supports_item_cancel
            cls.cancel_is_async = spec.cancel_is_async

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http
        self.breaker = http.breaker
        settings = getattr(self, "settings", None)
        if isinstance(settings, BaseModel):
            for name in type(settings).model_fields:
                value = getattr(settings, name)
                if isinstance(value, SecretStr):
                    self.http.redactor.add(value)

    async def aclose(self) -> None:
        await self.http.client.aclose()

    def can_resolve(self, identifier: str) -> bool:
        return self.spec.can_resolve(identifier)

    @property
    def reasons(self) -> ReasonRules:
        """How this provider takes a cancel reason (its spec's rules for its settings)."""
        return self.spec.reasons(getattr(self, "settings", None))

    @property
    def reason_codes(self) -> dict[str, str]:
        return dict(self.reasons.codes)

    @property
    def reason_required(self) -> bool:
        return self.reasons.required

    # -- redaction: every answer leaves the adapter through here -----------------------------

    async def lookup(self, identifier: str) -> Order | None:
        """The order, with every secret this provider knows removed from its text."""
        try:
            order = await self._lookup(identifier)
        except ProviderError as exc:
            raise self.redacted_error(exc) from None
        return None if order is None else self.http.redactor.model(order)

    async def _lookup(self, identifier: str) -> Order | None:
        raise NotImplementedError

    def redacted_error(self, exc: ProviderError) -> ProviderError:
        redactor = self.http.redactor
        message = redactor.text(exc.message)
        if message == exc.message:
            return exc
        return type(exc)(exc.provider, message, http_status=exc.http_status)

    def redacted(self, outcome: CancelOutcome) -> CancelOutcome:
        return self.http.redactor.model(outcome)

    # -- outcome helpers ---------------------------------------------------------------------

    def outcome(self, request: CancelRequest, outcome: Outcome, **fields: Any) -> CancelOutcome:
        return CancelOutcome(
            provider=self.key, order_id=request.order_id, outcome=outcome, **fields
        )

    def failed(self, request: CancelRequest, exc: ProviderError) -> CancelOutcome:
        """An exception from a cancel call, as an outcome: unknown only if it may have applied."""
        uncertain = isinstance(exc, OutcomeUncertain) or (
            # A success status whose body cannot be read: it did something, we cannot say what.
            isinstance(exc, ProviderResponseError) and 200 <= (exc.http_status or 0) < 300
        )
        kind = Outcome.UNKNOWN if uncertain else Outcome.ERROR
        return self.outcome(request, kind, http_status=exc.http_status, message=exc.message)

    async def cancel(self, request: CancelRequest) -> CancelOutcome:
        try:
            outcome = await self._cancel(request)
        except ProviderError as exc:
            return self.redacted(self.failed(request, exc))
        status = outcome.http_status or 0
        if outcome.outcome is Outcome.ERROR and 200 <= status < 300:
            # A success status the adapter does not know (201, 202, 204…) is no proof that
            # nothing happened: unknown, settled by a look-up, never "provably not applied".
            outcome = outcome.model_copy(
                update={
                    "outcome": Outcome.UNKNOWN,
                    "message": f"unexpected answer to a cancel ({status}): {outcome.message}",
                }
            )
        return self.redacted(outcome)

    async def _cancel(self, request: CancelRequest) -> CancelOutcome:
        raise NotImplementedError

    def answered(
        self, request: CancelRequest, response: httpx.Response, kind: Outcome
    ) -> CancelOutcome:
        """An answer that cancelled nothing, in the provider's own words."""
        return self.outcome(
            request,
            kind,
            http_status=response.status_code,
            message=error_text(response),
            request_id=self.request_id(response),
        )

    def other_answer(self, request: CancelRequest, response: httpx.Response) -> CancelOutcome:
        """The statuses every provider treats alike: 404, 5xx, and any other refusal."""
        if response.status_code == 404:
            return self.answered(request, response, Outcome.NOT_FOUND)
        if response.status_code >= 500:
            return self.server_error(request, response)
        return self.answered(request, response, Outcome.ERROR)

    def contradicted(
        self, request: CancelRequest, response: httpx.Response, says: str
    ) -> CancelOutcome:
        """A success status whose body says failure: it may or may not have been applied, so
        unknown — the service looks the order up to settle it. Never reported cancelled."""
        said = clean(says, max_chars=200)
        return self.outcome(
            request,
            Outcome.UNKNOWN,
            http_status=response.status_code,
            message=(
                f"the provider answered {response.status_code} (success) but its answer says "
                f"otherwise: {said or 'no details'}"
            ),
            request_id=self.request_id(response),
        )

    def server_error(self, request: CancelRequest, response: httpx.Response) -> CancelOutcome:
        """A 5xx on a cancel: the provider may have applied part of it before failing."""
        return self.outcome(
            request,
            Outcome.UNKNOWN,
            http_status=response.status_code,
            message=f"provider error after the request reached it: {error_text(response)}",
            request_id=self.request_id(response),
        )

    def request_id(self, response: httpx.Response) -> str | None:
        value = response.headers.get("request-id") or response.headers.get("x-request-id")
        return clean(value, max_chars=100) if value else None


def not_cancelled(id_: Any, status: Any, reason: Any) -> NotCancelledLine:
    return NotCancelledLine(
        id=clean(id_, max_chars=100), status=clean(status), reason=clean(reason)
    )


class BearerTokenProvider(BaseProvider):
    """An adapter whose API takes ``Authorization: Bearer`` tokens from a token endpoint.

    The token is fetched on first use, cached until shortly before it expires, and fetched
    again once when a call answers 401.
    """

    default_token_ttl_s: ClassVar[float] = 3600.0
    """Lifetime assumed when the token answer does not say."""

    def __init__(self, client: httpx.AsyncClient, **http: Any) -> None:
        # Every token issued is a secret from the moment it exists.
        self.tokens = TokenSource(self._fetch_token, on_issue=self._learn_token)
        super().__init__(
            ProviderHttp(
                self.key,
                client,
                auth=self._auth_headers,
                on_unauthorized=self.tokens.invalidate,
                **http,
            )
        )

    def token_request(self) -> tuple[str, dict[str, str]]:
        """The token endpoint (absolute, or relative to the API base) and its JSON body."""
        raise NotImplementedError

    def _learn_token(self, token: str) -> None:
        self.http.redactor.add(token)

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.tokens.token()}"}

    async def _fetch_token(self) -> tuple[str, float]:
        url, body = self.token_request()
        response = await self.http.request(
            "POST", url, idempotent=True, authenticate=False, json=body
        )
        if response.status_code != 200:
            raise ProviderAuthError(
                self.key,
                f"token refused ({response.status_code}): {error_text(response)}",
                http_status=response.status_code,
            )
        answer = as_dict(json_body(response, self.key), self.key, "token answer")
        token = answer.get("access_token") or answer.get("accessToken")
        if not isinstance(token, str) or not token:
            raise ProviderAuthError(self.key, "token answer has no access_token")
        expires_in = answer.get("expires_in", answer.get("expiresIn"))
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            return token, self.default_token_ttl_s
        try:
            return token, float(expires_in)
        except OverflowError:  # an integer too large for a float: as good as "never expires"
            return token, self.default_token_ttl_s
