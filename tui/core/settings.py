"""Stopline's settings: environment (``STOPLINE_*``, nested with ``__``) over a TOML file.

Precedence, highest first: explicit arguments, environment variables, the TOML file
(``STOPLINE_CONFIG`` or ``<user config dir>/stopline/config.toml``), defaults. Over SSH an
environment variable is how a supervisor overrides a shared file, so env wins.

A provider is enabled when its ``base_url`` is set.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

APP_NAME = "stopline"
_STAGING_LABELS = frozenset({"stage", "staging", "stg", "dev", "test", "uat", "qa", "sandbox"})
Environment = Literal["sandbox", "staging", "production", "other"]


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def config_path() -> Path:
    override = os.environ.get("STOPLINE_CONFIG", "").strip()
    return Path(override).expanduser() if override else default_config_path()


class ProviderSettings(BaseModel):
    base_url: str | None = None
    """Root of the provider's API. The provider is enabled when this is set."""
    timeout_s: float = Field(default=15.0, gt=0, le=300)
    """Seconds to wait for a response before a look-up is retried or a cancel is unknown."""
    environment: Environment | None = None
    """Shown in the console; guessed from the URL when unset."""
    read_only: bool = False
    """Hide and refuse every cancel for this provider (a per-site safety switch)."""
    settle_s: float = Field(default=30.0, ge=0, le=3600)
    """How long after its deadline a cancel may still take effect at the provider. No vendor
    documents it: a guess. Until the request's deadline plus this has passed, a look-up that
    shows the order untouched does not prove an unanswered cancel failed."""

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

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


class PatternSettings(ProviderSettings):
    settle_s: float = Field(default=120.0, ge=0, le=3600)
    """Pattern cancels asynchronously and does not say how long that takes: a guess."""
    token_url: str | None = None
    """OAuth2 client-credentials token endpoint (on another host than the API)."""
    client_id: str | None = None
    client_secret: SecretStr | None = None


class OrderMeshSettings(ProviderSettings):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    trigger_flow: bool = True
    """Sent as ``triggerFlow`` on cancel. Its meaning is unconfirmed; true as in the docs."""


class ShoplazzaSettings(ProviderSettings):
    access_token: SecretStr | None = None
    api_version: str = "2022-01"
    rate_per_s: float = Field(default=2.0, gt=0, le=100)
    """Shoplazza's documented leaky bucket: 2 requests/s per app and store."""


