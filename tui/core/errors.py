"""Typed failures of provider calls. Every message is sanitised and safe to print."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed. ``message`` is one sanitised line for the operator."""

    def __init__(self, provider: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.http_status = http_status


class ProviderAuthError(ProviderError):
    """Credentials were refused (after one fresh token)."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or kept failing; nothing was applied."""


class CircuitOpen(ProviderUnavailable):
    """Calls are paused after repeated failures; the request was not sent."""


class ProviderResponseError(ProviderError):
    """The provider answered something Stopline cannot read."""


class OutcomeUncertain(ProviderError):
    """A request that changes state was sent and no usable answer came back.

    It may have taken effect: callers must report ``unknown`` and reconcile by look-up.
    """
