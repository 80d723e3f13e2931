"""Theme names without Textual: which themes exist, read from the theme files' ``name`` keys
(bundled ``themes/`` and the user's folder) and Textual's built-in names.

``config check`` uses this to catch a misspelt ``theme`` without importing Textual; the
console itself loads the themes with :mod:`tui.themes`.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from pathlib import Path

BUNDLED_PACKAGE = "tui.bundled_themes"
"""The top-level ``themes/`` folder as installed (pyproject.toml maps it into the package)."""
SOURCE_DIR = Path(__file__).resolve().parents[2] / "themes"

TEXTUAL_THEMES: frozenset[str] = frozenset(
    {
        "ansi-dark",
        "ansi-light",
        "atom-one-dark",
        "atom-one-light",
        "catppuccin-frappe",
        "catppuccin-latte",
        "catppuccin-macchiato",
        "catppuccin-mocha",
        "dracula",
        "flexoki",
        "gruvbox",
        "monokai",
        "nord",
        "rose-pine",
        "rose-pine-dawn",
        "rose-pine-moon",
        "solarized-dark",
        "solarized-light",
        "textual-dark",
        "textual-light",
        "tokyo-night",
    }
)
"""Textual's built-in themes (``textual.theme.BUILTIN_THEMES``); a test keeps this in step."""


def bundled_theme_dir(package: str = BUNDLED_PACKAGE, fallback: Path = SOURCE_DIR) -> Path:
    """Where the bundled themes are: inside the installed package (a wheel, or an editable
    install, which maps it to ``themes/``), else ``themes/`` of a source tree run as is."""
    try:
        spec = importlib.util.find_spec(package)
    except ImportError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return fallback


def user_theme_dir() -> Path:
    """``<user config dir>/stopline/themes`` (next to ``config.toml``)."""
    override = os.environ.get("STOPLINE_CONFIG", "").strip()
    if override:
        return Path(override).expanduser().parent / "themes"
    import platformdirs

    return platformdirs.user_config_path("stopline", appauthor=False) / "themes"


def names_in(folder: Path) -> set[str]:
    """The names of the theme files in ``folder`` (a broken file names nothing)."""
    names: set[str] = set()
    if not folder.is_dir():
        return names
    for path in folder.glob("*.toml"):
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except (OSError, ValueError):
            continue
        name = data.get("name", path.stem)
        if isinstance(name, str) and name.strip() and "primary" in data:
            names.add(name)
    return names


def available_theme_names(user_dir: Path | None = None) -> set[str]:
    """Every theme name the console would accept."""
    return (
        set(TEXTUAL_THEMES)
        | names_in(bundled_theme_dir())
        | names_in(user_dir if user_dir is not None else user_theme_dir())
    )
