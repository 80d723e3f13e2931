"""``b``: the batch screen — its state (``base``), one module per phase (``form``, ``preview``,
``run``, ``export``), the screen that mixes them (``screen``), its words (``texts``), its
widget-free model (``model``) and the export dialog (``export_dialog``)."""

from __future__ import annotations

from tui.screens.batch.export_dialog import ExportScreen
from tui.screens.batch.screen import BatchScreen

__all__ = ["BatchScreen", "ExportScreen"]
