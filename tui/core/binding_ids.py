"""Every console key binding by id, with where it is active and its default keys.

``config check`` reads the ``[keymap]`` against this without importing Textual. It is a copy
of what the screens declare; ``tests/console/test_binding_ids.py`` fails when the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BindingSpec:
    id: str
    scope: str
    """Where it is declared: ``app`` (everywhere), a screen, or a widget on one."""
    keys: str
    """Default keys, comma-separated, as Textual names them."""


BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("stopline.help", "app", "question_mark"),
    BindingSpec("stopline.help_f1", "app", "f1"),
    BindingSpec("stopline.quit", "app", "q"),
    BindingSpec("stopline.quit_anywhere", "app", "ctrl+q"),
    BindingSpec("stopline.palette", "app", "ctrl+p"),
    BindingSpec("stopline.palette_colon", "app", "colon"),
    BindingSpec("stopline.field.leave", "field", "escape"),
    BindingSpec("stopline.area.leave", "area", "escape"),
    BindingSpec("stopline.modal.help", "modal", "question_mark"),
    BindingSpec("stopline.modal.help_f1", "modal", "f1"),
    BindingSpec("stopline.down", "lookup.results", "j"),
    BindingSpec("stopline.up", "lookup.results", "k"),
    BindingSpec("stopline.search", "lookup", "slash"),
    BindingSpec("stopline.cancel", "lookup", "c"),
    BindingSpec("stopline.retry", "lookup", "r"),
    BindingSpec("stopline.history", "lookup", "h"),
    BindingSpec("stopline.batch", "lookup", "b"),
    BindingSpec("stopline.history.detail", "history.table", "enter"),
    BindingSpec("stopline.history.back", "history", "escape"),
    BindingSpec("stopline.history.filter", "history", "slash"),
    BindingSpec("stopline.history.recheck", "history", "r"),
    BindingSpec("stopline.history.down", "history", "j"),
    BindingSpec("stopline.history.up", "history", "k"),
    BindingSpec("stopline.history.detail.close", "history.detail", "escape,enter,q"),
    BindingSpec("stopline.confirm.yes", "confirm", "y"),
    BindingSpec("stopline.confirm.no", "confirm", "n"),
    BindingSpec("stopline.confirm.back", "confirm", "escape"),
    BindingSpec("stopline.dialog.send", "dialog", "y"),
    BindingSpec("stopline.dialog.submit", "dialog", "enter"),
    BindingSpec("stopline.dialog.back", "dialog", "escape"),
    BindingSpec("stopline.dialog.next_reason", "dialog", "down"),
    BindingSpec("stopline.dialog.prev_reason", "dialog", "up"),
    *(BindingSpec(f"stopline.reason.{n}", "reason", str(n)) for n in range(1, 10)),
    BindingSpec("stopline.items.up", "dialog.items", "up,k"),
    BindingSpec("stopline.items.down", "dialog.items", "down,j"),
    BindingSpec("stopline.items.toggle", "dialog.items", "space"),
    BindingSpec("stopline.items.more", "dialog.items", "plus,equals_sign"),
    BindingSpec("stopline.items.less", "dialog.items", "minus"),
    BindingSpec("stopline.items.all", "dialog.items", "a"),
    BindingSpec("stopline.items.none", "dialog.items", "n"),
    BindingSpec("stopline.batch.back", "batch", "escape"),
    BindingSpec("stopline.batch.preview", "batch", "ctrl+r"),
    BindingSpec("stopline.batch.edit", "batch", "enter"),
    BindingSpec("stopline.batch.next_reason", "batch", "down"),
    BindingSpec("stopline.batch.prev_reason", "batch", "up"),
    BindingSpec("stopline.batch.run", "batch", "r"),
    BindingSpec("stopline.batch.stop", "batch", "s"),
    BindingSpec("stopline.batch.export", "batch", "e"),
    BindingSpec("stopline.batch.export.back", "batch.export", "escape"),
    BindingSpec("stopline.help.close", "help", "escape,question_mark,q,f1"),
)

BY_ID: dict[str, BindingSpec] = {spec.id: spec for spec in BINDINGS}

CONTEXTS: tuple[tuple[str, ...], ...] = (
    ("app", "lookup", "lookup.results", "field"),
    ("app", "history", "history.table", "field"),
    ("app", "history.detail", "modal"),
    ("app", "confirm", "modal"),
    ("app", "dialog", "dialog.items", "reason", "field", "modal"),
    ("app", "batch", "reason", "field", "area"),
    ("app", "batch.export", "modal"),
    ("app", "help"),
)
"""Scopes whose bindings are live at the same time (a screen, its focused widget, the app)."""

_CHARACTER_NAMES = {
    "?": "question_mark",
    "/": "slash",
    ":": "colon",
    "+": "plus",
    "-": "minus",
    "=": "equals_sign",
    " ": "space",
    ",": "comma",
}


def split_keys(keys: str) -> list[str]:
    """``"x, ctrl+x"`` → ``["x", "ctrl+x"]``, single characters by their Textual names."""
    out: list[str] = []
    for key in keys.split(","):
        key = key.strip()
        if key:
            out.append(_CHARACTER_NAMES.get(key, key))
    return out


def keymap_problems(keymap: dict[str, str], where: dict[str, str] | None = None) -> list[str]:
    """Unknown binding ids (with a "did you mean") and keys that two live bindings would
    share once remapped. ``where``: binding id → the source to name in a problem."""
    import difflib

    where = where or {}
    problems: list[str] = []
    for binding_id in keymap:
        if binding_id not in BY_ID:
            near = difflib.get_close_matches(binding_id, list(BY_ID), n=1, cutoff=0.7)
            hint = (
                f"; did you mean {near[0]}?"
                if near
                else "; press ? in the console to see every binding's id"
            )
            problems.append(
                f"{where.get(binding_id, f'keymap.{binding_id}')}: "
                f"no key binding has the id {binding_id}{hint}"
            )
    keys_of = {
        spec.id: split_keys(keymap[spec.id]) if spec.id in keymap else split_keys(spec.keys)
        for spec in BINDINGS
    }
    reported: set[tuple[str, str, str]] = set()
    for context in CONTEXTS:
        live = [spec for spec in BINDINGS if spec.scope in context]
        for i, first in enumerate(live):
            for second in live[i + 1 :]:
                if first.id not in keymap and second.id not in keymap:
                    continue  # the defaults' own overlaps are deliberate (help's ? closes it)
                for key in set(keys_of[first.id]) & set(keys_of[second.id]):
                    pair = (key, *sorted((first.id, second.id)))
                    if pair in reported:
                        continue
                    reported.add(pair)
                    remapped = first.id if first.id in keymap else second.id
                    other = second.id if remapped == first.id else first.id
                    problems.append(
                        f"{where.get(remapped, f'keymap.{remapped}')}: {remapped} and {other} "
                        f"would share the key {key} on one screen"
                    )
    return problems
