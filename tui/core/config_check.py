"""``stopline config check``: every problem of the configuration at once.

What :func:`tui.core.settings.read_settings` finds (unknown names, refused values, missing
credentials), plus what only the console uses: the theme name and the keymap (unknown
binding ids, keys two bindings would share). Textual is not imported: theme names come from
the theme files and binding ids from :mod:`tui.core.binding_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.binding_ids import keymap_problems
from tui.core.config_sources import origin_of, suggest
from tui.core.settings import Settings, read_settings
from tui.core.theme_names import available_theme_names


@dataclass
class ConfigCheck:
    settings: Settings | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and self.settings is not None


def check_config() -> ConfigCheck:
    report = read_settings()
    problems = list(report.problems)
    settings = report.settings
    if settings is not None:
        names = available_theme_names()
        if settings.theme not in names:
            hint = suggest(settings.theme, sorted(names)) or (
                f"; known themes: {', '.join(sorted(n for n in names if 'stopline' in n))}, "
                "ansi-dark, ansi-light and Textual's own"
            )
            problems.append(
                f"{origin_of(('theme',), report.origins)}: no theme is named "
                f"{settings.theme!r}{hint}"
            )
        where = {
            binding_id: origin_of(("keymap", binding_id), report.origins)
            for binding_id in settings.keymap
        }
        problems.extend(keymap_problems(settings.keymap, where))
    if settings is None and not problems:
        problems.append("configuration could not be loaded")
    return ConfigCheck(settings, list(dict.fromkeys(problems)))
