"""The raw settings of each source — ``STOPLINE_*`` variables and the TOML file — as nested
data, every name checked against the settings' fields, and where each value came from.

Strict on purpose: a misspelt section (``[shoplaza]``) or key (``operatr``) is a problem with a
"did you mean", never silently ignored, because an ignored provider section means acting
somewhere else than the operator believes. Each value keeps its origin (the variable's name,
or the file and key) so a problem names the place to fix it.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

ENV_PREFIX = "STOPLINE_"
NESTED = "__"
NOT_SETTINGS = frozenset({"STOPLINE_CONFIG", "STOPLINE_STATE_DIR"})
"""``STOPLINE_*`` variables that are not settings: the config file's own path, and the folder
of what the console remembers (:mod:`tui.core.console_state`), both read before settings."""
NOT_SETTINGS_PREFIXES = ("STOPLINE_SANDBOX_",)
"""The simulator's own variables (``tui.sandbox.config``)."""

Kind = Literal["section", "table", "value"]
Path_ = tuple[str, ...]


def field_kind(info: FieldInfo) -> Kind:
    """``section`` (a nested settings model), ``table`` (free keys, e.g. the keymap) or a
    plain ``value``."""
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if annotation is dict or get_origin(annotation) is dict:
        return "table"
    return "value"


def section_model(info: FieldInfo) -> type[BaseModel]:
    annotation = info.annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation


@dataclass
class SourceData:
    """One source's values, their origins, and the problems found reading it."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path_, str] = field(default_factory=dict)
    """Path of a value → where it came from, as shown in a problem."""
    problems: list[str] = field(default_factory=list)


def suggest(name: str, candidates: list[str]) -> str:
    """`` (did you mean X?)`` for the closest candidate, or nothing."""
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.7)
    return f"; did you mean {match[0]}?" if match else ""


def dotted(path: Path_ | tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


# -- the environment ---------------------------------------------------------------------------


def env_names(model: type[BaseModel]) -> list[str]:
    """Every ``STOPLINE_*`` name a setting can be given by."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(f"{ENV_PREFIX}{name.upper()}")
        if field_kind(info) == "section":
            names.extend(
                f"{ENV_PREFIX}{name.upper()}{NESTED}{sub.upper()}"
                for sub in section_model(info).model_fields
            )
    return names


def is_setting_name(name: str) -> bool:
    upper = name.upper()
    return (
        upper.startswith(ENV_PREFIX)
        and upper not in NOT_SETTINGS
        and not upper.startswith(NOT_SETTINGS_PREFIXES)
    )


def _json_object(name: str, path: Path_, value: str, source: SourceData) -> dict[str, Any] | None:
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        decoded = None
    if not isinstance(decoded, dict):
        source.problems.append(
            f'{name} ({dotted(path)}): must be a JSON object, e.g. {{"key": "value"}}, or set '
            f"its keys one by one as {name}{NESTED}KEY"
        )
        return None
    return decoded


