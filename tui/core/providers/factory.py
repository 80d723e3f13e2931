"""Building an adapter: the provider's registered class, with its own ``httpx.AsyncClient``."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import httpx

from tui.core.providers import registry
from tui.core.providers.tls import shared_context
from tui.core.providers.transport import ProviderTransport

if TYPE_CHECKING:
    from tui.core.providers.base import OrderProvider
    from tui.core.settings import Settings

USER_AGENT = "stopline/0.1"


def tls_verify(settings: Settings) -> ssl.SSLContext:
    """Always verify; one context shared by every provider (see :mod:`tls`)."""
    return shared_context(settings)


def build_provider(
    key: str,
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **http: Any,
) -> OrderProvider:
    """The adapter for ``key`` with its own ``httpx.AsyncClient`` (closed by ``aclose``)."""
    section = settings.section(key)
    verify = tls_verify(settings)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    client = httpx.AsyncClient(
        base_url=section.base_url or "",
        timeout=httpx.Timeout(section.timeout_s, connect=min(5.0, section.timeout_s)),
        verify=verify,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        limits=limits,
        transport=transport or ProviderTransport(verify=verify, limits=limits),
        follow_redirects=False,
    )
    http.setdefault("deadline_s", section.timeout_s)
    http.setdefault("max_answer_bytes", section.max_answer_bytes)
    provider: OrderProvider = registry.get(key).adapter_class()(section, client, **http)
    return provider


__all__ = ["USER_AGENT", "build_provider", "tls_verify"]
