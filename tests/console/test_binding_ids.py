"""The Textual-free copies that ``config check`` reads stay true to the console: every binding
id with its scope and keys (tui.core.binding_ids), and Textual's built-in theme names."""

from __future__ import annotations

from textual.binding import Binding
from textual.theme import BUILTIN_THEMES

from tui.app import StoplineApp
from tui.core.binding_ids import BINDINGS, CONTEXTS
from tui.core.theme_names import TEXTUAL_THEMES, available_theme_names
from tui.screens.batch import BatchScreen, ExportScreen
from tui.screens.cancel_dialog import CancelDialog
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.history import AttemptDetailScreen, HistoryScreen, HistoryTable
from tui.screens.lookup import LookupScreen, ResultsTable
from tui.screens.modal import HelpfulModal
from tui.themes import load_themes
from tui.widgets.area_field import TextAreaField
from tui.widgets.fields import TextField
from tui.widgets.items import ItemPicker
from tui.widgets.reason import ReasonField

SCOPES = {
    "app": StoplineApp,
    "field": TextField,
    "area": TextAreaField,
    "modal": HelpfulModal,
    "reason": ReasonField,
    "lookup": LookupScreen,
    "lookup.results": ResultsTable,
    "history": HistoryScreen,
    "history.table": HistoryTable,
    "history.detail": AttemptDetailScreen,
    "confirm": ConfirmScreen,
    "dialog": CancelDialog,
    "dialog.items": ItemPicker,
    "batch": BatchScreen,
    "batch.export": ExportScreen,
    "help": HelpScreen,
}


def declared() -> set[tuple[str, str, str]]:
    found = set()
    for scope, cls in SCOPES.items():
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding), f"{cls.__name__}: a binding without an id"
            if binding.id:
                found.add((binding.id, scope, binding.key))
    return found


def test_the_catalogue_is_every_binding_the_console_declares() -> None:
    catalogue = {(spec.id, spec.scope, spec.keys) for spec in BINDINGS}
    assert catalogue == declared()
    assert len({spec.id for spec in BINDINGS}) == len(BINDINGS)


def test_every_scope_is_live_somewhere() -> None:
    scopes = {scope for context in CONTEXTS for scope in context}
    assert scopes == set(SCOPES)


def test_textual_theme_names_are_the_installed_ones() -> None:
    assert set(BUILTIN_THEMES) == TEXTUAL_THEMES


def test_theme_names_without_textual_match_the_loaded_themes() -> None:
    loaded = {theme.name for theme in load_themes().themes}
    assert loaded <= available_theme_names()
    assert available_theme_names() == loaded | TEXTUAL_THEMES