def _put(data: dict[str, Any], path: Path_, value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    existing = node.get(path[-1])
    if isinstance(existing, dict) and isinstance(value, dict):
        node[path[-1]] = merge(existing, value)
    else:
        node[path[-1]] = value


def read_env(model: type[BaseModel], environ: Mapping[str, str] | None = None) -> SourceData:
    """``STOPLINE_SECTION__FIELD`` (and ``STOPLINE_FIELD``) variables as nested data.

    Names are case-insensitive, except the keys of a table (``…__REASON_CODES__DUP`` keeps
    ``DUP``). A table or a whole section may also be given as one JSON object.
    """
    environ = os.environ if environ is None else environ
    source = SourceData()
    known = env_names(model)
    fields = model.model_fields
    for name in sorted(environ):
        if not is_setting_name(name):
            continue
        value = environ[name]
        raw_parts = name[len(ENV_PREFIX) :].split(NESTED)
        parts = [p.lower() for p in raw_parts]
        path: Path_ | None = None
        decoded: Any = value
        top = fields.get(parts[0])
        if top is not None:
            kind = field_kind(top)
            if len(parts) == 1:
                path = (parts[0],)
                if kind != "value":
                    decoded = _json_object(name, path, value, source)
                    if decoded is None:
                        continue
                    if kind == "section":
                        check_section_keys(section_model(top), decoded, parts[0], name, source)
            elif kind == "table" and len(parts) == 2 and raw_parts[1]:
                path = (parts[0], raw_parts[1])
            elif kind == "section":
                sub = section_model(top).model_fields.get(parts[1])
                if sub is not None:
                    sub_kind = field_kind(sub)
                    if len(parts) == 2:
                        path = (parts[0], parts[1])
                        if sub_kind == "table":
                            decoded = _json_object(name, path, value, source)
                            if decoded is None:
                                continue
                    elif sub_kind == "table" and len(parts) == 3 and raw_parts[2]:
                        path = (parts[0], parts[1], raw_parts[2])
        if path is None:
            source.problems.append(f"{name}: not a Stopline setting{suggest(name.upper(), known)}")
            continue
        _put(source.data, path, decoded)
        source.origins[path] = f"{name} ({dotted(path)})"
    return source


# -- the TOML file -----------------------------------------------------------------------------


def check_section_keys(
    model: type[BaseModel], table: Mapping[str, Any], section: str, where: str, source: SourceData
) -> None:
    known = list(model.model_fields)
    for key in table:
        if key not in model.model_fields:
            source.problems.append(
                f"{where}: [{section}] {key}: not a setting of [{section}]"
                f"{suggest(str(key), known)}"
            )


def read_toml(model: type[BaseModel], path: Path) -> SourceData:
    """The file's tables and keys as nested data; unknown sections and keys are problems."""
    source = SourceData()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        source.problems.append(f"{path}: not valid TOML: {exc}")
        return source
    except UnicodeDecodeError:
        source.problems.append(f"{path}: not UTF-8 text")
        return source
    except OSError as exc:
        source.problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
        return source
    fields = model.model_fields
    top_names = list(fields)
    section_names = [n for n, i in fields.items() if field_kind(i) == "section"]
    section_keys = {key for n in section_names for key in section_model(fields[n]).model_fields}
    for key, value in data.items():
        info = fields.get(key)
        if info is None:
            if isinstance(value, dict):
                hint = suggest(key, section_names)
                hint = hint.replace("mean ", "mean [").replace("?", "]?") if hint else ""
                source.problems.append(f"{path}: [{key}]: not a Stopline section{hint}")
            else:
                hint = suggest(key, top_names)
                if not hint and key in section_keys:
                    hint = "; it belongs in a provider's section, e.g. [pattern]"
                source.problems.append(f"{path}: {key}: not a Stopline setting{hint}")
            continue
        source.data[key] = value
        source.origins[(key,)] = f"{path}: {key}"
        if isinstance(value, dict):
            kind = field_kind(info)
            if kind == "section":
                check_section_keys(section_model(info), value, key, str(path), source)
            for sub in value:
                source.origins[(key, str(sub))] = f"{path}: {key}.{sub}"
            if kind == "section":
                for sub, sub_value in value.items():
                    if isinstance(sub_value, dict):
                        for entry in sub_value:
                            source.origins[(key, str(sub), str(entry))] = (
                                f"{path}: {key}.{sub}.{entry}"
                            )
    return source


# -- merging and attributing -------------------------------------------------------------------


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, tables merged key by key (as pydantic-settings does)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def origin_of(loc: tuple[Any, ...], origins: Mapping[Path_, str]) -> str:
    """Where the value at ``loc`` came from: the nearest recorded path, else the dotted name."""
    path = tuple(str(part) for part in loc)
    for end in range(len(path), 0, -1):
        label = origins.get(path[:end])
        if label is not None:
            return label
    return dotted(path) or "settings"


def given_origins(data: Mapping[str, Any], prefix: Path_ = ()) -> dict[Path_, str]:
    """Origins of values passed in code (the demo's overrides, tests): their dotted names."""
    out: dict[Path_, str] = {}
    for key, value in data.items():
        path = (*prefix, str(key))
        out[path] = dotted(path)
        if isinstance(value, Mapping):
            out.update(given_origins(value, path))
    return out
