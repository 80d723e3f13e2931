"""What earlier attempts on an order say to the next one: an initiated cancel is awaited
until a look-up confirms it, however long that takes; a follower does not claim another
attempt's cancel as its own; a batch run again skips its own settled row even when other
cancels of the order came between. Real ``stopline`` processes, the sandbox counting."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.sandbox import SandboxConfig, SandboxServer, control
from tui.sandbox.showcase import ORDERMESH_MULTI_ITEM, PATTERN_ALL_CANCELLABLE

from .floor import Floor, json_out

E01 = "670e58fe7741035996cf7e01"  # quantity 3
E02 = "670e58fe7741035996cf7e02"  # quantity 1


@pytest.fixture(scope="module")
def slow_pattern() -> Iterator[SandboxServer]:
    """Pattern confirms an initiated cancel only after a minute."""
    with SandboxServer(SandboxConfig(pattern_cancel_delay_s=60)) as server:
        yield server


def test_an_initiated_cancel_is_awaited_however_long_the_provider_takes_to_confirm(
    slow_pattern: SandboxServer, isolated_stopline_home: Path
) -> None:
    """Pattern accepted the cancel (initiated) and shows it in its look-up only a minute
    later. Long after the attempt's lease and the confirmation wait, the same cancel is
    still held — awaiting confirmation — and never sent again."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPLINE_")}
    env.update(
        {
            "STOPLINE_CONFIG": str(isolated_stopline_home / "config.toml"),
            "STOPLINE_DATA_DIR": str(isolated_stopline_home / "data"),
            "STOPLINE_LOG_DIR": str(isolated_stopline_home / "log"),
            **slow_pattern.settings_env(),
            "STOPLINE_PATTERN__TIMEOUT_S": "1",
            "STOPLINE_PATTERN__SETTLE_S": "0",
            "STOPLINE_CONFIRM_TIMEOUT_S": "1",
        }
    )
    floor = Floor(root_url=slow_pattern.root_url, env=env)
    args = ("cancel", PATTERN_ALL_CANCELLABLE, "-p", "pattern", "-r", "stock-out", "--yes",
            "--json")
    first = floor.run(*args)
    initiated = json_out(first)
    assert first.returncode == 0 and initiated["outcome"] == "complete", first.stderr
    assert initiated["confirmed"] is False
    time.sleep(4.5)  # past the lease (3 s) and the confirmation wait (1 s)
    second = floor.run(*args)
    held = json_out(second)
    assert second.returncode == 7 and held["not_sent"] == "awaiting_confirmation", held
    assert len(control.calls(slow_pattern.root_url, "cancel")) == 1


def test_a_follower_never_takes_another_attempts_cancel_for_its_own(floor: Floor) -> None:
    """A's Pattern cancel is swallowed (never applied, never answered) and A follows it with
    ``--wait``. After A's lease, B finds the order untouched, closes A's attempt as not
    applied, and sends its own. A's follower then sees the order cancelled — by B — and
    must leave A's attempt as B closed it, and not tell A's operator it applied."""
    quick = {
        "STOPLINE_PATTERN__TIMEOUT_S": "1",
        "STOPLINE_PATTERN__SETTLE_S": "0",
        "STOPLINE_CONFIRM_TIMEOUT_S": "20",
        "STOPLINE_CONFIRM_POLL_S": "0.5",
    }
    control.add_fault(
        floor.root_url, provider="pattern", mode="timeout", operations=["cancel"], count=1
    )
    args = ("cancel", PATTERN_ALL_CANCELLABLE, "-p", "pattern", "-r", "stock-out", "--yes",
            "--json")
    a = floor.start(*args, "--wait", extra_env=quick)
    floor.wait_for_cancels(1, PATTERN_ALL_CANCELLABLE)
    time.sleep(4.5)  # A's lease (3 s) is over; A still follows its unknown attempt
    assert a.poll() is None
    b = floor.run(*args, extra_env=quick)
    b_out = json_out(b)
    assert b.returncode == 0 and b_out["sent"] is True, b.stdout + b.stderr
    a_stdout, _ = a.communicate(timeout=60)
    a_out = json_out((a_stdout, ""))
    history = json.loads(floor.run("history", "--json").stdout)
    first = next(row for row in history if row["id"] == a_out["attempt_id"])
    assert first["outcome"] == "error" and str(first["message"]).startswith("not applied")
    assert a_out["outcome"] == "error"
    assert any("settled by another process" in w for w in a_out["warnings"])


def test_a_batch_run_again_skips_its_row_though_another_cancel_of_the_order_came_between(
    floor: Floor, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Batch F cancels 1 of item E01; a supervisor then cancels item E02 of the same order;
    F is run again to resume. F's row settled earlier — the newer attempt on the order is
    not its own — so E01 loses one unit, not two."""
    item = sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM].items[0]
    assert (item.id, item.quantity, item.cancelled_quantity) == (E01, 3, 0)
    wave = tmp_path / "wave.csv"
    wave.write_text(
        f"provider,order_id,reason,items\nordermesh,{ORDERMESH_MULTI_ITEM},stock-out,{E01}=1\n"
    )
    first = floor.run("batch", str(wave), "--yes", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    other = floor.run(
        "cancel", ORDERMESH_MULTI_ITEM, "-p", "ordermesh", "--item", f"{E02}=1", "-r",
        "damaged", "--yes", "--json",
    )
    assert other.returncode == 0, other.stdout + other.stderr
    again = floor.run("batch", str(wave), "--yes", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert item.cancelled_quantity == 1
    assert len(floor.cancels(ORDERMESH_MULTI_ITEM)) == 2  # F's first run, the supervisor's
    assert "settled earlier" in again.stdout


