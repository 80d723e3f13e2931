"""The batch screen's form: pasted or loaded rows, provider, reason presets."""


from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.widgets import (
    Input,
    Select,
    TextArea,
)

from tui import messages as msg
from tui.core.batch import (
    MAX_FILE_BYTES,
)
from tui.core.identifiers import InvalidInput
from tui.core.providers import registry
from tui.core.text import clean
from tui.host import CancelContext
from tui.widgets.text import t

if TYPE_CHECKING:
    pass
from tui.screens.batch.base import EDITABLE_LINES, BatchScreenBase


class BatchForm(BatchScreenBase):
    def _provider_options(self) -> list[tuple[str, str]]:
        service = self.stopline.service
        keys = [
            k for k in registry.provider_keys() if service is not None and k in service.providers
        ]
        return [(registry.label(k), k) for k in keys]

    def _presets(self, provider: str | None) -> list[tuple[str, str | None]]:
        service = self.stopline.service
        if provider is None or service is None or provider not in service.providers:
            return CancelContext(label="", environment="other").presets()
        adapter = service.providers[provider]
        context = CancelContext(label=adapter.label, environment="other", reasons=adapter.reasons)
        return context.presets()

    # -- form --------------------------------------------------------------------------------

    @on(Select.Changed, "#provider")
    def _provider_changed(self) -> None:
        self.reason_field.set_presets(self._presets(self.provider))

    @on(TextArea.Changed, "#source")
    def _source_changed(self) -> None:
        if self.file_source is not None and self.source.text != self._file_note:
            self.file_source = None
            self._problem("")

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if not raw:
            self._problem("Type a file path first.")
            return
        self._problem(Text("Reading the file…", style="dim"))
        self.read_file(Path(raw).expanduser())

    @work(thread=True, exclusive=True, group="batch-file", exit_on_error=False)
    def read_file(self, path: Path) -> None:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InvalidInput(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            self.post_message(msg.BatchFileRead(path, None, "not UTF-8 text"))
        except IsADirectoryError:
            self.post_message(msg.BatchFileRead(path, None, "is a folder, not a file"))
        except OSError as exc:
            self.post_message(msg.BatchFileRead(path, None, exc.strerror or str(exc)))
        except InvalidInput as exc:
            self.post_message(msg.BatchFileRead(path, None, str(exc)))
        else:
            self.post_message(msg.BatchFileRead(path, text))

    @on(msg.BatchFileRead)
    def _file_read(self, message: msg.BatchFileRead) -> None:
        if message.text is None:
            self._problem(
                Text.assemble("cannot read ", t(message.path), ": ", t(message.error or ""))
            )
            return
        lines = len(message.text.splitlines())
        if lines > EDITABLE_LINES:
            self._file_note = (
                f"# {clean(message.path)}: {lines:,} lines, used as they are in the file\n"
                "# (too many to edit here; type here to use pasted text instead)\n"
            )
            self.file_source = (message.path, message.text)
            self.source.load_text(self._file_note)
        else:
            self.file_source = None
            self.source.load_text(message.text)
        self._problem(Text.assemble("read ", t(message.path), f": {lines:,} lines", style="dim"))
        self.source.focus()

    def source_text(self) -> str:
        return self.file_source[1] if self.file_source is not None else self.source.text

    def action_preset(self, step: int) -> None:
        self.reason_field.step(step)

