"""Promise 2: bad input gets a clear answer, and nothing invalid is ever sent.

Property tests (hypothesis) over identifiers, reasons, item specs and quantities, config files,
environment values and batch files: each is accepted as valid, or refused with a typed error
whose message is one clean line; never another exception. What is refused sends no request
(a transport that fails the test on any request) and writes no journal row.
"""

from __future__ import annotations

import asyncio
import os
import string
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.cli import exit_codes
from tui.cli.main import run
from tui.core.batch import CSV_COLUMNS, parse_batch, read_batch_file
from tui.core.domain import CancelRequest, ItemSelection
from tui.core.identifiers import (
    MAX_IDENTIFIER_CHARS,
    InvalidInput,
    parse_item_spec,
    validate_identifier,
    validate_reason,
)
from tui.core.journal import SqliteJournal, SqliteStore
from tui.core.service import StoplineService
from tui.core.settings import ConfigError, Settings, load_settings
from tui.core.text import clean
from tui.core.vocabulary import BUILTIN_PROVIDERS
from tui.sandbox import SandboxServer

from .kit import OPEN_ORDER, RequestCounter

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

OFFLINE_SETTINGS: dict[str, Any] = {
    "pattern": {
        "base_url": "https://api.pattern.invalid/hub",
        "token_url": "https://auth.pattern.invalid/token",
        "client_id": "id",
        "client_secret": "secret-value",
    },
    "ordermesh": {
        "base_url": "https://api.ordermesh.invalid",
        "client_id": "id",
        "client_secret": "secret-value",
    },
    "shoplazza": {
        "base_url": "https://shop.myshoplaza.invalid",
        "access_token": "tok-value",
        "rate_per_s": 100,
    },
    "rxuniverse": {"base_url": "http://labserver.invalid:4567"},
}


