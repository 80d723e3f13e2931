"""The HTTP discipline every adapter shares: auth, retries, rate limits, the circuit breaker.

One :class:`ProviderHttp` wraps the provider's single ``httpx.AsyncClient``. Its rules:

* 401 → fetch a new token once and resend; a second 401 is :class:`ProviderAuthError`.
* 429 → wait ``Retry-After`` (bounded) or back off, then resend — nothing was applied.
* connection refused / connect timeout → resend with jittered backoff: nothing was sent.
* look-ups (``idempotent=True``) also resend on 502/503/504, read timeouts and broken
  connections; a cancel never does — once it may have reached the provider, a lost answer
  is :class:`OutcomeUncertain` and the caller reconciles by looking the order up.
* bounded answers: one whole exchange (connect, send, every byte of the answer) has
  ``deadline_s``, and an answer is read, decompressed, only up to ``max_answer_bytes`` —
  both enforced while streaming, so a trickle, an endless stream or a gzip bomb costs
  neither time nor memory. Past a bound a look-up fails and a cancel is uncertain.
* a request that cannot be built (a URL httpx refuses, a header value with a newline) was
  never sent: a plain :class:`ProviderError`, never uncertain.
* no try leaves after :data:`SEND_BY` (the cancel lifecycle's budget, whose lease another
  machine trusts): checked at the last moment before each try goes out, so a process frozen
  meanwhile (SIGSTOP, a suspended VM) does not send late once it runs again.

One idea, kept whole: the HTTP discipline every adapter shares.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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

from tui.core.elapsed import elapsed_s
from tui.core.errors import (
    CircuitOpen,
    OutcomeUncertain,
    ProviderAuthError,
    ProviderError,
    ProviderResponseError,
    ProviderUnavailable,
)
from tui.core.provider_settings import DEFAULT_MAX_ANSWER_BYTES
from tui.core.providers.circuit import CircuitBreaker, CircuitState
from tui.core.providers.transport import EXCHANGE, Exchange
from tui.core.redact import Redactor
from tui.core.text import clean

log = logging.getLogger("stopline.http")

Sleep = Callable[[float], Awaitable[None]]

SEND_BY: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "stopline_send_by", default=None
)
"""The moment, on :func:`~tui.core.elapsed.elapsed_s`, after which no request of the call
being made may leave; set by the cancel lifecycle around a cancel, unset (None) otherwise."""

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
_DROPPED_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
"""Headers that describe the wire form of a body already decoded and counted."""


class TokenSource:
    """A bearer token fetched on demand and cached until shortly before it expires."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        skew_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_issue: Callable[[str], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._skew_s = skew_s
        self._clock = clock
        self._on_issue = on_issue
        """Told every token fetched (the provider's redactor learns it before any use)."""
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                token, expires_in = await self._fetch()
                if self._on_issue is not None:
                    self._on_issue(token)
                self.fetch_count += 1
                self._token = token
                self._expires_at = self._clock() + max(0.0, expires_in - self._skew_s)
            return self._token

    def invalidate(self, stale: str | None = None) -> None:
        """Forget the token (only if it is still ``stale``, when given)."""
        if stale is None or stale == self._token:
            self._token = None


DECODE_STEP_BYTES = 4096
"""Compressed bytes decoded at a time: one step inflates to at most ~4 MiB (gzip's ratio
is about 1:1032), so a gzip bomb is stopped a few MiB in, however large its chunks."""


