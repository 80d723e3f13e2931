"""The one path every front end takes: fan-out look-up, cancel, confirmation, journal.

The CLI, the console and the tests all drive this class; it owns one adapter (and so one
``httpx.AsyncClient``) per enabled provider for its whole life.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from tui.core import holders
from tui.core.domain import (
    CancelRequest,
    LookupResult,
    LookupState,
    Outcome,
)
from tui.core.errors import ProviderError
from tui.core.holders import host_name
from tui.core.identifiers import (
    InvalidInput,
    validate_identifier,
    validate_reason,
    validate_reason_code,
)
from tui.core.journal import Attempt, AttemptJournal, SqliteJournal, UnknownAttempt
from tui.core.providers import registry
from tui.core.providers.base import OrderProvider
from tui.core.providers.factory import build_provider
from tui.core.settings import Settings

if TYPE_CHECKING:
    from tui.core.lifecycle import CancelEvent, CancelLifecycle, Done, NotSent, Reconciled

log = logging.getLogger("stopline.service")


class ReadOnly(InvalidInput):
    """A cancel was asked for where cancelling is switched off."""


def unknown_provider_message(key: str) -> str:
    return f"unknown provider {key!r}; known providers: {', '.join(registry.provider_keys())}"


class StoplineService:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[str, OrderProvider],
        *,
        journal: AttemptJournal | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.providers: dict[str, OrderProvider] = dict(providers)
        self._scratch: Path | None = None
        if journal is None:
            # Every cancel is claimed and written ahead; a service built without a journal
            # (a script, a test) keeps a private one for its own life.
            self._scratch = Path(tempfile.mkdtemp(prefix="stopline-journal-"))
            journal = SqliteJournal.open(self._scratch / "journal.sqlite3")
        self._journal: AttemptJournal = journal
        self._sleep = sleep
        self._lifecycle: CancelLifecycle | None = None

    @property
    def lifecycle(self) -> CancelLifecycle:
        """The cancel lifecycle, built on first use: a look-up needs none of it, so the
        console is ready without importing it."""
        if self._lifecycle is None:
            from tui.core.lifecycle import CancelLifecycle

            self._lifecycle = CancelLifecycle(
                self.settings, self.provider, self._journal, sleep=self._sleep
            )
        return self._lifecycle

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        journal: AttemptJournal | None = None,
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
        try:
            if self._lifecycle is not None:
                await self._lifecycle.aclose()
            await asyncio.gather(*(p.aclose() for p in self.providers.values()))
        finally:
            await self._journal.aclose()
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)

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
        configured = self.providers.get(key)
        if configured is not None:  # every check of every row of a batch: the short way
            return configured
        if key not in registry.provider_keys():
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
            return LookupResult(
                provider=key,
                identifier=identifier,
                state=LookupState.SKIPPED,
                why_skipped=provider.spec.identifier_hint
                or "it cannot resolve identifiers of this shape",
            )
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
        order = {key: i for i, key in enumerate(registry.provider_keys())}
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
        # A provider with reason codes: the code must be one of them (and given where they
        # are required) before any claim is taken or anything is written.
        provider.reasons.to_send(reason, validate_reason_code(request.reason_code))
        operator = request.operator or self.settings.resolved_operator()
        return request.model_copy(
            update={"order_id": order_id, "reason": reason, "operator": operator}
        )

    def cancel_events(
        self, request: CancelRequest, *, resume: bool = False, confirm: bool = False
    ) -> AsyncIterator[CancelEvent]:
        """The cancel lifecycle's events for ``request`` (see :mod:`tui.core.lifecycle`).

        ``resume``: a batch run again (skip what settled earlier for the same items);
        ``confirm``: follow an asynchronous cancel until a look-up confirms it.
        Raises :class:`InvalidInput` before anything is sent for a bad request.
        """
        return self.lifecycle.run(self.prepare(request), resume=resume, confirm=confirm)

    async def cancel(
        self, request: CancelRequest, *, resume: bool = False, confirm: bool = False
    ) -> Done | NotSent:
        """Run one cancel to its end and return its final event."""
        from tui.core.lifecycle import Done, NotSent

        final: Done | NotSent | None = None
        async for event in self.cancel_events(request, resume=resume, confirm=confirm):
            if isinstance(event, Done | NotSent):
                final = event
        assert final is not None, "a cancel stream always ends with Done or NotSent"
        return final

    async def recheck(self, attempt_id: int) -> Reconciled:
        """Look the order of an open, unknown or unconfirmed attempt up and settle what the
        look-up shows, in the journal. Never sends a cancel."""
        attempt = await self._journal.get(attempt_id)
        if attempt is None:
            raise UnknownAttempt(f"no attempt {attempt_id} in the journal")
        self.provider(attempt.provider)
        return await self.lifecycle.reconcile(attempt)

    def in_flight(self, attempt: Attempt) -> bool:
        """Whether ``attempt`` may be on its way to the provider right now."""
        # What the lifecycle answers (it asks the same of the journal's clock), without
        # building it: the history screen asks for every row it reads, before any cancel.
        return holders.in_flight(attempt, self._journal.where, now=self._journal.now())

    # -- the journal, read -------------------------------------------------------------------

    @property
    def journal_where(self) -> str:
        return self._journal.where

    async def attempts(
        self,
        limit: int | None = 50,
        provider: str | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        outcome: Outcome | str | None = None,
        *,
        open_only: bool = False,
        after: Attempt | None = None,
    ) -> list[Attempt]:
        """Newest first; ``after``: the page that follows that attempt."""
        return await self._journal.attempts(
            limit, provider, order_id, since, outcome, open_only=open_only, after=after
        )

    async def attempt(self, attempt_id: int) -> Attempt | None:
        return await self._journal.get(attempt_id)

    async def latest_attempts(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Attempt | None]:
        """The latest sent attempt on each (provider, order) (a batch preview)."""
        return await self._journal.latest_for_many(keys)

    async def open_attempt(self, provider: str, order_id: str) -> Attempt | None:
        return await self._journal.open_attempt(provider, order_id)

    def watch_attempts(self, poll_s: float | None = None) -> AsyncIterator[Attempt]:
        """Every attempt as anyone on the floor writes it — other processes, other machines
        on the shared journal, this one — from now on (the journal's ``watch``)."""
        return self._journal.watch(poll_s if poll_s is not None else self.settings.floor_poll_s)

    def is_mine(self, attempt: Attempt) -> bool:
        """Made by this process (the console's own cancels)."""
        return attempt.host == host_name() and attempt.pid == os.getpid()
