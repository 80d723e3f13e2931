"""Theme files: the bundled ``themes/*.toml`` and a user folder ``<config dir>/themes/``.

A theme file holds the fields of :class:`textual.theme.Theme` (``name``, ``primary``, …,
``dark``, ``ansi``) and an optional ``[variables]`` table. A user file with the name of a
bundled theme replaces it. A broken file is reported and skipped, never fatal.

Outcome colours in Rich ``Text`` come from :func:`tones`, derived from the active theme, so
the 16-colour theme stays within the 16 colours and the light theme stays readable.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.theme import Theme

from tui.core import theme_names

DEFAULT_THEME = "stopline-dark"
BUNDLED_PACKAGE = theme_names.BUNDLED_PACKAGE
SOURCE_DIR = theme_names.SOURCE_DIR
_THEME_FIELDS = {
    "name",
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "dark",
    "luminosity_spread",
    "text_alpha",
    "variables",
    "ansi",
}


def bundled_theme_dir() -> Path:
    """Where the bundled themes are (see :func:`tui.core.theme_names.bundled_theme_dir`)."""
    return theme_names.bundled_theme_dir(BUNDLED_PACKAGE, SOURCE_DIR)


user_theme_dir = theme_names.user_theme_dir


@dataclass
class LoadedThemes:
    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def theme_from_mapping(data: dict[str, Any], fallback_name: str) -> Theme:
    unknown = set(data) - _THEME_FIELDS
    if unknown:
        word = "field" if len(unknown) == 1 else "fields"
        raise ValueError(f"unknown {word}: {', '.join(sorted(unknown))}")
    values = dict(data)
    values.setdefault("name", fallback_name)
    if "primary" not in values:
        raise ValueError("'primary' is required")
    variables = values.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table")
    values["variables"] = {str(k): str(v) for k, v in variables.items()}
    return Theme(**values)


def load_theme_dir(folder: Path) -> LoadedThemes:
    loaded = LoadedThemes()
    if not folder.is_dir():
        return loaded
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
            loaded.themes.append(theme_from_mapping(data, path.stem))
        except (OSError, ValueError, TypeError) as exc:
            loaded.problems.append(f"theme {path.name}: {exc}")
    return loaded


def load_themes(user_dir: Path | None = None) -> LoadedThemes:
    """Bundled themes, then the user's (a user theme with the same name wins)."""
    bundled = load_theme_dir(bundled_theme_dir())
    user = load_theme_dir(user_dir if user_dir is not None else user_theme_dir())
    by_name = {theme.name: theme for theme in [*bundled.themes, *user.themes]}
    return LoadedThemes(list(by_name.values()), [*bundled.problems, *user.problems])


def _rich_colour(value: str | None, fallback: str) -> str:
    if not value:
        return fallback
    if value.startswith("ansi_"):
        name = value.removeprefix("ansi_")
        return fallback if name == "default" else name
    return value.split()[0]


def tones(theme: Theme | None) -> dict[str, str]:
    """Rich style strings for meanings (``good``, ``warn``, ``bad``, ``info``, ``muted``)."""
    if theme is None:
        return {
            "good": "green",
            "warn": "yellow",
            "bad": "red",
            "info": "blue",
            "muted": "dim",
            "strong": "bold",
        }
    return {
        "good": _rich_colour(theme.success, "green"),
        "warn": _rich_colour(theme.warning, "yellow"),
        "bad": _rich_colour(theme.error, "red"),
        "info": _rich_colour(theme.primary, "blue"),
        "muted": "dim",
        "strong": "bold",
    }
