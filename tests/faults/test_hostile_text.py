"""Promise 3: hostile text is inert. Provider strings carrying ANSI/OSC/C1 escapes, bidi
overrides, BEL and Rich markup reach the CLI's human output and exported CSV through the one
sanitiser (``tui.core.text.clean``): no escape byte survives, markup shows literally, and no
CSV cell can start a spreadsheet formula. (The console: ``test_console.py``.)"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.sandbox import SandboxServer, showcase

from .kit import TIMEOUT_S

HOSTILE = showcase.HOSTILE_TEXT_ORDER
EXTRA = (
    "\x1b]8;;https://evil.invalid\x07osc-link\x1b]8;;\x07 \x1b]0;pwned\x07 \x9b31mc1 "
    "\u202eevil\u202c \u2066iso\u2069 [bold red]markup[/bold red]\x07"
)
FORMULAS = ('=HYPERLINK("http://evil.invalid","x")', "+1+1", "-2+3", "@SUM(A1:A9)")
FORMULA_START = ("=", "+", "-", "@")


def assert_inert(text: str) -> None:
    for ch in text:
        if ch in "\n\r\t":
            continue
        assert unicodedata.category(ch) not in {"Cc", "Cf"}, f"{ch!r} reached the output"


@pytest.fixture
def cli_env(fresh: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """STOPLINE_* pointing the command line at the sandbox; wide output, never cut."""
    for name, value in fresh.settings_env().items():
        monkeypatch.setenv(name, value)
    for key in ("PATTERN", "ORDERMESH", "SHOPLAZZA", "RXUNIVERSE"):
        monkeypatch.setenv(f"STOPLINE_{key}__TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__RATE_PER_S", "50")
    monkeypatch.setenv("COLUMNS", "300")
    order = fresh.sandbox.data.pattern[HOSTILE]
    order.note = f"{order.note} {EXTRA}"  # a plain attribute: safe across threads
    yield fresh


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lookup_and_cancel_show_hostile_text_literally(
    cli_env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "lookup", HOSTILE, "--provider", "pattern")
    assert code == exit_codes.OK
    assert "SKU-[bold red]x[/] seal [/]broken RED ding" in out
    assert "CLEAR-SCREEN" in out
    assert_inert(out + err)

    code, out, err = cli(
        capsys, "cancel", HOSTILE, "--provider", "pattern", "--reason", "test", "--yes"
    )
    assert code == exit_codes.REFUSED  # the showcase answers 409 every time
    assert "[bold red]x[/] seal [/]broken RED ding" in out
    assert "[link=https://example.invalid]click[/link]" in out
    assert "[bold red]markup[/bold red]" in out and "osc-link" in out and "evil" in out
    assert_inert(out + err)

    # The same through --json: the cleaned text, still literal.
    code, out, _ = cli(capsys, "cancel", HOSTILE, "-p", "pattern", "-r", "test", "--yes", "--json")
    assert code == exit_codes.REFUSED
    assert "[bold red]x[/]" in out and "\\u001b" not in out and "\\u0007" not in out
    assert_inert(out)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_exported_csv_neutralises_formulas_and_escapes(
    cli_env: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Formula-looking reasons: typed on the command line, echoed back by Shoplazza (its cancel
    # answer carries the reason, so the provider's own message starts with the formula too)...
    code, _, _ = cli(
        capsys, "cancel", showcase.SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", FORMULAS[0], "--yes"
    )
    assert code == exit_codes.OK
    # ...read from a batch file...
    batch = tmp_path / "orders.csv"
    rows = [
        ("ordermesh", showcase.ORDERMESH_MULTI_ITEM, FORMULAS[1]),
        ("pattern", showcase.PATTERN_ALL_CANCELLABLE, FORMULAS[2]),
    ]
    with batch.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["provider", "order_id", "reason", "items"])
        writer.writerows([*row, ""] for row in rows)
    code, _, err = cli(capsys, "batch", str(batch), "--yes", "--reason", "1")
    assert code == exit_codes.OK, err
    # ...given beside one of the lab's reason codes (a reason that is none of its codes is
    # refused before anything is journalled)...
    code, _, err = cli(
        capsys, "cancel", showcase.RX_CANCELLABLE_ORDER, "-p", "rxuniverse", "-r",
        FORMULAS[3], "--reason-code", "1", "--yes",
    )
    assert code == exit_codes.OK, err
    # ...and hostile provider text in a refusal.
    cli(capsys, "cancel", HOSTILE, "-p", "pattern", "-r", "test", "--yes")

    code, out, _ = cli(capsys, "history", "--csv")
    assert code == exit_codes.OK
    table = read_csv(out)
    assert len(table) == 1 + 5
    cells = [cell for row in table[1:] for cell in row]
    for cell in cells:
        assert not cell.lstrip().startswith(FORMULA_START), cell
        assert_inert(cell)
    for formula in FORMULAS:
        assert "'" + formula in cells, formula  # kept, readable, inert
    messages = [row[table[0].index("message")] for row in table[1:]]
    assert "'" + FORMULAS[0] in messages  # Shoplazza's own answer, neutralised as well
    assert any("[bold red]x[/] seal [/]broken RED ding" in m for m in messages)
