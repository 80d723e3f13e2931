"""The batch screen's export: its results as CSV, written in a thread."""


from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work

from tui import messages as msg
from tui.core.text import clean
from tui.core.vocabulary import plural
from tui.screens.batch.export_dialog import ExportScreen, export_rows, write_export

if TYPE_CHECKING:
    pass
from tui.screens.batch.base import BatchScreenBase


class BatchExporting(BatchScreenBase):
    # -- export ------------------------------------------------------------------------------

    def default_export_path(self) -> Path:
        service = self.stopline.service
        assert service is not None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return service.settings.resolved_data_dir() / "exports" / f"batch-{stamp}.csv"

    def action_export(self) -> None:
        if self.batch_run is None:
            return
        default = self.default_export_path()
        self.app.push_screen(ExportScreen(default), callback=self._export_to(default))

    def _export_to(self, default: Path):  # type: ignore[no-untyped-def]
        def chosen(path: Path | None) -> None:
            if path is not None and self.batch_run is not None:
                rows = export_rows(self.batch_run.summary, self.batch_run.preview.plan)
                self.export(path, rows, make_parent=path.parent == default.parent)

        return chosen

    @work(thread=True, group="batch-export", exit_on_error=False)
    def export(self, path: Path, rows: list[list[str]], *, make_parent: bool) -> None:
        try:
            write_export(path, rows, make_parent=make_parent)
        except FileExistsError:
            self.post_message(msg.ExportWritten(path, 0, "a file of that name exists already"))
        except OSError as exc:
            self.post_message(msg.ExportWritten(path, 0, exc.strerror or str(exc)))
        else:
            self.post_message(msg.ExportWritten(path, len(rows)))

    @on(msg.ExportWritten)
    def _exported(self, message: msg.ExportWritten) -> None:
        if message.error is not None:
            self.notify(
                f"{clean(message.path)}: {clean(message.error)}",
                title="export failed",
                severity="error",
                markup=False,
            )
        else:
            self.notify(
                f"{plural(message.rows, 'row')} → {clean(message.path)}",
                title="results exported",
                markup=False,
            )

