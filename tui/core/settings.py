"""Stopline's settings: environment (``STOPLINE_*``, nested with ``__``) over a TOML file.

Precedence, highest first: explicit arguments, environment variables, the TOML file
(``STOPLINE_CONFIG`` or ``<user config dir>/stopline/config.toml``), defaults. Over SSH an
environment variable is how a supervisor overrides a shared file, so env wins.

A provider is enabled when its ``base_url`` is set.

:func:`load_settings` is strict: unknown names, values the libraries underneath would reject
(a URL httpx cannot parse, a rate the limiter cannot pace, a token that cannot be a header)
and missing credentials are all reported at once, in plain words, each naming its source.

One idea, kept whole: loading the configuration strictly, every problem at once.
"""

from __future__ import annotations

import contextvars
import copy
import getpass
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, SecretStr, ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tui.core import config_sources
from tui.core.identifiers import validate_operator
from tui.core.provider_settings import (
    ProviderSettings,
    check_plain,
    check_secret,
)
from tui.core.providers import registry

APP_NAME = "stopline"


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def config_path() -> Path:
    override = os.environ.get("STOPLINE_CONFIG", "").strip()
    return Path(override).expanduser() if override else default_config_path()


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


class SettingsBase(BaseSettings):
    """Everything but the providers' sections; :func:`settings_class` adds one section per
    registered provider (``settings.pattern``, ``settings.shoplazza``…)."""

    model_config = SettingsConfigDict(
        env_prefix="STOPLINE_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

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
    floor_poll_s: float = Field(default=0.5, gt=0, le=60)
    """How often the console looks for others' attempts where the journal cannot tell it
    (SQLite; PostgreSQL notifies at once and polls this often only as a fallback)."""

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
        """Every registered provider's section, in display order."""
        return {
            spec.key: section
            for spec in registry.specs()
            if isinstance(section := getattr(self, spec.key, None), ProviderSettings)
        }

    def section(self, key: str) -> ProviderSettings:
        """One registered provider's section — ``providers()[key]`` without building the
        whole mapping (every row of a batch asks). :class:`KeyError` if there is none."""
        registry.get(key)  # KeyError for a provider that is not registered
        section = getattr(self, key, None)
        if not isinstance(section, ProviderSettings):
            raise KeyError(key)
        return section

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
        return bool(provider and self.section(provider).read_only)


_classes: dict[int, type[SettingsBase]] = {}


def settings_class() -> type[SettingsBase]:
    """The settings model of the providers registered now: :class:`SettingsBase` with one
    section per provider, each its registered settings class."""
    version = registry.version()
    built = _classes.get(version)
    if built is None:
        sections: dict[str, Any] = {
            spec.key: (spec.settings, Field(default_factory=spec.settings))
            for spec in registry.specs()
        }
        built = create_model("Settings", __base__=SettingsBase, **sections)
        built.__doc__ = SettingsBase.__doc__
        _classes[version] = built
    return built


Settings = settings_class()
"""The settings of the built-in providers (for annotations and direct construction; what
:func:`load_settings` builds follows the registry as it is when called)."""


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every one found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _secret_keys() -> set[str]:
    return {name for spec in registry.specs() for name in spec.secrets} | {"journal_url"}


def _file_holds_secret(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(key in text for key in _secret_keys())


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
    model = settings_class()
    file = (
        config_sources.read_toml(model, path) if path.is_file() else config_sources.SourceData()
    )
    env = config_sources.read_env(model)
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
        return settings_class()(**data)
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
    sections = settings.providers()
    for spec in registry.specs():
        key, names = spec.key, spec.required
        section = sections.get(key)
        if section is None:
            continue
        if not (section.enabled or (key, "base_url") in failed):
            continue
        for name in names:
            if not getattr(section, name) and (key, name) not in failed:
                problems.append(f"{key}.{name} is required when {key}.base_url is set")
    return problems
