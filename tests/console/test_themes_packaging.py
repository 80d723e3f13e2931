"""The bundled themes live in the top-level ``themes/`` folder and are installed as the
data-only package ``tui.bundled_themes``: found from a wheel, an editable install, or a
source tree run as is; and the explicit package list in pyproject.toml stays complete."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import tui.themes
from tui.themes import bundled_theme_dir, load_themes

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = {"stopline-dark", "stopline-light", "stopline-high-contrast", "stopline-ansi"}


def setuptools_config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["tool"]["setuptools"]


def test_every_package_is_listed_and_the_themes_are_mapped() -> None:
    config = setuptools_config()
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "tui").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert set(config["packages"]) == found | {"tui.bundled_themes"}  # type: ignore[arg-type]
    assert config["package-dir"] == {"tui.bundled_themes": "themes"}
    assert config["package-data"] == {"tui.bundled_themes": ["*.toml"]}
    assert {path.stem for path in (ROOT / "themes").glob("*.toml")} >= BUNDLED


def test_bundled_themes_load_from_where_the_package_says() -> None:
    folder = bundled_theme_dir()
    assert {path.stem for path in folder.glob("*.toml")} >= BUNDLED
    loaded = load_themes(user_dir=ROOT / "no-such-folder")
    assert loaded.problems == []
    assert {theme.name for theme in loaded.themes} >= BUNDLED


def test_installed_package_wins_over_the_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As from a wheel: ``site-packages/tui/bundled_themes/*.toml``."""
    installed = tmp_path / "site-packages" / "tui" / "bundled_themes"
    installed.mkdir(parents=True)
    (installed / "only-here.toml").write_text('name = "only-here"\nprimary = "#123456"\n')
    # A wheel has no source tree; the package's own folder is all there is.
    monkeypatch.setattr(tui, "__path__", [str(installed.parent)])
    monkeypatch.setattr(tui.themes, "SOURCE_DIR", tmp_path / "nowhere")
    assert bundled_theme_dir() == installed
    assert [theme.name for theme in load_themes(user_dir=tmp_path).themes] == ["only-here"]


def test_source_tree_without_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tui.themes, "BUNDLED_PACKAGE", "tui.no_such_package")
    assert bundled_theme_dir() == ROOT / "themes"
