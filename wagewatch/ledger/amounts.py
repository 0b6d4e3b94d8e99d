"""Money as officers type it and read it: “12万”, “5千”, “1.2万元”, “12,000” in; “12万元” / “8500元” out."""

from __future__ import annotations

import re
from decimal import Decimal

UNITS = {"": 1, "十": 10, "百": 100, "千": 1_000, "k": 1_000, "万": 10_000, "w": 10_000, "亿": 100_000_000}
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(十|百|千|k|万|w|亿)?\s*(?:元|块|块钱)?", re.IGNORECASE)


class AmountError(ValueError):
    """Text that is not an amount of money; the message is Chinese."""


def parse_yuan(text: str, label: str = "金额") -> float | None:
    """The amount in yuan, or None for an empty field. Refuses anything else with a Chinese message."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "").replace(" ", "")
    if not cleaned:
        return None
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise AmountError(f"{label}应为数字，可写作 120000、12万、5千或1.2万元：{cleaned[:20]}")
    return float(Decimal(match[1]) * UNITS[(match[2] or "").lower()])


def format_yuan(value: float) -> str:
    """12万元 / 1.25万元 from ten thousand up when whole hundreds, otherwise 8500元 or 12,345.50元."""
    if value >= 10_000 and value % 100 == 0:
        return f"{value / 10_000:g}万元"
    return f"{value:,.0f}元" if value == int(value) else f"{value:,.2f}元"