class RxUniverseSettings(ProviderSettings):
    api_key: SecretStr | None = None
    """Optional; auth is unconfirmed (network-level at most labs)."""
    api_key_header: str = "X-Api-Key"
    """Header carrying ``api_key``. A guess: the vendor documents none."""
    reason_param: Literal["query", "body"] = "query"
    """How the delete reason is sent. Unconfirmed; query ``deleteReason`` is the guess."""
    reason_field: str = "deleteReason"
    reason_required: bool = True
    """Whether the lab's 'Enter reason code when deleting order' setting is on."""
    reason_codes: dict[str, str] = Field(
        default_factory=lambda: {
            "1": "Customer request",
            "2": "Duplicate order",
            "3": "Wrong prescription",
            "4": "Frame out of stock",
            "5": "Lens out of stock",
            "9": "Other",
        }
    )
    """The lab's delete reason codes, code → description (each lab configures its own)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STOPLINE_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    pattern: PatternSettings = Field(default_factory=PatternSettings)
    ordermesh: OrderMeshSettings = Field(default_factory=OrderMeshSettings)
    shoplazza: ShoplazzaSettings = Field(default_factory=ShoplazzaSettings)
    rxuniverse: RxUniverseSettings = Field(default_factory=RxUniverseSettings)

    data_dir: Path | None = None
    """Where the journal lives. Default: the platform's user data folder."""
    journal_url: SecretStr | None = None
    """A ``postgresql://`` URL: the floor's shared journal. Unset: the local SQLite journal
    in ``data_dir``. It may hold a password, so it is a secret."""
    log_dir: Path | None = None
    """Where the rotating support log lives. Default: the platform's user log folder."""
    operator: str | None = None
    """Who is cancelling; recorded with every attempt. Default: the OS login."""
    read_only: bool = False
    """Hide and refuse every cancel action."""
    ca_bundle: Path | None = None
    """A CA bundle for on-premise labs with their own CA. TLS is always verified."""
    theme: str = "stopline-dark"
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → keys, e.g. ``{"stopline.cancel" = "x"}``."""
    lookup_concurrency: int = Field(default=4, ge=1, le=16)
    confirm_poll_s: float = Field(default=1.0, gt=0, le=60)
    confirm_timeout_s: float = Field(default=30.0, gt=0, le=3600)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)

    # -- derived ---------------------------------------------------------------------------

    def providers(self) -> dict[str, ProviderSettings]:
        return {
            "pattern": self.pattern,
            "ordermesh": self.ordermesh,
            "shoplazza": self.shoplazza,
            "rxuniverse": self.rxuniverse,
        }

    def enabled_providers(self) -> list[str]:
        return [key for key, section in self.providers().items() if section.enabled]

    def resolved_data_dir(self) -> Path:
        return self.data_dir or platformdirs.user_data_path(APP_NAME, appauthor=False)

    def resolved_log_dir(self) -> Path:
        return self.log_dir or platformdirs.user_log_path(APP_NAME, appauthor=False)

    def resolved_operator(self) -> str:
        if self.operator and self.operator.strip():
            return self.operator.strip()
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def journal_path(self) -> Path:
        return self.resolved_data_dir() / "journal.sqlite3"

    def is_read_only(self, provider: str | None = None) -> bool:
        if self.read_only:
            return True
        return bool(provider and self.providers()[provider].read_only)


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every one found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


_SECRET_KEYS = ("client_secret", "access_token", "api_key")


def _file_holds_secret(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(key in text for key in _SECRET_KEYS)


def check_config_file_permissions(path: Path) -> str | None:
    """A problem sentence when a config file holding secrets is readable by others."""
    if os.name != "posix" or not path.is_file():
        return None
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and _file_holds_secret(path):
        return f"{path} holds secrets and is readable by group or others; run: chmod 600 {path}"
    return None


def load_settings(**overrides: Any) -> Settings:
    """Load settings, raising :class:`ConfigError` with every problem at once."""
    problems: list[str] = []
    path = config_path()
    if os.environ.get("STOPLINE_CONFIG", "").strip() and not path.is_file():
        problems.append(f"STOPLINE_CONFIG points at {path}, which is not a file")
    perm = check_config_file_permissions(path)
    if perm:
        problems.append(perm)
    settings: Settings | None = None
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in err["loc"]) or "config"
            problems.append(f"{where}: {err['msg']}")
    except SettingsError as exc:  # a STOPLINE_* value that is not valid JSON: not the file's
        problems.append(f"environment: {exc}")
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        problems.append(f"{path}: {exc}")
    if settings is not None:
        problems.extend(completeness_problems(settings))
    if problems or settings is None:
        raise ConfigError(problems or ["configuration could not be loaded"])
    return settings


def completeness_problems(settings: Settings) -> list[str]:
    """Enabled providers missing what they need to authenticate."""
    problems: list[str] = []
    p = settings.pattern
    if p.enabled:
        for name in ("token_url", "client_id", "client_secret"):
            if not getattr(p, name):
                problems.append(f"pattern.{name} is required when pattern.base_url is set")
        if p.token_url and not p.token_url.startswith(("http://", "https://")):
            problems.append("pattern.token_url: must start with http:// or https://")
    o = settings.ordermesh
    if o.enabled:
        for name in ("client_id", "client_secret"):
            if not getattr(o, name):
                problems.append(f"ordermesh.{name} is required when ordermesh.base_url is set")
    s = settings.shoplazza
    if s.enabled and not s.access_token:
        problems.append("shoplazza.access_token is required when shoplazza.base_url is set")
    if settings.ca_bundle is not None and not settings.ca_bundle.is_file():
        problems.append(f"ca_bundle: {settings.ca_bundle} is not a file")
    return problems
