"""Human and JSON output of the command line. Provider text is rendered as plain ``Text``,
never as markup, after :func:`tui.core.text.clean`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui.core.domain import CancelOutcome, LookupResult, LookupState, Outcome
from tui.core.lifecycle import NotSent, Why
from tui.core.providers import registry
from tui.core.text import clean
from tui.core.vocabulary import Tone

TONE_STYLE: dict[Tone, str] = {
    Tone.GOOD: "green",
    Tone.WARN: "yellow",
    Tone.BAD: "bold red",
    Tone.INFO: "cyan",
    Tone.MUTED: "dim",
}
"""How each tone of the vocabulary is styled on a terminal (``--json`` has no style)."""




PIPE_WIDTH = 100_000
"""Output that is not going to a terminal is never cut or folded to fit one."""


def console(file: TextIO | None = None) -> Console:
    """Rich output to ``file``: fitted to the terminal, or, into a pipe or a file, as wide as
    every value is (``stopline history | grep complete`` sees every row whole) — unless
    ``COLUMNS`` says otherwise."""
    file = file or sys.stdout
    width = None
    if not (hasattr(file, "isatty") and file.isatty()) and not os.environ.get("COLUMNS"):
        width = PIPE_WIDTH
    # soft_wrap: lines of plain text (paths, export lines) are never broken for copy-paste.
    return Console(
        file=file, highlight=False, markup=False, emoji=False, soft_wrap=True, width=width
    )


@contextmanager
def waiting(words: str) -> Iterator[Any]:
    """A spinner with ``words`` on stderr while the block runs — on a terminal only; the
    status it yields takes ``update(words)``. Never on stdout, never into a pipe."""
    if not sys.stderr.isatty():
        yield _Silent()
        return
    err = Console(stderr=True, highlight=False, markup=False, emoji=False)
    with err.status(words, spinner="dots") as status:
        yield status


class _Silent:
    def update(self, *_args: Any, **_kwargs: Any) -> None:
        pass


def t(value: object, style: str = "") -> Text:
    return Text(clean(value), style=style)


def print_json(value: Any, file: TextIO | None = None) -> None:
    (file or sys.stdout).write(json.dumps(value, ensure_ascii=False) + "\n")


def lookup_table(results: Iterable[LookupResult]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("provider", "state", "order", "found by", "status", "lines", "cancellable"):
        # Identifiers are never cut: an operator copies them.
        table.add_column(column, no_wrap=column in ("provider", "state", "order"))
    for result in results:
        label = registry.label(result.provider)
        if result.state is not LookupState.FOUND:
            detail = result.error or ""
            state = t(result.state.label, "red" if detail else "dim")
            detail = detail or result.why_skipped or ""
            table.add_row(t(label), state, t(detail), Text(""), Text(""), Text(""), Text(""))
            continue
        for order in result.orders:
            table.add_row(
                t(label),
                t("found", "green"),
                t(order.order_id, "bold"),
                t(order.found_by),
                t(order.status),
                t(len(order.lines) or "-"),
                t(order.cancellable_count if order.cancellable else 0),
            )
    return table


def lines_table(results: Iterable[LookupResult]) -> Table | None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("order", "line", "sku", "qty", "status", "cancellable"):
        table.add_column(column, no_wrap=column in ("order", "line"))
    rows = 0
    for result in results:
        for order in result.orders:
            for line in order.lines:
                rows += 1
                table.add_row(
                    t(order.order_id),
                    t(line.id),
                    t(line.sku or ""),
                    t("" if line.quantity is None else line.quantity),
                    t(line.status),
                    t("yes", "green")
                    if line.cancellable
                    else t(f"no: {line.not_cancellable_reason or ''}", "red"),
                )
    return table if rows else None


def not_sent_report(final: NotSent) -> list[Any]:
    """Renderables for a cancel that was not sent: why, and who holds the order."""
    parts: list[Any] = [
        Text.assemble(
            t(registry.label(final.request.provider), "bold"),
            " ",
            t(final.request.order_id, "bold"),
            ": ",
            t("NOT SENT", "bold yellow" if final.held else "bold"),
        ),
        Text.assemble("  ", t(final.message)),
    ]
    if final.outcome is not None and final.why is not Why.NOT_FOUND:
        parts.append(Text("  earlier outcome:", style="dim"))
        parts.extend(outcome_report(final.outcome)[1:])
    return parts


def not_sent_public(final: NotSent) -> dict[str, Any]:
    """The ``--json`` shape of a cancel that was not sent."""
    body: dict[str, Any] = (
        final.outcome.to_public()
        if final.outcome is not None
        else {
            "provider": final.request.provider,
            "order_id": final.request.order_id,
            "outcome": None,
            "http_status": None,
            "message": final.message,
            "confirmed": False,
            "cancelled": [],
            "not_cancelled": [],
            "warnings": [],
            "request_id": None,
        }
    )
    attempt = final.attempt
    holder = (
        {
            "attempt_id": attempt.id,
            "operator": attempt.operator,
            "host": attempt.host,
            "pid": attempt.pid,
            "since": attempt.started_at.isoformat(),
            "state": attempt.state.value,
        }
        if attempt is not None
        else None
    )
    return {
        **body,
        "sent": False,
        "not_sent": final.why.value,
        "reason_not_sent": final.message,
        "attempt": holder,
    }


def outcome_report(outcome: CancelOutcome) -> list[Any]:
    """Renderables describing one outcome, in reading order."""
    head = Text.assemble(
        t(registry.label(outcome.provider), "bold"),
        " ",
        t(outcome.order_id, "bold"),
        ": ",
        t(outcome.outcome.words, TONE_STYLE[outcome.outcome.tone]),
    )
    if outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
        head.append(" (confirmed)" if outcome.confirmed else " (initiated, not yet confirmed)")
    if outcome.http_status:
        head.append(f"  HTTP {outcome.http_status}", style="dim")
    parts: list[Any] = [head]
    if outcome.message:
        parts.append(Text.assemble("  ", t(outcome.message)))
    if outcome.cancelled or outcome.not_cancelled:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("", "line", "status", "qty / reason"):
            table.add_column(column, no_wrap=column in ("", "line"))
        for line in outcome.cancelled:
            table.add_row(
                t("cancelled", "green"),
                t(line.id),
                t(line.status),
                t("" if line.quantity is None else line.quantity),
            )
        for line in outcome.not_cancelled:
            table.add_row(t("not cancelled", "red"), t(line.id), t(line.status), t(line.reason))
        parts.append(table)
    parts.extend(Text.assemble("  warning: ", t(w), style="yellow") for w in outcome.warnings)
    if outcome.request_id:
        parts.append(Text(f"  request id {clean(outcome.request_id)}", style="dim"))
    if outcome.outcome is Outcome.UNKNOWN:
        parts.append(
            Text(
                "  The request may have taken effect. Look the order up before trying again.",
                style="yellow",
            )
        )
    return parts
