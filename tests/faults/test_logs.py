"""Promise 6: the support log. A rotating file under the log folder (``stopline locate`` shows
where) gets each provider call's timing and request id, never a secret; a crash's details go
there too, whichever command crashed, and stderr keeps one line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.core.journal import SqliteStore
from tui.core.logs import LOG_NAME, setup_logging
from tui.core.settings import load_settings
from tui.sandbox import SandboxServer

from .kit import OPEN_ORDER, REASON, SECRET_VALUES, TIMEOUT_S, TOKEN_PREFIX

CALL = re.compile(
    r"stopline\.http pid=\d+ (?P<provider>\w+) (?P<method>GET|POST|DELETE) (?P<path>\S+) -> "
    r"(?P<status>\d{3}) in (?P<ms>\d+) ms request_id=(?P<rid>\S+)$"
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def cli_env(fresh: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for name, value in fresh.settings_env().items():
        monkeypatch.setenv(name, value)
    for key in ("PATTERN", "ORDERMESH", "SHOPLAZZA", "RXUNIVERSE"):
        monkeypatch.setenv(f"STOPLINE_{key}__TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__RATE_PER_S", "50")
    yield fresh
    detach_log()


def detach_log() -> None:
    logger = logging.getLogger("stopline")
    for handler in list(logger.handlers):
        if getattr(handler, "_stopline", False):
            logger.removeHandler(handler)
            handler.close()


def log_path() -> Path:
    return load_settings().resolved_log_dir() / LOG_NAME


def test_calls_are_logged_with_timings_and_request_ids_and_no_secret(
    cli_env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["lookup", OPEN_ORDER["shoplazza"]]) == exit_codes.OK
    assert run(["cancel", OPEN_ORDER["shoplazza"], "-p", "shoplazza", "-r", REASON, "--yes"]) == 0
    capsys.readouterr()

    path = log_path()
    assert path.stat().st_mode & 0o077 == 0  # 0600: the log is the operator's alone
    lines = path.read_text(encoding="utf-8").splitlines()
    calls = [m for m in map(CALL.search, lines) if m]
    # OrderMesh cannot hold an id of this form: it is skipped, not asked.
    assert {m["provider"] for m in calls} == {"pattern", "shoplazza", "rxuniverse"}
    shop = [m for m in calls if m["provider"] == "shoplazza"]
    assert any(m["method"] == "POST" and m["path"].endswith("/cancel") for m in shop)
    # Shoplazza stamps every answer with a Request-Id: the log keeps it, as does the journal.
    assert all(UUID.match(m["rid"]) for m in shop)
    with SqliteStore(load_settings().journal_path()) as journal:
        attempt = journal.attempts(limit=1)[0]
    assert attempt.request_id and attempt.request_id in {m["rid"] for m in shop}
    text = path.read_text(encoding="utf-8")
    for needle in (*SECRET_VALUES, TOKEN_PREFIX):
        assert needle not in text


def test_locate_shows_the_log_that_is_written(
    cli_env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["lookup", OPEN_ORDER["rxuniverse"], "-p", "rxuniverse"]) == exit_codes.OK
    capsys.readouterr()
    assert run(["locate"]) == exit_codes.OK
    out, _ = capsys.readouterr()
    shown = {line.split(None, 1)[0]: line.split(None, 1)[1].strip() for line in out.splitlines()}
    assert Path(shown["log"]) == log_path()
    assert log_path().stat().st_size > 0


def test_a_crash_in_any_command_is_logged_not_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``history`` opens no runtime (so, before, no log): its crash details went to stderr."""
    detach_log()
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__BASE_URL", "https://shop.invalid")
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__ACCESS_TOKEN", SECRET_VALUES[2])
    SqliteStore(load_settings().journal_path()).close()

    def explode(*_args: object, **_kw: object) -> None:
        raise RuntimeError(f"disk on fire near {SECRET_VALUES[2]}")

    monkeypatch.setattr(SqliteStore, "attempts", explode)
    try:
        code = run(["history"])
        out, err = capsys.readouterr()
        assert code == exit_codes.FAILURE
        assert err.strip() == (
            "stopline: unexpected failure: RuntimeError (details in the log; stopline locate)"
        )
        text = log_path().read_text(encoding="utf-8")
        assert "unexpected failure in history" in text and "Traceback" in text
        assert "disk on fire near ***" in text and SECRET_VALUES[2] not in text + out + err
    finally:
        detach_log()


def test_the_log_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPLINE_LOG_DIR", str(tmp_path / "logs"))
    path = setup_logging(load_settings())
    try:
        assert path == tmp_path / "logs" / LOG_NAME
        log = logging.getLogger("stopline.test")
        for index in range(12_000):
            log.info("call %05d %s", index, "x" * 80)
        rotated = sorted(p.name for p in path.parent.iterdir())
        assert rotated[:2] == [LOG_NAME, f"{LOG_NAME}.1"]
        assert len(rotated) <= 4  # the current file and at most three old ones
        assert all(p.stat().st_size <= 1_100_000 for p in path.parent.iterdir())
    finally:
        detach_log()
