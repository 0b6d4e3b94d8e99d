"""Amounts as officers type them on the lead page, and as the page and its activity log show them."""

from __future__ import annotations

import pytest

from wagewatch.ledger.amounts import AmountError, format_yuan, parse_yuan


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("12万", 120_000),
        ("5千", 5_000),
        ("1.2万元", 12_000),
        ("120,000", 120_000),
        ("120000元", 120_000),
        ("8500.5", 8500.5),
        (" 3万 元 ", 30_000),
        ("", None),
    ],
)
def test_amounts_as_officers_write_them(text, yuan):
    assert parse_yuan(text) == yuan


@pytest.mark.parametrize("text", ["三万", "12万5", "-5", "1e5", "万"])
def test_other_text_is_refused_in_chinese(text):
    with pytest.raises(AmountError, match="追回金额应为数字"):
        parse_yuan(text, "追回金额")


def test_amounts_read_in_wan_when_round():
    assert [format_yuan(v) for v in (120_000, 12_500, 12_345.5, 8_500, 12.5)] == [
        "12万元",
        "1.25万元",
        "12,345.50元",
        "8,500元",
        "12.50元",
    ]
