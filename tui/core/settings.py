"""Stopline's settings: environment (``STOPLINE_*``, nested with ``__``) over a TOML file.

Precedence, highest first: explicit arguments, environment variables, the TOML file
(``STOPLINE_CONFIG`` or ``<user config dir>/stopline/config.toml``), defaults. Over SSH an
environment variable is how a supervisor overrides a shared file, so env wins.

A provider is enabled when its ``base_url`` is set.

:func:`load_settings` is strict: unknown names, values the libraries underneath would reject
(a URL httpx cannot parse, a rate the limiter cannot pace, a token that cannot be a header)
and missing credentials are all reported at once, in plain words, each naming its source.
"""

from __future__ import annotations

import contextvars
import copy
import getpass
import ipaddress
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tui.core import config_sources
from tui.core.identifiers import has_control, validate_operator, validate_reason_code

APP_NAME = "stopline"
_STAGING_LABELS = frozenset({"stage", "staging", "stg", "dev", "test", "uat", "qa", "sandbox"})
Environment = Literal["sandbox", "staging", "production", "other"]


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def config_path() -> Path:
    override = os.environ.get("STOPLINE_CONFIG", "").strip()
    return Path(override).expanduser() if override else default_config_path()


DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""An HTTP header name (RFC 9110 token)."""


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
    documents it: a guess. Until the request's deadline plus this has passed, a look-up that
    shows the order untouched does not prove an unanswered cancel failed."""

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


class _ClientCredentials(ProviderSettings):
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


class PatternSettings(_ClientCredentials):
    settle_s: float = Field(default=120.0, ge=0, le=3600)
    """Pattern cancels asynchronously and does not say how long that takes: a guess."""
    token_url: str | None = None
    """OAuth2 client-credentials token endpoint (on another host than the API)."""

    @field_validator("token_url")
    @classmethod
    def _check_token_url(cls, value: str | None) -> str | None:
        return check_url(value)


class OrderMeshSettings(_ClientCredentials):
    trigger_flow: bool = True
    """Sent as ``triggerFlow`` on cancel. Its meaning is unconfirmed; true as in the docs."""