class AnswerNotRead(Exception):
    """Internal: the answer is abandoned unread (too large, or a form no one sends)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


class _SmallSteps(httpx.AsyncByteStream):
    """The raw body in steps of at most ``size`` bytes, so decoding one step is bounded."""

    def __init__(self, inner: httpx.AsyncByteStream, size: int) -> None:
        self._inner = inner
        self._size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            for start in range(0, len(chunk), self._size):
                yield chunk[start : start + self._size]

    async def aclose(self) -> None:
        await self._inner.aclose()


_HEADER_NAME = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def header_problem(request: httpx.Request) -> str | None:
    """Why a header could not be sent (without its value: it may be a credential)."""
    for name, value in request.headers.raw:
        if not _HEADER_NAME.match(name):
            return "a request header has an invalid name"
        if any((b < 0x20 and b != 0x09) or b == 0x7F for b in value):
            shown = clean(name.decode("ascii", "replace"), max_chars=60)
            return f"the {shown} header holds a newline or a control character"
    return None


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
        deadline_s: float | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        redactor: Redactor | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        self.deadline_s = deadline_s if deadline_s is not None else client.timeout.read
        """Seconds one whole exchange may take (default: the client's read timeout)."""
        self.max_answer_bytes = max_answer_bytes
        self.redactor = redactor if redactor is not None else Redactor()
        """Every secret this provider holds or was issued; see :mod:`tui.core.redact`."""
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
            request = self._build(method, url, params, json, content, send_headers)
            if self._before_send is not None:
                await self._before_send()
            send_by = SEND_BY.get()
            if send_by is not None and elapsed_s() >= send_by:
                # Every earlier try of this call was answered "not applied" (a 429, a 401, a
                # refused connection) or it would not be retried: nothing took effect.
                raise ProviderUnavailable(
                    self.provider, "the time allowed for sending ran out before this try left"
                )
            started = time.perf_counter()
            seen = Exchange()
            watching = EXCHANGE.set(seen)
            try:
                async with asyncio.timeout(self.deadline_s):
                    response = await self._exchange(request)
            except TimeoutError as exc:
                self.breaker.record_failure()
                if seen.nothing_sent:  # still connecting: the request never left
                    raise _Retry(
                        ProviderUnavailable(
                            self.provider, f"cannot connect within {self.deadline_s:g} s"
                        )
                    ) from exc
                what = f"no complete answer within {self.deadline_s:g} s"
                if not idempotent:
                    raise OutcomeUncertain(self.provider, what) from exc
                raise _Retry(ProviderUnavailable(self.provider, what)) from exc
            except AnswerNotRead as exc:
                self.breaker.record_failure()
                if not idempotent:
                    raise OutcomeUncertain(self.provider, exc.why, http_status=exc.status) from None
                raise ProviderResponseError(
                    self.provider, exc.why, http_status=exc.status
                ) from None
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
            finally:
                EXCHANGE.reset(watching)
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

    def _build(
        self,
        method: str,
        url: str | httpx.URL,
        params: Mapping[str, str] | None,
        json: Any,
        content: bytes | str | None,
        headers: Mapping[str, str],
    ) -> httpx.Request:
        """The request, or :class:`ProviderError` if it cannot exist: nothing was sent."""
        try:
            request = self.client.build_request(
                method, url, params=params, json=json, content=content, headers=headers
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProviderError(
                self.provider, f"the request URL cannot be used ({exc}); nothing was sent"
            ) from None
        except (UnicodeError, ValueError, TypeError) as exc:
            # Non-ASCII in a header value (httpx encodes headers as ASCII), a body that is
            # not JSON: the text of the exception may hold the value, so it is not shown.
            raise ProviderError(
                self.provider,
                f"the request cannot be built ({type(exc).__name__}); nothing was sent",
            ) from None
        problem = header_problem(request)
        if problem is not None:
            raise ProviderError(self.provider, f"{problem}; nothing was sent")
        return request

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send, then read the answer decoded, at most ``max_answer_bytes`` of it."""
        limit = self.max_answer_bytes
        too_large = f"answer larger than {limit:,} bytes (max_answer_bytes); not read"
        response = await self.client.send(request, stream=True)
        try:
            status = response.status_code
            encodings = [
                e.strip().lower()
                for e in response.headers.get_list("content-encoding", split_commas=True)
                if e.strip().lower() not in ("", "identity")
            ]
            if len(encodings) > 1:  # nested compression: a bomb inside a bomb
                raise AnswerNotRead(status, f"answer encoded {len(encodings)} times; not read")
            declared = response.headers.get("content-length", "")
            said_too_large = declared.isascii() and declared.isdigit() and int(declared) > limit
            if said_too_large and not encodings:  # said up front: no byte of it is read
                raise AnswerNotRead(status, too_large)
            # Decoded in small steps (see DECODE_STEP_BYTES), as httpx wraps its own streams.
            response.stream = _SmallSteps(response.stream, DECODE_STEP_BYTES)  # type: ignore[arg-type]
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise AnswerNotRead(status, too_large)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code,
            headers=[
                (name, value)
                for name, value in response.headers.raw
                if name.lower() not in _DROPPED_HEADERS
            ],
            content=b"".join(chunks),
            request=request,
            extensions={
                key: response.extensions[key]
                for key in ("http_version", "reason_phrase")
                if key in response.extensions
            },
        )
