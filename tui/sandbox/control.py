"""Steer a running sandbox over HTTP: add or clear faults, reset the data, revoke tokens.

Plain functions with a synchronous httpx client (for tests and the CLI); the `a`-prefixed twins
do the same from async code.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

TIMEOUT_S = 5.0

_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def _client() -> httpx.Client:
    """One pooled client for every call (building one per call costs ~20 ms of TLS setup).
    `trust_env=False`: a proxy from the environment must never see loopback control calls."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = httpx.Client(timeout=TIMEOUT_S, trust_env=False)
        return _shared


def _async_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False)


def _url(root_url: str, path: str) -> str:
    return f"{root_url.rstrip('/')}/_sandbox/{path}"


def _checked(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


def add_fault(root_url: str, **rule: Any) -> dict[str, Any]:
    """Put a fault rule in force, e.g. `add_fault(url, provider="pattern", mode="timeout")`.
    Returns the rule as the sandbox stored it (with its `id`)."""
    return _checked(_client().post(_url(root_url, "faults"), json=rule))


def list_faults(root_url: str) -> list[dict[str, Any]]:
    """The fault rules in force."""
    return _checked(_client().get(_url(root_url, "faults")))


def clear_faults(root_url: str) -> int:
    """Remove every fault rule; returns how many there were."""
    return int(_checked(_client().delete(_url(root_url, "faults")))["cleared"])


def reset(root_url: str) -> None:
    """Restore the demo data to its initial state."""
    _checked(_client().post(_url(root_url, "reset")))


def calls(root_url: str, operation: str | None = None) -> list[dict[str, str]]:
    """The provider requests the sandbox received, in order (``operation``: e.g. ``cancel``)."""
    params = {"operation": operation} if operation else None
    return _checked(_client().get(_url(root_url, "calls"), params=params))


def forget_calls(root_url: str) -> int:
    """Forget the requests received so far; returns how many there were."""
    return int(_checked(_client().delete(_url(root_url, "calls")))["forgotten"])


def revoke_tokens(root_url: str) -> int:
    """Invalidate every issued bearer token; returns how many were alive."""
    return int(_checked(_client().post(_url(root_url, "revoke_tokens")))["revoked"])


async def aadd_fault(root_url: str, **rule: Any) -> dict[str, Any]:
    """Async `add_fault`."""
    async with _async_client() as client:
        return _checked(await client.post(_url(root_url, "faults"), json=rule))


async def aclear_faults(root_url: str) -> int:
    """Async `clear_faults`."""
    async with _async_client() as client:
        return int(_checked(await client.delete(_url(root_url, "faults")))["cleared"])


async def areset(root_url: str) -> None:
    """Async `reset`."""
    async with _async_client() as client:
        _checked(await client.post(_url(root_url, "reset")))


async def arevoke_tokens(root_url: str) -> int:
    """Async `revoke_tokens`."""
    async with _async_client() as client:
        return int(_checked(await client.post(_url(root_url, "revoke_tokens")))["revoked"])
