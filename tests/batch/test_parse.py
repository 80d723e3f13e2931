"""Reading batch files: both formats, defaults, comments, and bad rows with their line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.batch import BatchRowError, format_items, parse_batch, parse_items, read_batch_file
from tui.core.domain import ItemSelection
from tui.core.identifiers import InvalidInput


def test_identifier_lines_skip_blanks_and_comments_and_keep_line_numbers() -> None:
    text = "# wave 1\n\nPO-1\n   \n  PO-2  \n# PO-3 is commented out\n\tPO-4\n"
    plan = parse_batch(text, provider="Pattern", reason=" stock-out ")
    assert plan.format == "lines"
    assert plan.errors == []
    assert [(r.line_no, r.request.order_id) for r in plan.rows] == [
        (3, "PO-1"),
        (5, "PO-2"),
        (7, "PO-4"),
    ]
    assert {r.request.provider for r in plan.rows} == {"pattern"}
    assert {r.request.reason for r in plan.rows} == {"stock-out"}
    assert all(r.request.items == () for r in plan.rows)


def test_identifier_lines_need_provider_and_reason_and_report_each_line() -> None:
    plan = parse_batch("A\nB\n")
    assert plan.rows == []
    assert [e.line_no for e in plan.errors] == [1, 2]
    assert "--provider" in plan.errors[0].message
    plan = parse_batch("A\n", provider="pattern")
    assert "reason is required" in plan.errors[0].message


def test_unknown_default_provider_is_a_usage_error() -> None:
    with pytest.raises(InvalidInput, match="unknown provider 'amazon'"):
        parse_batch("A\n", provider="amazon", reason="x")


def test_csv_rows_per_provider_with_items_and_defaults() -> None:
    text = (
        "\ufeff# exported 2026-11-23\n"
        "order_id , Provider,items,reason\n"
        "670e58fe7741035996cf7d20,ordermesh,670e58fe7741035996cf7e01=2;670e58fe7741035996cf7e02,"
        "Duplicate import\n"
        "\n"
        "114-3941689-8772232,pattern,,\n"
        '1004,,,"stock, out"\n'
        "72544,RXUNIVERSE,,1\n"
    )
    plan = parse_batch(text.removeprefix("\ufeff"), provider="shoplazza", reason="default why")
    assert plan.format == "csv"
    assert plan.errors == []
    got = [
        (r.line_no, r.request.provider, r.request.order_id, r.request.reason, r.request.items)
        for r in plan.rows
    ]
    assert got == [
        (
            3,
            "ordermesh",
            "670e58fe7741035996cf7d20",
            "Duplicate import",
            (
                ItemSelection(id="670e58fe7741035996cf7e01", quantity=2),
                ItemSelection(id="670e58fe7741035996cf7e02"),
            ),
        ),
        (5, "pattern", "114-3941689-8772232", "default why", ()),
        (6, "shoplazza", "1004", "stock, out", ()),
        (7, "rxuniverse", "72544", "1", ()),
    ]
    assert plan.count_by_provider() == {
        "pattern": 1,
        "ordermesh": 1,
        "shoplazza": 1,
        "rxuniverse": 1,
    }


def test_bad_csv_rows_are_reported_by_line_and_the_rest_kept() -> None:
    text = "\n".join(
        [
            "provider,order_id,reason,items",  # 1
            "pattern,GOOD-1,why,",  # 2
            "amazon,X-1,why,",  # 3 unknown provider
            "pattern,,why,",  # 4 empty identifier
            "ordermesh,OM-1,why,A=0",  # 5 quantity out of range
            "ordermesh,OM-2,why,A=two",  # 6 not a number
            "ordermesh,OM-3,why,A;A=1",  # 7 item twice
            "pattern,GOOD-2,why",  # 8 missing a column
            "pattern,GOOD-3,why,,extra",  # 9 one too many
            "pattern,BAD\x1b[31m,why,",  # 10 control characters
            "pattern,GOOD-4,,",  # 11 no reason and no default
            "pattern,GOOD-1,again,",  # 12 duplicate of line 2
            'pattern,"unterminated,why,',  # 13 broken quoting
            "pattern," + "x" * 129 + ",why,",  # 14 too long
            "# comment",  # 15
            "shoplazza,GOOD-5,why,",  # 16
        ]
    )
    plan = parse_batch(text)
    assert [(r.line_no, r.request.order_id) for r in plan.rows] == [(2, "GOOD-1"), (16, "GOOD-5")]
    errors = {e.line_no: e.message for e in plan.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert "unknown provider 'amazon'" in errors[3]
    assert "identifier is empty" in errors[4]
    assert "between 1 and 1000000" in errors[5]
    assert "whole number" in errors[6]
    assert "listed twice" in errors[7]
    assert "expected 4 columns, found 3" in errors[8]
    assert "found 5" in errors[9]
    assert "control characters" in errors[10]
    assert "reason is required" in errors[11]
    assert "already on line 2" in errors[12]
    assert "longer than 128" in errors[14]
    assert all(isinstance(e, BatchRowError) for e in plan.errors)


def test_header_with_unknown_column_is_refused_whole() -> None:
    with pytest.raises(InvalidInput, match=r"line 2: unknown column 'reson'"):
        parse_batch("# x\nprovider,order_id,reson\npattern,A,why\n")
    with pytest.raises(InvalidInput, match="named twice"):
        parse_batch("order_id,order_id\nA,B\n")


def test_comma_in_an_identifier_line_is_a_bad_row_pointing_at_the_header() -> None:
    plan = parse_batch("A\npattern,B\nC\n", provider="pattern", reason="why")
    assert [r.request.order_id for r in plan.rows] == ["A", "C"]
    assert plan.errors[0].line_no == 2
    assert "provider,order_id,reason,items" in plan.errors[0].message


def test_items_round_trip() -> None:
    items = parse_items(" A=2 ; B ;; C=1 ")
    assert items == (
        ItemSelection(id="A", quantity=2),
        ItemSelection(id="B"),
        ItemSelection(id="C", quantity=1),
    )
    assert format_items(items) == "A=2;B;C=1"
    assert parse_items("") == ()


def test_read_file_strips_a_byte_order_mark_and_refuses_binary(tmp_path: Path) -> None:
    good = tmp_path / "orders.csv"
    good.write_bytes("\ufeffprovider,order_id,reason\npattern,A,why\n".encode())
    plan = read_batch_file(good)
    assert plan.format == "csv"
    assert [r.request.order_id for r in plan.rows] == ["A"]
    binary = tmp_path / "orders.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_batch_file(binary)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_batch_file(tmp_path / "missing.txt")
