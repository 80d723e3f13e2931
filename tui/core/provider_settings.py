"""What every provider's settings section has, and the checks their values go through.

Each provider's own section (its credentials, its quirks) lives in its module under
:mod:`tui.core.providers` and is registered with it (:mod:`tui.core.providers.registry`);
:mod:`tui.core.settings` builds the whole configuration from the registry.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from tui.core.identifiers import has_control

_STAGING_LABELS = frozenset({"stage", "staging", "stg", "dev", "test", "uat", "qa", "sandbox"})
Environment = Literal["sandbox", "staging", "production", "other"]
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""An HTTP header name (RFC 9110 token)."""

DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024


def check_url(value: str | None) -> str | None:
    """A base or token URL httpx can send to: http(s), a host, parseable. Blank is unset."""
    if value is None or not value.strip():
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    if has_control(value) or " " in value:
        raise ValueError("must not contain spaces or control characters")
    import httpx  # here, not at import: the console's first frame does not need it

    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"is not a URL that can be used ({exc})") from None
    if not url.host:
        raise ValueError("has no host name")
    return value


def check_secret(value: SecretStr | None, *, header: bool) -> SecretStr | None:
    """A credential that can be sent: no control characters (a pasted newline), and printable
    ASCII when it travels in a header. The value itself is never part of the message."""
    if value is None:
        return None
    text = value.get_secret_value()
    if not text.strip():
        return None
    if has_control(text):
        raise ValueError("contains a newline or another control character (a copy-paste slip?)")
    if text != text.strip():
        raise ValueError("has blanks around it (a copy-paste slip?); remove them")
    if header and not (text.isascii() and text.isprintable()):
        raise ValueError("is sent in an HTTP header, so it must be printable ASCII")
    return value


def check_plain(value: str | None, *, what: str = "value", max_chars: int = 200) -> str | None:
    if value is None:
        return None
    if has_control(value):
        raise ValueError(f"{what} contains a newline or another control character")
    if len(value) > max_chars:
        raise ValueError(f"{what} is longer than {max_chars} characters")
    return value


class ProviderSettings(BaseModel):
    base_url: str | None = None
    """Root of the provider's API. The provider is enabled when this is set."""
    timeout_s: float = Field(default=15.0, gt=0, le=300)
    """Seconds one whole exchange (connect, send, the complete answer) may take before a
    look-up is retried or a cancel is unknown."""
    max_answer_bytes: int = Field(default=DEFAULT_MAX_ANSWER_BYTES, ge=1024, le=1024**3)
    """Largest answer read, counted after decompression; a larger one is abandoned."""
    environment: Environment | None = None
    """Shown in the console; guessed from the URL when unset."""
    read_only: bool = False
    """Hide and refuse every cancel for this provider (a per-site safety switch)."""
    settle_s: float = Field(default=30.0, ge=0, le=3600)
    """How long after its deadline a cancel may still take effect at the provider. No vendor
    documents it: a guess. Until the cancel's budget (three times ``timeout_s``, retries
    included) plus this has passed, a look-up that shows the order untouched does not prove
    an unanswered cancel failed."""

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return check_url(value)

    @property
    def enabled(self) -> bool:
        return self.base_url is not None

    def resolved_environment(self) -> Environment:
        """The explicit ``environment``, else a guess from the host that errs towards
        production: only a loopback host is a sandbox, and only a whole host label (split
        at ``.`` and ``-``) such as ``stage``, ``stg``, ``dev`` or ``test`` makes staging."""
        if self.environment:
            return self.environment
        try:
            host = urlsplit(self.base_url or "").hostname or ""
        except ValueError:
            return "production"
        try:
            if host == "localhost" or ipaddress.ip_address(host).is_loopback:
                return "sandbox"
        except ValueError:
            pass
        if _STAGING_LABELS.intersection(re.split(r"[.-]", host)):
            return "staging"
        return "production"


class ClientCredentials(ProviderSettings):
    """A provider that issues bearer tokens for a client id and secret."""

    client_id: str | None = None
    client_secret: SecretStr | None = None

    @field_validator("client_id")
    @classmethod
    def _check_client_id(cls, value: str | None) -> str | None:
        return check_plain(value, what="the client id")

    @field_validator("client_secret")
    @classmethod
    def _check_client_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return check_secret(value, header=False)