class NoNetwork:
    """A transport that fails the test on any request (and records it, in case the failure
    were swallowed somewhere)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.transport = httpx.MockTransport(self._refuse)

    def _refuse(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url}")
        raise AssertionError(f"a request was sent for invalid input: {request.url}")


@pytest.fixture
def offline(tmp_path: Path) -> Any:
    """A service on :class:`NoNetwork` with a journal; returns (service, journal, network)."""
    network = NoNetwork()
    path = tmp_path / "journal.sqlite3"
    service = StoplineService.from_settings(
        Settings(**OFFLINE_SETTINGS),
        journal=SqliteJournal.open(path),
        transports=dict.fromkeys(BUILTIN_PROVIDERS, network.transport),
    )
    journal = SqliteStore(path)  # the same file, read by the test
    yield service, journal, network
    asyncio.run(service.aclose())
    journal.close()


def assert_clear(message: str) -> None:
    """A refusal the operator can read: one line, printable, not a repr of an exception."""
    assert message and message == clean(message, max_chars=10_000)
    assert "Traceback" not in message and "\n" not in message


# -- identifiers, reasons, items, quantities ---------------------------------------------------

CONTROL = st.characters(categories=["Cc", "Cf", "Co"])
bad_identifiers = st.one_of(
    st.text(alphabet=" \t\r\n\x0b\x0c", max_size=4),
    st.text(min_size=MAX_IDENTIFIER_CHARS + 1, max_size=200),
    st.tuples(st.text(max_size=8), CONTROL, st.text(max_size=8)).map("".join),
    st.sampled_from([".", "..", " .. ", "\x1b[2J", "a\u202eb", "x\x00y"]),
)
any_identifiers = st.one_of(bad_identifiers, st.text(max_size=150))


@FUZZ
@given(raw=any_identifiers, reason=st.one_of(st.text(max_size=600), st.just("ok")))
def test_identifiers_and_reasons_are_accepted_or_refused_before_any_request(
    offline: Any, raw: str, reason: str
) -> None:
    service, journal, network = offline
    try:
        ident = validate_identifier(raw)
    except InvalidInput as exc:
        assert_clear(str(exc))
        with pytest.raises(InvalidInput):
            asyncio.run(service.lookup_all(raw))
        for key in BUILTIN_PROVIDERS:
            with pytest.raises(InvalidInput):
                asyncio.run(service.cancel(CancelRequest(provider=key, order_id=raw, reason="r")))
    else:
        assert ident == ident.strip() and 0 < len(ident) <= MAX_IDENTIFIER_CHARS
        assert ident == clean(ident) and ident not in {".", ".."}
    try:
        why = validate_reason(reason)
    except InvalidInput as exc:
        assert_clear(str(exc))
        with pytest.raises(InvalidInput):
            service.prepare(CancelRequest(provider="shoplazza", order_id="1-1", reason=reason))
    else:
        assert why and why == clean(why)
    assert network.sent == []
    assert journal.attempts(limit=None) == []


@FUZZ
@given(
    spec=st.one_of(
        st.text(max_size=40),
        st.tuples(any_identifiers, st.text(max_size=12)).map(lambda p: f"{p[0]}={p[1]}"),
    )
)
@example(spec="item=\u0663")
@example(spec="item=99999999999999999999999")
@example(spec="=3")
@example(spec="a=0")
def test_item_specs_and_quantities(offline: Any, spec: str) -> None:
    service, _journal, network = offline
    try:
        item_id, qty = parse_item_spec(spec)
    except InvalidInput as exc:
        assert_clear(str(exc))
        return
    assert validate_identifier(item_id) == item_id
    assert qty is None or 1 <= qty <= 1_000_000
    request = CancelRequest(
        provider="ordermesh",
        order_id=OPEN_ORDER["ordermesh"],
        reason="r",
        items=(ItemSelection(id=item_id, quantity=qty),),
    )
    assert service.prepare(request).items[0].id == item_id
    assert network.sent == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--item", "A=0"], "between 1 and 1000000"),
        (["--item", "A=1000001"], "between 1 and 1000000"),
        (["--item", "A=-1"], "whole number"),
        (["--item", "A=1e3"], "whole number"),
        (["--item", "A=²"], "whole number"),
        (["--item", "A=1", "--item", "A=2"], "selected twice"),
        (["--item", "\x1b[31m=1"], "control characters"),
        (["--reason", "x" * 501], "longer than 500"),
        (["--reason", "   "], "reason is required"),
        (["--reason", "why\x07"], "control characters"),
    ],
)
def test_cli_refuses_bad_items_and_reasons_without_sending(
    fresh: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: str,
) -> None:
    for name, value in fresh.settings_env().items():
        monkeypatch.setenv(name, value)
    seen = RequestCounter(fresh)
    base = ["cancel", OPEN_ORDER["ordermesh"], "-p", "ordermesh", "--yes"]
    if "--reason" not in argv:
        base += ["--reason", "Customer request"]
    code = run([*base, *argv])
    _, err = capsys.readouterr()
    assert code == exit_codes.USAGE
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert seen.seen == 0


# -- config files and environment --------------------------------------------------------------

SETTING_KEYS = [
    "data_dir",
    "log_dir",
    "operator",
    "read_only",
    "ca_bundle",
    "theme",
    "keymap",
    "lookup_concurrency",
    "confirm_poll_s",
    "confirm_timeout_s",
]
SECTION_KEYS = [
    "base_url",
    "timeout_s",
    "environment",
    "read_only",
    "token_url",
    "client_id",
    "client_secret",
    "access_token",
    "api_key",
    "api_version",
    "rate_per_s",
    "trigger_flow",
    "reason_param",
    "reason_codes",
    "reason_required",
    "api_key_header",
]
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["http://127.0.0.1:1", "https://x.invalid", "sandbox", "query", "1"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(string.ascii_lowercase, min_size=1, max_size=8), inner, max_size=3
        )
    ),
    max_leaves=6,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, repr(value))
    if isinstance(value, str):
        return (
            '"'
            + "".join(
                c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}"
                for c in value
                if not 0xD800 <= ord(c) <= 0xDFFF
            )
            + '"'
        )
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


toml_documents = st.builds(
    lambda top, sections: "\n".join(
        [*(f"{k} = {toml_value(v)}" for k, v in top.items())]
        + [
            f"[{name}]\n" + "\n".join(f"{k} = {toml_value(v)}" for k, v in body.items())
            for name, body in sections.items()
        ]
    ),
    st.dictionaries(st.sampled_from(SETTING_KEYS), values, max_size=4),
    st.dictionaries(
        st.sampled_from([*BUILTIN_PROVIDERS, "pattern.extra", "nonsense"]),
        st.dictionaries(st.sampled_from(SECTION_KEYS), values, max_size=5),
        max_size=3,
    ),
)


def load_or_refuse() -> Settings | None:
    """``load_settings`` answers with settings or a :class:`ConfigError`, nothing else."""
    try:
        return load_settings()
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem, str) and problem.strip()
        return None


@FUZZ
@given(document=st.one_of(toml_documents, st.text(max_size=300), st.binary(max_size=200)))
@example(document=b"\xff\xfe not utf-8")
@example(document="[pattern]\ntimeout_s = 'abc'\n")
@example(document="[pattern]\nbase_url = 'ftp://x'\n")
@example(document="lookup_concurrency = 99999999999999999999999\n")
@example(document="[pattern\n")
def test_any_config_file_loads_or_is_refused_with_messages(document: str | bytes) -> None:
    path = Path(os.environ["STOPLINE_CONFIG"])
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document, encoding="utf-8", errors="surrogatepass")
    load_or_refuse()


ENV_NAMES = [
    "STOPLINE_PATTERN__TIMEOUT_S",
    "STOPLINE_PATTERN__BASE_URL",
    "STOPLINE_PATTERN__ENVIRONMENT",
    "STOPLINE_PATTERN__READ_ONLY",
    "STOPLINE_PATTERN",
    "STOPLINE_SHOPLAZZA__RATE_PER_S",
    "STOPLINE_RXUNIVERSE__REASON_CODES",
    "STOPLINE_RXUNIVERSE__REASON_PARAM",
    "STOPLINE_READ_ONLY",
    "STOPLINE_LOOKUP_CONCURRENCY",
    "STOPLINE_CONFIRM_TIMEOUT_S",
    "STOPLINE_KEYMAP",
    "STOPLINE_CA_BUNDLE",
    "STOPLINE_DATA_DIR",
]
env_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)


@FUZZ
@given(values=st.dictionaries(st.sampled_from(ENV_NAMES), env_text, min_size=1, max_size=4))
def test_any_environment_loads_or_is_refused_with_messages(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str]
) -> None:
    with monkeypatch.context() as env:
        for name, value in values.items():
            env.setenv(name, value)
        load_or_refuse()


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("STOPLINE_PATTERN__TIMEOUT_S", "abc", "pattern.timeout_s"),
        ("STOPLINE_SHOPLAZZA__TIMEOUT_S", "-1", "shoplazza.timeout_s"),
        ("STOPLINE_RXUNIVERSE__TIMEOUT_S", "1e9", "rxuniverse.timeout_s"),
        ("STOPLINE_LOOKUP_CONCURRENCY", "many", "lookup_concurrency"),
        ("STOPLINE_READ_ONLY", "maybe", "read_only"),
        ("STOPLINE_ORDERMESH__BASE_URL", "ftp://api.ordermesh.io", "ordermesh.base_url"),
        ("STOPLINE_PATTERN__ENVIRONMENT", "prod", "pattern.environment"),
        ("STOPLINE_SHOPLAZZA__RATE_PER_S", "0", "shoplazza.rate_per_s"),
        ("STOPLINE_KEYMAP", "{not json", "keymap"),
        ("STOPLINE_CA_BUNDLE", "/nonexistent/ca.pem", "ca_bundle"),
    ],
)
def test_bad_environment_values_are_named_and_nothing_is_sent(
    fresh: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    words: str,
) -> None:
    for env_name, env_value in fresh.settings_env().items():
        monkeypatch.setenv(env_name, env_value)
    monkeypatch.setenv(name, value)
    seen = RequestCounter(fresh)
    for argv in (
        ["lookup", OPEN_ORDER["shoplazza"]],
        ["cancel", OPEN_ORDER["shoplazza"], "-p", "shoplazza", "-r", "x", "--yes"],
    ):
        code = run(argv)
        _, err = capsys.readouterr()
        assert code == exit_codes.USAGE
        assert words in err and "Traceback" not in err
        # The file is not blamed for what the environment said.
        assert os.environ["STOPLINE_CONFIG"] not in err
    assert seen.seen == 0


# -- batch files -------------------------------------------------------------------------------

cells = st.one_of(
    st.sampled_from(["pattern", "ordermesh", "shoplazza", "rxuniverse", "amazon", ""]),
    st.sampled_from(["114-1-1", "670e58fe7741035996cf7d20", "PO/1", "a,b", '"q"', "=1+1"]),
    st.sampled_from(["A=1;B", "A=0", "A;A", "x=", ";;", "A=1e2"]),
    st.text(max_size=12),
)
csv_lines = st.lists(cells, min_size=1, max_size=5).map(lambda cs: ",".join(cs))
batch_texts = st.one_of(
    st.lists(st.one_of(csv_lines, st.text(max_size=30), st.just("# comment")), max_size=8).flatmap(
        lambda rows: st.sampled_from(
            [",".join(CSV_COLUMNS), "order_id,reason", "provider,order_id,items,reason", ""]
        ).map(lambda head: "\n".join([head, *rows]))
    ),
    st.text(max_size=300),
)


def check_plan(plan: Any, text: str) -> None:
    # Line numbers are the editor's: lines end at \n (after universal newlines).
    last_line = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    numbers = [row.line_no for row in plan.rows] + [e.line_no for e in plan.errors]
    assert len(numbers) == len(set(numbers))
    for line_no in numbers:
        assert 1 <= line_no <= last_line
    for error in plan.errors:
        assert_clear(error.message)
    for row in plan.rows:
        request = row.request
        assert request.provider in BUILTIN_PROVIDERS
        assert validate_identifier(request.order_id) == request.order_id
        assert validate_reason(request.reason) == request.reason
        for item in request.items:
            assert validate_identifier(item.id) == item.id


@FUZZ
@given(
    text=batch_texts,
    provider=st.sampled_from([None, "pattern"]),
    reason=st.sampled_from([None, "r"]),
)
@example(text="order_id\n\x0c\nA\x0cB\nC", provider="pattern", reason="r")
@example(text="order_id,reason\nA,\u2028x\nB,y", provider="pattern", reason=None)
def test_any_batch_text_gives_rows_and_numbered_bad_rows(
    text: str, provider: str | None, reason: str | None
) -> None:
    try:
        plan = parse_batch(text, provider=provider, reason=reason)
    except InvalidInput as exc:  # a problem of the file as a whole (its header)
        assert_clear(str(exc))
        return
    check_plan(plan, text)


@FUZZ
@given(data=st.binary(max_size=400))
@example(data=b"\xef\xbb\xbforder_id,provider\nA,pattern\n")
@example(data=b"order_id\r\nA\r\n\r\nB,\r\n")
@example(data=b"\xef")
@example(data=b"order_id\n\x0c\nA\x0cB\nC\n\xe2\x80\xa8\nD")
def test_any_batch_file_bytes_give_rows_and_numbered_bad_rows(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "batch.csv"
    path.write_bytes(data)
    try:
        plan = read_batch_file(path, provider="shoplazza", reason="r")
    except InvalidInput as exc:
        assert_clear(str(exc))
        return
    check_plan(plan, path.read_text(encoding="utf-8-sig"))


def test_cli_batch_reports_bad_rows_by_line_and_sends_nothing_for_them(
    fresh: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name, value in fresh.settings_env().items():
        monkeypatch.setenv(name, value)
    seen = RequestCounter(fresh)
    batch = tmp_path / "bad.csv"
    batch.write_text(
        "provider,order_id,reason,items\n"
        "# a comment\n"
        "amazon,1,x,\n"
        "ordermesh,670e58fe7741035996cf7d20,x,A=0\n"
        "pattern,\x1b[2J,x,\n"
        "shoplazza,633130-00000004,,\n"
        "rxuniverse,72544\n",
        encoding="utf-8",
    )
    code = run(["batch", str(batch), "--yes"])
    _, err = capsys.readouterr()
    assert code == exit_codes.USAGE
    for line_no, words in [
        (3, "unknown provider"),
        (4, "between 1 and 1000000"),
        (5, "control characters"),
        (6, "reason is required"),
        (7, "expected 4 columns"),
    ]:
        assert f"line {line_no}: " in err and words in err, err
    assert "nothing was sent" in err and "Traceback" not in err
    assert seen.seen == 0
