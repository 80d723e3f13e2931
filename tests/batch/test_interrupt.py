"""ctrl-c (and SIGTERM) mid-batch in a real ``stopline batch`` process, then resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tui.core.journal import AttemptState, SqliteStore
from tui.core.settings import load_settings
from tui.sandbox import SandboxConfig, SandboxServer

from .kit import cancel_calls, pattern_orders, stopline, write

LATENCY_MS = 250
TIMEOUT_S = 0.75
SETTLE_S = 0.5
"""The provider timeout and settle time: an unanswered attempt's window ends this long after
it was sent; after it, a look-up that shows the order untouched proves it did not apply, so
the resumed run may send it again."""
ORDERS = 12


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(pattern_cancel_delay_s=0.0, latency_ms={"pattern": LATENCY_MS})


@pytest.fixture
def env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPLINE_PATTERN__TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("STOPLINE_PATTERN__SETTLE_S", str(SETTLE_S))


ARGS = ("-p", "pattern", "-r", "stock-out", "-c", "2", "--yes", "--json")


def run_until(file: Path, results: int, sig: int) -> tuple[int, list[dict], str]:
    """Start a batch, send ``sig`` once ``results`` orders have finished, collect the rest."""
    process = stopline("batch", str(file), *ARGS)
    assert process.stdout is not None
    lines: list[dict] = []
    while len(lines) < results:
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        lines.append(json.loads(line))
    process.send_signal(sig)
    out, err = communicate(process)
    lines += [json.loads(line) for line in out.splitlines()]
    return process.returncode, lines, err


def finish(file: Path) -> tuple[int, list[dict]]:
    process = stopline("batch", str(file), *ARGS)
    out, _ = communicate(process)
    return process.returncode, [json.loads(line) for line in out.splitlines()]


def communicate(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.mark.usefixtures("env")
def test_ctrl_c_then_resume_cancels_every_order_exactly_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ids = pattern_orders(sandbox, "complete")[:ORDERS]
    file = write(tmp_path / "wave.txt", ids)

    code, lines, err = run_until(file, 2, signal.SIGINT)
    *first, summary = lines
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert summary["summary"]["interrupted"] is True
    assert summary["summary"]["exit_code"] == 130
    assert 2 <= len(first) < ORDERS
    assert summary["summary"]["not_run"] == ORDERS - len(first)
    settled_first = {o["order_id"] for o in first}

    with SqliteStore(load_settings().journal_path()) as journal:
        written = journal.attempts(limit=None)
    unanswered = [a for a in written if a.state is AttemptState.SENT]
    assert {a.order_id for a in written if a.state is AttemptState.FINISHED} == settled_first
    assert len(unanswered) <= 2  # only what was in flight: nothing new started
    assert all(a.open for a in unanswered)  # each holds its order until reconciled
    assert [a for a in written if a.state is AttemptState.CLAIMED] == []
    assert len(written) < ORDERS

    time.sleep(TIMEOUT_S + SETTLE_S + 0.5)  # every unanswered attempt's window is over
    code, lines = finish(file)
    *second, summary = lines
    assert code == 0, lines
    assert summary["summary"]["by_outcome"] == {"complete": ORDERS}
    by_order = {o["order_id"]: o for o in second}
    assert set(by_order) == set(ids)
    for order_id in settled_first:
        line = by_order[order_id]
        assert (line["skipped"], line["sent"], line["not_sent"]) == (
            True,
            False,
            "settled_earlier",
        )
        assert line["note"] == f"settled earlier: attempt #{line['attempt_id']} was complete"
    for attempt in unanswered:
        # Interrupted in flight: reconciled first. The sandbox got the cancel, so the look-up
        # settles it; had it not, it would have been closed as not applied after its window
        # and sent once more (and counted below).
        assert by_order[attempt.order_id]["note"].startswith(
            (
                f"attempt #{attempt.id} (unknown until now) took effect",
                f"attempt #{attempt.id} was unknown; untouched after its window",
            )
        )
    # The provider saw exactly one cancel per order over both runs, and applied each.
    assert len(cancel_calls(sandbox, "pattern")) == ORDERS
    data = sandbox.sandbox.data.pattern
    assert all(all(wo.cancel_initiated for wo in data[i].warehouse_orders) for i in ids)


@pytest.mark.usefixtures("env")
def test_sigterm_stops_like_ctrl_c(sandbox: SandboxServer, tmp_path: Path) -> None:
    ids = pattern_orders(sandbox, "complete")[:ORDERS]
    file = write(tmp_path / "wave.txt", ids)
    code, lines, err = run_until(file, 1, signal.SIGTERM)
    assert code == 130, err
    assert lines[-1]["summary"]["interrupted"] is True
    assert len(lines) - 1 < ORDERS