class ShoplazzaSettings(ProviderSettings):
    access_token: SecretStr | None = None
    api_version: str = "2022-01"
    rate_per_s: float = Field(default=2.0, le=100)
    """Shoplazza's documented leaky bucket: 2 requests/s per app and store."""

    @field_validator("access_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        return check_secret(value, header=True)

    @field_validator("api_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is empty (Shoplazza's is 2022-01)")
        return check_plain(value, what="the API version", max_chars=40) or value

    @field_validator("rate_per_s")
    @classmethod
    def _check_rate(cls, value: float) -> float:
        if not value >= 1:  # aiolimiter cannot take a whole request below 1 per second
            raise ValueError("must be at least 1 request per second (Shoplazza documents 2)")
        return value


class RxUniverseSettings(ProviderSettings):
    api_key: SecretStr | None = None
    """Optional; auth is unconfirmed (network-level at most labs)."""
    api_key_header: str = "X-Api-Key"
    """Header carrying ``api_key``. A guess: the vendor documents none."""
    reason_param: Literal["query", "body"] = "query"
    """How the delete reason is sent. Unconfirmed; query ``deleteReason`` is the guess."""
    reason_field: str = "deleteReason"
    """The delete reason's name; ``deleteReason`` is confirmed by the vendor's docs."""
    reason_required: bool = False
    """Whether the lab's 'Enter reason code when deleting order' setting is on: with
    ``reason_codes`` set, a cancel must then name one of them (checked before sending)."""
    reason_codes: dict[str, str] = Field(default_factory=dict)
    """The lab's delete reason codes, code → description, as set up at the lab (Setup →
    Order Delete Reasons). No API lists them and there are no defaults: without them the
    reason is sent as given and the lab decides."""

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        return check_secret(value, header=True)

    @field_validator("api_key_header")
    @classmethod
    def _check_header(cls, value: str) -> str:
        value = value.strip()
        if not _HEADER_NAME.match(value):
            raise ValueError("is not a valid HTTP header name (letters, digits and - only)")
        return value

    @field_validator("reason_field")
    @classmethod
    def _check_field(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is empty (the vendor's name is deleteReason)")
        return check_plain(value, what="the reason field", max_chars=60) or value

    @field_validator("reason_codes")
    @classmethod
    def _check_codes(cls, value: dict[str, str]) -> dict[str, str]:
        codes: dict[str, str] = {}
        for code, description in value.items():
            checked = validate_reason_code(code)
            if checked is None:
                raise ValueError("a reason code is blank")
            check_plain(description, what=f"the description of reason code {checked}")
            codes[checked] = description.strip() or checked
        return codes


_SOURCES_OFF: contextvars.ContextVar[bool] = contextvars.ContextVar("sources_off", default=False)
"""Set while :func:`load_settings` validates data it has read itself."""


class _EnvSource(PydanticBaseSettingsSource):
    """``STOPLINE_*`` variables, read by :func:`config_sources.read_env` (unknown names are
    left to :func:`load_settings` to report)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        return config_sources.read_env(self.settings_cls).data


class _TomlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        path = config_path()
        if not path.is_file():
            return {}
        source = config_sources.read_toml(self.settings_cls, path)
        if source.problems and not source.data:
            raise ValueError("; ".join(source.problems))
        return source.data


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

    @field_validator("journal_url")
    @classmethod
    def _check_journal_url(cls, value: SecretStr | None) -> SecretStr | None:
        value = check_secret(value, header=False)
        if value is None:
            return None
        from urllib.parse import urlsplit

        text = value.get_secret_value()
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"is not a URL that can be used ({exc})") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must start with postgresql:// (the floor's shared journal)")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("has no host name")
        del port
        return value

    @field_validator("operator")
    @classmethod
    def _check_operator(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return validate_operator(value)

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    @field_validator("keymap")
    @classmethod
    def _check_keymap(cls, value: dict[str, str]) -> dict[str, str]:
        for binding_id, keys in value.items():
            check_plain(binding_id, what="a binding id", max_chars=80)
            if not keys.strip():
                raise ValueError(f"{binding_id}: no key given")
            check_plain(keys, what=f"the keys of {binding_id}", max_chars=80)
        return value

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
        if _SOURCES_OFF.get():
            return (init_settings,)
        return (init_settings, _EnvSource(settings_cls), _TomlSource(settings_cls))

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
    """Load settings, raising :class:`ConfigError` with every problem at once.

    ``overrides`` (nested, like the sections) beat the environment, which beats the file.
    """
    report = read_settings(**overrides)
    if report.problems or report.settings is None:
        raise ConfigError(report.problems or ["configuration could not be loaded"])
    return report.settings


@dataclass
class SettingsReport:
    settings: Settings | None
    """The settings without the values that failed (None when nothing could be built)."""
    problems: list[str]
    origins: dict[tuple[str, ...], str]
    """Path of a value → where it came from (see :func:`config_sources.origin_of`)."""


def read_settings(**overrides: Any) -> SettingsReport:
    """The settings and every problem found: sources read apart so each problem names its
    variable or file key, and cross-field checks run even when a field failed."""
    problems: list[str] = []
    path = config_path()
    if os.environ.get("STOPLINE_CONFIG", "").strip() and not path.is_file():
        problems.append(f"STOPLINE_CONFIG points at {path}, which is not a file")
    perm = check_config_file_permissions(path)
    if perm:
        problems.append(perm)
    file = (
        config_sources.read_toml(Settings, path) if path.is_file() else config_sources.SourceData()
    )
    env = config_sources.read_env(Settings)
    problems.extend(file.problems)
    problems.extend(env.problems)
    data = config_sources.merge(config_sources.merge(file.data, env.data), overrides)
    origins = {**file.origins, **env.origins, **config_sources.given_origins(overrides)}
    settings, field_problems, failed = _validate_leniently(data, origins)
    problems.extend(field_problems)
    if settings is not None:
        problems.extend(completeness_problems(settings, failed=failed))
    return SettingsReport(settings, list(dict.fromkeys(problems)), origins)


def _validate(data: dict[str, Any]) -> Settings:
    token = _SOURCES_OFF.set(True)
    try:
        return Settings(**data)
    finally:
        _SOURCES_OFF.reset(token)


def _validate_leniently(
    data: dict[str, Any], origins: dict[tuple[str, ...], str]
) -> tuple[Settings | None, list[str], set[tuple[str, ...]]]:
    """Validate; on failure report each field, drop it and try again, so the cross-field
    checks still see everything else. Returns the settings without the failed fields, and
    the paths of those."""
    data = copy.deepcopy(data)
    problems: list[str] = []
    failed: set[tuple[str, ...]] = set()
    for _ in range(20):
        try:
            return _validate(data), problems, failed
        except ValidationError as exc:
            dropped = False
            for err in exc.errors(include_url=False, include_input=False):
                loc = tuple(err["loc"])
                problems.append(f"{config_sources.origin_of(loc, origins)}: {plain_error(err)}")
                failed.add(tuple(str(part) for part in loc[:2]))
                dropped = _drop(data, loc) or dropped
            if not dropped:
                break
    return None, problems, failed


def _drop(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (or its deepest existing part) so defaults take over."""
    node: Any = data
    parents: list[tuple[dict[str, Any], Any]] = []
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            break
        parents.append((node, part))
        node = node[part]
    if not parents:
        return False
    holder, key = parents[-1]
    del holder[key]
    return True


_PLAIN = {
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "is far too large",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be a table of key = value pairs",
    "model_type": "must be a section (a table of settings)",
    "model_attributes_type": "must be a section (a table of settings)",
    "path_type": "must be a path",
    "missing": "is required",
}


def plain_error(err: Any) -> str:
    """A pydantic error in plain words: no "Value error, …", no "Input should be …"."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind in _PLAIN:
        return _PLAIN[kind]
    bounds = {
        "greater_than": ("must be more than", "gt"),
        "greater_than_equal": ("must be at least", "ge"),
        "less_than": ("must be less than", "lt"),
        "less_than_equal": ("must be at most", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {ctx.get(key)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    message = str(err.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]


def completeness_problems(
    settings: Settings, *, failed: set[tuple[str, ...]] | frozenset[tuple[str, ...]] = frozenset()
) -> list[str]:
    """Enabled providers missing what they need to authenticate. ``failed``: paths whose
    value was given but refused — a section whose base URL failed still counts as meant to
    be enabled, and a refused value is not reported missing as well."""
    problems: list[str] = []
    needs = {
        "pattern": ("token_url", "client_id", "client_secret"),
        "ordermesh": ("client_id", "client_secret"),
        "shoplazza": ("access_token",),
    }
    for key, names in needs.items():
        section = settings.providers()[key]
        if not (section.enabled or (key, "base_url") in failed):
            continue
        for name in names:
            if not getattr(section, name) and (key, name) not in failed:
                problems.append(f"{key}.{name} is required when {key}.base_url is set")
    return problems
