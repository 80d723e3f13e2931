"""ctrl-c (and SIGTERM) mid-batch in a real ``stopline batch`` process, then resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tui.core.journal import AttemptState, Journal
from tui.core.settings import load_settings
from tui.sandbox import SandboxConfig, SandboxServer

from .kit import CancelCounter, pattern_orders, stopline, write

LATENCY_MS = 250
TIMEOUT_S = 0.75
"""The provider timeout: an unanswered attempt older than twice this plus 1 s is no longer
possibly in flight, so the resumed run may re-send it once a look-up shows it open."""
ORDERS = 12


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(pattern_cancel_delay_s=0.0, latency_ms={"pattern": LATENCY_MS})


@pytest.fixture
def env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPLINE_PATTERN__TIMEOUT_S", str(TIMEOUT_S))


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
    counter = CancelCounter(sandbox, "pattern")

    code, lines, err = run_until(file, 2, signal.SIGINT)
    *first, summary = lines
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert summary["summary"]["interrupted"] is True
    assert summary["summary"]["exit_code"] == 130
    assert 2 <= len(first) < ORDERS
    assert summary["summary"]["not_run"] == ORDERS - len(first)
    settled_first = {o["order_id"] for o in first}

    with Journal(load_settings().journal_path()) as journal:
        written = journal.attempts(limit=None)
    unanswered = [a for a in written if a.state is AttemptState.SENT]
    assert {a.order_id for a in written if a.state is AttemptState.FINISHED} == settled_first
    assert len(unanswered) <= 2  # only what was in flight: nothing new started
    assert len(written) < ORDERS

    time.sleep(2 * TIMEOUT_S + 1.2)  # in-flight attempts can no longer be in flight
    code, lines = finish(file)
    *second, summary = lines
    assert code == 0, lines
    assert summary["summary"]["by_outcome"] == {"complete": ORDERS}
    by_order = {o["order_id"]: o for o in second}
    assert set(by_order) == set(ids)
    for order_id in settled_first:
        assert by_order[order_id]["skipped"] is True
        assert by_order[order_id]["note"] == "skipped (settled earlier: complete)"
    for attempt in unanswered:
        # Interrupted in flight: looked up first. The sandbox got the cancel, so the look-up
        # settles it; had it not, the order would have been sent once (and counted below).
        assert by_order[attempt.order_id]["note"].startswith(
            (f"settled by re-check of unknown attempt {attempt.id}", "re-sent:")
        )
    # The provider saw exactly one cancel per order over both runs.
    assert counter.seen == ORDERS


@pytest.mark.usefixtures("env")
def test_sigterm_stops_like_ctrl_c(sandbox: SandboxServer, tmp_path: Path) -> None:
    ids = pattern_orders(sandbox, "complete")[:ORDERS]
    file = write(tmp_path / "wave.txt", ids)
    code, lines, err = run_until(file, 1, signal.SIGTERM)
    assert code == 130, err
    assert lines[-1]["summary"]["interrupted"] is True
    assert len(lines) - 1 < ORDERS
