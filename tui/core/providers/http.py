"""The HTTP discipline every adapter shares: auth, retries, rate limits, the circuit breaker.

One :class:`ProviderHttp` wraps the provider's single ``httpx.AsyncClient``. Its rules:

* 401 → fetch a new token once and resend; a second 401 is :class:`ProviderAuthError`.
* 429 → wait ``Retry-After`` (bounded) or back off, then resend — nothing was applied.
* connection refused / connect timeout → resend with jittered backoff: nothing was sent.
* look-ups (``idempotent=True``) also resend on 502/503/504, read timeouts and broken
  connections; a cancel never does — once it may have reached the provider, a lost answer
  is :class:`OutcomeUncertain` and the caller reconciles by looking the order up.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tui.core.errors import (
    CircuitOpen,
    OutcomeUncertain,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
)
from tui.core.providers.circuit import CircuitBreaker, CircuitState
from tui.core.text import clean

log = logging.getLogger("stopline.http")

Sleep = Callable[[float], Awaitable[None]]

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_LOST_AFTER_SEND = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,  # the answer arrived but its body cannot be decoded
)
_TRANSIENT_STATUS = frozenset({502, 503, 504})


class TokenSource:
    """A bearer token fetched on demand and cached until shortly before it expires."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        skew_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._skew_s = skew_s
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                token, expires_in = await self._fetch()
                self.fetch_count += 1
                self._token = token
                self._expires_at = self._clock() + max(0.0, expires_in - self._skew_s)
            return self._token

    def invalidate(self, stale: str | None = None) -> None:
        """Forget the token (only if it is still ``stale``, when given)."""
        if stale is None or stale == self._token:
            self._token = None


class _Retry(Exception):
    """Internal: this attempt may be repeated; ``final`` is raised when attempts run out."""

    def __init__(self, final: ProviderError, delay: float | None = None) -> None:
        super().__init__(final.message)
        self.final = final
        self.delay = delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": isdigit() alone takes any digit
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def connect_problem(exc: Exception) -> str:
    """Why a connection failed, in words an operator can act on (TLS trust in particular)."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        why = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0]
        return (
            f"TLS certificate not trusted ({clean(why, max_chars=120).strip() or 'verify failed'});"
            " a server with its own CA needs the ca_bundle setting"
        )
    return f"cannot connect ({type(exc).__name__})"


class ProviderHttp:
    def __init__(
        self,
        provider: str,
        client: httpx.AsyncClient,
        *,
        auth: Callable[[], Awaitable[Mapping[str, str]]] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        breaker: CircuitBreaker | None = None,
        attempts: int = 3,
        rate_limit_attempts: int = 4,
        max_retry_after_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        self._auth = auth
        self._on_unauthorized = on_unauthorized
        self.breaker = breaker or CircuitBreaker()
        self._attempts = attempts
        self._rate_limit_attempts = rate_limit_attempts
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._before_send = before_send
        self._backoff = wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.delay is not None:
            return exc.delay
        return float(self._backoff(state))

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        idempotent: bool,
        authenticate: bool = True,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with the rules above. Returns any response the caller must interpret."""
        # A token fetch (authenticate=False) runs inside the call that needs it, which has
        # already passed the breaker: gating it again would refuse a half-open trial its own
        # token and leave the circuit paused for good.
        gated = authenticate
        took_trial = gated and self.breaker.state is CircuitState.HALF_OPEN
        if gated and not self.breaker.allow():
            raise CircuitOpen(
                self.provider,
                f"paused after repeated failures; retrying in {self.breaker.retry_in_s:.0f} s",
            )
        reauthed = False
        rate_limited = 0

        async def attempt_once() -> httpx.Response:
            nonlocal reauthed, rate_limited
            send_headers = dict(headers or {})
            if authenticate and self._auth is not None:
                send_headers.update(await self._auth())
            if self._before_send is not None:
                await self._before_send()
            started = time.perf_counter()
            try:
                response = await self.client.request(
                    method, url, params=params, json=json, content=content, headers=send_headers
                )
            except _NOT_SENT as exc:
                self.breaker.record_failure()
                raise _Retry(ProviderUnavailable(self.provider, connect_problem(exc))) from exc
            except _LOST_AFTER_SEND as exc:
                self.breaker.record_failure()
                what = (
                    "no answer in time"
                    if isinstance(exc, httpx.TimeoutException)
                    else (f"connection lost ({type(exc).__name__})")
                )
                if not idempotent:
                    raise OutcomeUncertain(self.provider, what) from exc
                raise _Retry(ProviderUnavailable(self.provider, what)) from exc
            except httpx.HTTPError as exc:
                # Anything else (proxy, protocol, close errors): whether the request left is
                # not knowable, so a cancel is uncertain and a look-up is simply unavailable.
                self.breaker.record_failure()
                what = f"transport failure ({type(exc).__name__})"
                if not idempotent:
                    raise OutcomeUncertain(self.provider, what) from exc
                raise ProviderUnavailable(self.provider, what) from exc
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s %s -> %s in %.0f ms request_id=%s",
                self.provider,
                method,
                response.request.url.path,
                response.status_code,
                elapsed_ms,
                clean(response.headers.get("request-id", "-"), max_chars=80),
            )
            status = response.status_code
            if status >= 500:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            if status == 401 and authenticate and self._on_unauthorized is not None:
                if reauthed:
                    raise ProviderAuthError(
                        self.provider,
                        "credentials refused (401) after a fresh token",
                        http_status=401,
                    )
                reauthed = True
                self._on_unauthorized()
                raise _Retry(
                    ProviderAuthError(self.provider, "credentials refused (401)", http_status=401),
                    delay=0.0,
                )
            if status == 429:
                rate_limited += 1
                error = ProviderUnavailable(
                    self.provider,
                    "rate limited (429) and still limited after waiting",
                    http_status=429,
                )
                if rate_limited >= self._rate_limit_attempts:
                    raise error
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                delay = None if retry_after is None else min(retry_after, self._max_retry_after_s)
                raise _Retry(error, delay=delay)
            if idempotent and status in _TRANSIENT_STATUS:
                raise _Retry(
                    ProviderUnavailable(
                        self.provider, f"provider unavailable ({status})", http_status=status
                    )
                )
            return response

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts + self._rate_limit_attempts + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            reraise=True,
        )
        transient = 0
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await attempt_once()
                    except _Retry as exc:
                        if exc.delay is None and exc.final.http_status != 429:
                            transient += 1
                            if transient >= self._attempts:
                                raise exc.final from None
                        if not self.breaker.allow():
                            raise exc.final from None
                        raise
        except _Retry as exc:
            raise exc.final from None
        finally:
            if took_trial:
                # A trial that ended with no answer either way (cancelled, unexpected error)
                # must not hold the half-open slot forever.
                self.breaker.end_trial()
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
