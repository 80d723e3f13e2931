"""Promise 7: a provider that lies, stalls, floods or echoes secrets (tests/faults/hostile.py,
real HTTP on loopback) costs neither time, nor memory, nor a secret, nor a false "cancelled".

- Bounded answers: an answer trickling a byte a second ends at the deadline (``timeout_s``
  covers the whole exchange); an endless chunked stream, a body far past the cap and a gzip
  bomb (1 MB on the wire, 1 GiB inflated) are abandoned a few MiB in — peak memory of the
  process measured, alone and as a batch of 8 at once. Past a bound a look-up is an error and
  a cancel already sent is unknown, then re-checked.
- Success is read: a 2xx whose body says failure is unknown for every adapter, never
  complete, and the journal says so too.
- Secrets echoed in success and error answers (a custom API key header included) are found
  nowhere: not in stdout, stderr, the journal (WAL included), the log, or the CSV export.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.core.journal import AttemptState, SqliteStore
from tui.core.settings import load_settings

from .hostile import (
    ISSUED,
    NEEDLES,
    ORDER_OF,
    PROVIDERS,
    SECRETS,
    SHOP_ID,
    HostileServer,
    Request,
    answer_json,
    answer_text,
    cancelled_answer,
    endless,
    gzip_bomb,
    make_gzip_bomb,
    open_order,
    oversized,
    trickle,
)
from .kit import peak_rss_mib, stopline

GENEROUS_S = 30.0
"""An upper bound that proves a deadline works (the exchange is bounded), not a timing."""


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cancel_argv(provider: str, *extra: str, order: str | None = None) -> list[str]:
    order = order or ORDER_OF[provider]
    return ["cancel", order, "-p", provider, "-r", "Customer request", "--yes", *extra]


def fresh_order(provider: str, n: int) -> str:
    """Another order of the provider's shape: each round cancels orders of its own (an order
    an earlier round left unknown or initiated is held, and nothing would be sent)."""
    return {
        "pattern": f"114-{n:07d}-0000000",
        "ordermesh": f"{n:024x}",
        "shoplazza": f"633130-{n:08d}",
        "rxuniverse": str(80000 + n),
    }[provider]


def journal() -> SqliteStore:
    return SqliteStore(load_settings().journal_path())


# -- bounded answers ---------------------------------------------------------------------------


TRICKLE_S = 0.5
"""A byte every half second: any per-read timeout (1 s here) is reset before it fires."""


def test_a_trickling_lookup_ends_at_the_deadline(
    hostile: HostileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole-exchange deadline (``timeout_s`` = 1 s here) ends it; a look-up is then
    an error, after its usual retries. (Rx-Universe: two calls at once, both bounded.)"""
    hostile.on("rxuniverse", "lookup", trickle(interval_s=TRICKLE_S))
    started = time.monotonic()
    code, out, err = cli(capsys, "lookup", ORDER_OF["rxuniverse"], "-p", "rxuniverse", "--json")
    assert time.monotonic() - started < GENEROUS_S
    assert code == exit_codes.FAILURE, err
    [result] = json.loads(out)
    assert result["state"] == "error"
    assert "no complete answer within 1 s" in result["error"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_trickling_cancel_answer_is_unknown_at_the_deadline(
    hostile: HostileServer, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    """The cancel was sent: unknown, never resent, re-checked by a look-up."""
    hostile.on(provider, "cancel", trickle(interval_s=TRICKLE_S))
    started = time.monotonic()
    code, out, err = cli(capsys, *cancel_argv(provider, "--json"))
    assert time.monotonic() - started < GENEROUS_S
    assert code == exit_codes.UNKNOWN, err
    outcome = json.loads(out)
    assert outcome["outcome"] == "unknown" and outcome["confirmed"] is False
    assert "no complete answer within 1 s" in outcome["message"]
    assert len(hostile.seen(provider, "cancel")) == 1  # never sent twice
    assert hostile.seen(provider, "lookup")  # ... and re-checked by a look-up


@pytest.mark.parametrize("flood", ["endless", "oversized"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_flood_is_abandoned_at_the_cap(
    hostile: HostileServer, capsys: pytest.CaptureFixture[str], provider: str, flood: str
) -> None:
    misbehave = endless() if flood == "endless" else oversized()
    hostile.on(provider, "lookup", misbehave)
    code, out, _ = cli(capsys, "lookup", ORDER_OF[provider], "-p", provider, "--json")
    assert code == exit_codes.FAILURE
    assert "larger than 4,194,304 bytes (max_answer_bytes)" in json.loads(out)[0]["error"]
    assert len(hostile.seen(provider, "lookup")) <= 2  # not asked again (Rx asks twice at once)

    hostile.reset()
    hostile.on(provider, "cancel", misbehave)
    code, out, _ = cli(capsys, *cancel_argv(provider, "--json"))
    assert code == exit_codes.UNKNOWN
    assert "max_answer_bytes" in json.loads(out)["message"]
    sent = max(reply.bytes_sent for reply in hostile.replies)
    assert sent < 64 * 1024 * 1024  # the client hung up long before the flood ended


def test_the_cap_is_a_setting(
    hostile: HostileServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    padded = {**open_order("shoplazza", SHOP_ID), "padding": "p" * 300_000}
    hostile.on("shoplazza", "lookup", answer_json(200, padded))
    assert cli(capsys, "lookup", SHOP_ID, "-p", "shoplazza")[0] == exit_codes.OK
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__MAX_ANSWER_BYTES", "262144")
    code, _, _ = cli(capsys, "lookup", SHOP_ID, "-p", "shoplazza")
    assert code == exit_codes.FAILURE


@pytest.fixture(scope="module")
def bomb() -> bytes:
    blob = make_gzip_bomb(1024)
    assert 900_000 < len(blob) < 1_200_000  # about 1 MB on the wire, 1 GiB inflated
    return blob


@pytest.fixture
def process_env(hostile: HostileServer, isolated_stopline_home: Path) -> Iterator[dict[str, str]]:
    home = isolated_stopline_home
    yield {
        **hostile.settings_env(timeout_s=5.0),
        "STOPLINE_CONFIG": str(home / "config.toml"),
        "STOPLINE_DATA_DIR": str(home / "data"),
        "STOPLINE_LOG_DIR": str(home / "log"),
        "STOPLINE_OPERATOR": "test-operator",
    }


def test_a_gzip_bomb_costs_a_few_mib_not_a_gib(
    hostile: HostileServer, process_env: dict[str, str], bomb: bytes, tmp_path: Path
) -> None:
    """Peak resident memory of the real program (a subprocess), against the same program's
    peak for a well-behaved answer. Measured on the 2-core CI box: +12 MiB for one bomb,
    +73 MiB for eight at once; the bounds leave room, a GiB would not fit."""
    baseline = stopline("lookup", SHOP_ID, "-p", "shoplazza", env=process_env, measure=True)
    assert baseline.returncode == exit_codes.OK, baseline.stderr
    base_mib = peak_rss_mib(baseline)

    hostile.on("shoplazza", "lookup", gzip_bomb(bomb))
    one = stopline("lookup", SHOP_ID, "-p", "shoplazza", "--json", env=process_env, measure=True)
    assert one.returncode == exit_codes.FAILURE, one.stderr
    assert "max_answer_bytes" in json.loads(one.stdout)[0]["error"]
    assert peak_rss_mib(one) - base_mib < 64

    hostile.reset()
    hostile.on("shoplazza", "cancel", gzip_bomb(bomb))
    ids = tmp_path / "eight.txt"
    ids.write_text("".join(f"633130-{n:08d}\n" for n in range(1, 9)))
    eight = stopline(
        "batch",
        str(ids),
        "-p",
        "shoplazza",
        "-r",
        "dup",
        "-c",
        "8",
        "--yes",
        "--json",
        env=process_env,
        measure=True,
    )
    assert eight.returncode == exit_codes.UNKNOWN, eight.stderr
    lines = [json.loads(line) for line in eight.stdout.splitlines()]
    assert [line["outcome"] for line in lines[:-1]] == ["unknown"] * 8
    assert len(hostile.seen("shoplazza", "cancel")) == 8
    assert peak_rss_mib(eight) - base_mib < 192


# -- success is read, not assumed ----------------------------------------------------------------

SAYS_FAILURE = [
    ("ordermesh", answer_json(200, {"success": False, "message": "Cancellation FAILED: locked"})),
    ("ordermesh", answer_text(200, "Cancellation FAILED: order is locked")),
    ("rxuniverse", answer_json(200, {"error": "Order could not be deleted: in use"})),
    (
        "pattern",
        answer_json(
            200,
            {
                "market_order_id": ORDER_OF["pattern"],
                "success": True,
                "message": "ok",
                "cancelled_orders": [],
                "non_cancellable_orders": [],
            },
        ),
    ),
    ("shoplazza", answer_json(200, {"order": {"id": SHOP_ID, "status": "opened"}})),
]


@pytest.mark.parametrize(("provider", "answer"), SAYS_FAILURE)
def test_a_success_that_says_failure_is_unknown_everywhere(
    hostile: HostileServer, capsys: pytest.CaptureFixture[str], provider: str, answer: object
) -> None:
    hostile.on(provider, "cancel", answer)  # type: ignore[arg-type]
    code, out, err = cli(capsys, *cancel_argv(provider, "--json"))
    assert code == exit_codes.UNKNOWN, err
    outcome = json.loads(out)
    assert outcome["outcome"] == "unknown"
    assert outcome["confirmed"] is False and outcome["cancelled"] == []
    assert outcome["demo"] is False
    assert hostile.seen(provider, "lookup"), "an unknown is re-checked by a look-up"
    with journal() as book:
        [attempt] = book.attempts(limit=None)
    assert attempt.state is AttemptState.FINISHED
    assert attempt.outcome.value == "unknown" and attempt.confirmed is False


# -- secrets echoed back -----------------------------------------------------------------------


def echo(provider: str, request: Request) -> str:
    """What a careless provider quotes back: the credential it received, as received."""
    return f"seen {request.credential()} from you"


def echo_in_lookup(provider: str) -> object:
    def body(request: Request) -> object:
        order = open_order(provider, request.order)
        words = echo(provider, request)
        if provider == "pattern":
            order["sub_orders"][0]["items"][0]["sku"] = words
        elif provider == "ordermesh":
            order["orderItems"][0]["sku"] = words
        elif provider == "shoplazza":
            order["order"]["fulfillment_status"] = words
        else:
            order["statusDesc"] = words
        return order

    return answer_json(200, body)


def echo_in_success(provider: str) -> object:
    def body(request: Request) -> object:
        return cancelled_answer(provider, request.order, echo(provider, request))[1]

    return answer_json(200, body)


def echo_in_error(provider: str, status: int) -> object:
    return answer_json(
        status,
        lambda request: {"error": echo(provider, request), "message": request.credential()},
    )


def files_under(*roots: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for root in roots if root.exists() for p in root.rglob("*") if p.is_file()
    }


def test_echoed_secrets_are_written_nowhere(
    hostile: HostileServer,
    capsys: pytest.CaptureFixture[str],
    isolated_stopline_home: Path,
    tmp_path: Path,
) -> None:
    said: list[str] = []

    def stop(*argv: str) -> int:
        code, out, err = cli(capsys, *argv)
        said.extend([out, err])
        return code

    for provider in PROVIDERS:
        hostile.on(provider, "lookup", echo_in_lookup(provider))  # type: ignore[arg-type]
        hostile.on(provider, "cancel", echo_in_success(provider))  # type: ignore[arg-type]
    for provider in PROVIDERS:
        assert stop("lookup", ORDER_OF[provider], "-p", provider) == exit_codes.OK
        assert stop("lookup", ORDER_OF[provider], "-p", provider, "--json") == exit_codes.OK
        assert stop(*cancel_argv(provider)) in (exit_codes.OK, exit_codes.PARTIAL)
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "provider,order_id,reason\n"
        + "".join(f"{p},{ORDER_OF[p]},Customer request\n" for p in PROVIDERS)
    )
    assert stop("batch", str(batch), "--yes", "--json") in (exit_codes.OK, exit_codes.PARTIAL)
    # The same quotes in refusals and failures, and a token endpoint quoting the secret.
    for status in (400, 500):
        for provider in PROVIDERS:
            hostile.on(provider, "cancel", echo_in_error(provider, status))  # type: ignore[arg-type]
            code = stop(*cancel_argv(provider, "--json", order=fresh_order(provider, status)))
            assert code in (exit_codes.FAILURE, exit_codes.REFUSED, exit_codes.UNKNOWN)
    for provider in ISSUED:
        hostile.on(
            provider,
            "token",
            answer_json(
                401,
                lambda r: {"error": "invalid_client", "error_description": f"bad {r.body!r}"},
            ),
        )
        assert stop("lookup", ORDER_OF[provider], "-p", provider) == exit_codes.FAILURE
    assert stop("history") == exit_codes.OK
    assert stop("history", "--json") == exit_codes.OK
    assert stop("history", "--csv") == exit_codes.OK

    # The provider did receive every credential, and did quote it: the blanks are ours.
    sent = {r.credential() for r in hostile.requests}
    assert {f"Bearer {ISSUED['pattern']}", f"Bearer {ISSUED['ordermesh']}"} <= sent
    assert {SECRETS["shoplazza"], SECRETS["rxuniverse"]} <= sent
    assert any(SECRETS["pattern"] in r.body.decode() for r in hostile.requests)
    shown = "".join(said)
    assert "seen *** from you" in shown and "seen Bearer *** from you" in shown
    home = isolated_stopline_home
    written = files_under(home / "data", home / "log")
    # The journal (its WAL too, when one is left) and the support log were written.
    assert any(p.name == "journal.sqlite3" for p in written)
    assert any(p.name == "stopline.log" for p in written)
    for index, text in enumerate(said):
        for needle in NEEDLES:
            assert needle not in text, f"{needle!r} in output #{index}"
    for path, blob in written.items():
        for needle in NEEDLES:
            assert needle.encode() not in blob, f"{needle!r} in {path}"
