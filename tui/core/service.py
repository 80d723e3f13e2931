"""The one path every front end takes: fan-out look-up, cancel, confirmation, journal.

The CLI, the console and the tests all drive this class; it owns one adapter (and so one
``httpx.AsyncClient``) per enabled provider for its whole life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol

import httpx

from tui.core.domain import (
    PROVIDER_KEYS,
    CancelOutcome,
    CancelRequest,
    LookupResult,
    LookupState,
    Outcome,
)
from tui.core.errors import ProviderError
from tui.core.identifiers import InvalidInput, validate_identifier, validate_reason
from tui.core.providers import OrderProvider, build_provider
from tui.core.settings import Settings

log = logging.getLogger("stopline.service")


class ReadOnly(InvalidInput):
    """A cancel was asked for where cancelling is switched off."""


class AttemptLog(Protocol):
    """Where attempts are written before they are sent and completed after (the journal)."""

    def begin(self, request: CancelRequest) -> int: ...

    def finish(self, attempt_id: int, outcome: CancelOutcome, duration_ms: float) -> None: ...

    def update(self, attempt_id: int, outcome: CancelOutcome) -> None: ...


def unknown_provider_message(key: str) -> str:
    return f"unknown provider {key!r}; known providers: {', '.join(PROVIDER_KEYS)}"


class StoplineService:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[str, OrderProvider],
        *,
        journal: AttemptLog | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.providers: dict[str, OrderProvider] = dict(providers)
        self.journal = journal
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        journal: AttemptLog | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        **http: Any,
    ) -> StoplineService:
        providers = {
            key: build_provider(key, settings, transport=(transports or {}).get(key), **http)
            for key in settings.enabled_providers()
        }
        # The same ``sleep`` the providers back off with paces confirmation polling.
        service_kw = {"sleep": http["sleep"]} if "sleep" in http else {}
        return cls(settings, providers, journal=journal, **service_kw)

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self.providers.values()))

    async def __aenter__(self) -> StoplineService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- providers ---------------------------------------------------------------------------

    def provider(self, key: str) -> OrderProvider:
        if key not in PROVIDER_KEYS:
            raise InvalidInput(unknown_provider_message(key))
        try:
            return self.providers[key]
        except KeyError:
            raise InvalidInput(
                f"provider {key!r} is not configured (set STOPLINE_{key.upper()}__BASE_URL)"
            ) from None

    def read_only(self, key: str | None = None) -> bool:
        return self.settings.is_read_only(key)

    # -- look-up -----------------------------------------------------------------------------

    async def lookup_one(self, key: str, identifier: str) -> LookupResult:
        provider = self.provider(key)
        started = time.perf_counter()
        if not provider.can_resolve(identifier):
            return LookupResult(provider=key, identifier=identifier, state=LookupState.SKIPPED)
        try:
            order = await provider.lookup(identifier)
        except ProviderError as exc:
            return LookupResult(
                provider=key,
                identifier=identifier,
                state=LookupState.ERROR,
                error=exc.message,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        elapsed = (time.perf_counter() - started) * 1000
        if order is None:
            return LookupResult(
                provider=key, identifier=identifier, state=LookupState.NOT_FOUND, elapsed_ms=elapsed
            )
        return LookupResult(
            provider=key,
            identifier=identifier,
            state=LookupState.FOUND,
            orders=[order],
            elapsed_ms=elapsed,
        )

    async def lookup_stream(
        self, identifier: str, providers: list[str] | None = None
    ) -> AsyncIterator[LookupResult]:
        """Ask every chosen provider at once; yield each answer as it arrives."""
        ident = validate_identifier(identifier)
        keys = providers or list(self.providers)
        for key in keys:
            self.provider(key)  # unknown / unconfigured names fail before any request
        tasks = [asyncio.ensure_future(self.lookup_one(key, ident)) for key in keys]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def lookup_all(
        self, identifier: str, providers: list[str] | None = None
    ) -> list[LookupResult]:
        results = [r async for r in self.lookup_stream(identifier, providers)]
        order = {key: i for i, key in enumerate(PROVIDER_KEYS)}
        return sorted(results, key=lambda r: order.get(r.provider, 99))

    # -- cancel ------------------------------------------------------------------------------

    def prepare(self, request: CancelRequest) -> CancelRequest:
        """Validate a request before anything is written or sent."""
        provider = self.provider(request.provider)
        if self.read_only(request.provider):
            raise ReadOnly(f"{request.provider} is read-only here; nothing was sent")
        order_id = validate_identifier(request.order_id)
        reason = validate_reason(request.reason, required=True)
        if request.items and not provider.supports_item_cancel:
            raise InvalidInput(
                f"{provider.label} cancels whole orders only; drop the item selection"
            )
        ids = [item.id for item in request.items]
        if len(set(ids)) != len(ids):
            raise InvalidInput("an item is selected twice")
        for item_id in ids:
            validate_identifier(item_id)
        operator = request.operator or self.settings.resolved_operator()
        return request.model_copy(
            update={"order_id": order_id, "reason": reason, "operator": operator}
        )

    async def cancel(self, request: CancelRequest) -> CancelOutcome:
        """Journal the attempt, send it, journal the answer; reconcile an unknown once."""
        request = self.prepare(request)
        provider = self.provider(request.provider)
        # Written (and on disk) before the request leaves; off the event loop, since another
        # Stopline process may hold the journal's write lock for a moment.
        attempt_id = await asyncio.to_thread(self.journal.begin, request) if self.journal else None
        started = time.perf_counter()
        # If this task is cancelled mid-flight (ctrl-c, a newer action) the journal keeps the
        # attempt as ``sent``, which reads as unknown: never as a success.
        outcome = await provider.cancel(request)
        if outcome.outcome is Outcome.UNKNOWN:
            outcome = await provider.reconcile(outcome, request)
        outcome = outcome.model_copy(update={"attempt_id": attempt_id})
        if self.journal is not None and attempt_id is not None:
            duration_ms = (time.perf_counter() - started) * 1000
            try:
                await asyncio.to_thread(self.journal.finish, attempt_id, outcome, duration_ms)
            except Exception as exc:  # the provider's answer must still reach the operator
                log.error("journal: could not record attempt %s: %s", attempt_id, exc)
                outcome = outcome.model_copy(
                    update={
                        "warnings": [
                            *outcome.warnings,
                            f"journal write failed; attempt {attempt_id} reads as unknown there",
                        ]
                    }
                )
        return outcome

    async def recheck(self, outcome: CancelOutcome, request: CancelRequest) -> CancelOutcome:
        """Look the order up to settle an unknown or initiated outcome (no cancel is sent)."""
        return await self.provider(request.provider).reconcile(outcome, request)

    async def confirm(
        self,
        outcome: CancelOutcome,
        request: CancelRequest,
        *,
        poll_s: float | None = None,
        timeout_s: float | None = None,
    ) -> AsyncIterator[CancelOutcome]:
        """Poll an initiated (async) cancellation until confirmed or the check gives up.

        Yields each changed outcome; the last one yielded is final. Nothing that was not
        cancelled is ever marked so: confirmation comes only from the provider's look-up.
        """
        poll = poll_s if poll_s is not None else self.settings.confirm_poll_s
        limit = timeout_s if timeout_s is not None else self.settings.confirm_timeout_s
        deadline = time.monotonic() + limit
        attempt_id = outcome.attempt_id
        current = outcome
        while not current.confirmed and current.outcome in (
            Outcome.COMPLETE,
            Outcome.PARTIAL,
            Outcome.UNKNOWN,
        ):
            if time.monotonic() >= deadline:
                gave_up = current.model_copy(
                    update={
                        "warnings": [
                            *current.warnings,
                            f"not confirmed after {limit:.0f} s; re-check later",
                        ]
                    }
                )
                if self.journal is not None and attempt_id is not None:
                    self.journal.update(attempt_id, gave_up)
                yield gave_up
                return
            await self._sleep(poll)
            checked = await self.recheck(current, request)
            # Re-check warnings repeat each poll; keep the outcome's own ones only.
            checked = checked.model_copy(update={"warnings": current.warnings})
            if checked != current:
                current = checked
                if self.journal is not None and attempt_id is not None:
                    self.journal.update(attempt_id, current)
                yield current
