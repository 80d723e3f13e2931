"""The TLS trust every provider's client shares: one context, built once, and only when a
provider is reached over https.

Loading a CA bundle costs ~18 ms; each ``httpx.AsyncClient`` left to itself loads its own,
even for ``http://`` URLs (the demo sandbox, a lab on loopback). Here the four clients share
one context, built the first time a provider with an https URL needs it. Without any such
URL they share a context that trusts nothing: an https URL that turns up anyway is refused,
never reached unverified.
"""

from __future__ import annotations

import ssl
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.settings import Settings

_LOCK = threading.Lock()
_BUILT: dict[str | None, ssl.SSLContext] = {}
"""Contexts built, by CA bundle (None: the default trust alone)."""


def provider_urls(settings: Settings) -> list[str]:
    """Every URL the enabled providers are reached at (base, token…)."""
    sections = settings.providers()
    urls: list[str] = []
    for key in settings.enabled_providers():
        section = sections[key]
        for name in type(section).model_fields:
            value = getattr(section, name)
            if name.endswith("url") and isinstance(value, str) and value:
                urls.append(value)
    return urls


def needs_tls(settings: Settings) -> bool:
    return any(url.strip().lower().startswith("https:") for url in provider_urls(settings))


def trusting_nothing() -> ssl.SSLContext:
    """Verification on, no CA loaded: every certificate is refused (and nothing is read)."""
    with _LOCK:
        context = _BUILT.get("\0none")
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            _BUILT["\0none"] = context
        return context


def shared_context(settings: Settings) -> ssl.SSLContext:
    """The one context for every provider's client. Always verifying: an on-premise CA
    bundle is added to the CAs httpx trusts by default (certifi's, or ``SSL_CERT_FILE``),
    never in their place, so a lab's own CA does not make the public providers untrusted."""
    if not needs_tls(settings):
        return trusting_nothing()
    import httpx

    key = str(settings.ca_bundle) if settings.ca_bundle is not None else None
    with _LOCK:
        context = _BUILT.get(key)
        if context is None:
            context = httpx.create_ssl_context()
            if settings.ca_bundle is not None:
                context.load_verify_locations(cafile=str(settings.ca_bundle))
            _BUILT[key] = context
        return context
