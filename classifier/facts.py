"""Fact extraction: amounts, headcounts, employer, project, project type and escalation signals."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}

_NUM = r"[0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千]+"
_AMOUNT = re.compile(
    rf"(?P<num>{_NUM})(?P<approx>多|余|几)?(?P<big>[万亿])?(?P<rest>[0-9一二三四五六七八九千]{{0,2}})?"
    rf"(?P<approx2>多|余)?(?P<unit>元|块钱|块)"
    rf"|(?P<num2>{_NUM})(?P<approx3>多|余|几)?(?P<big2>[万亿])(?P<approx4>多|余)?(?![人名个位户])"
)
_WORKERS = re.compile(
    rf"(?P<num>{_NUM})(?P<approx>多|余|几)?(?:个|名|位)?(?P<who>农民工|工人|民工|员工|工友|兄弟|人|名|位)"
)
_MONTHS = re.compile(rf"(?P<num>{_NUM})(?:多|余|个)*月")
_COMPANY = re.compile(r"([\u4e00-\u9fa5A-Za-z0-9（）()]{2,24}?(?:有限责任公司|股份有限公司|有限公司|集团|公司|工程处|项目部|建筑队|劳务队))")
_PROJECT = re.compile(r"([\u4e00-\u9fa5A-Za-z0-9#号期]{2,24}?(?:项目|工程|工地|小区|楼盘|大厦|广场|花园|学校|医院|道路|大桥|安置房))")

EXTREME_CUES = ("跳楼", "要跳", "爬上塔吊", "塔吊上", "爬塔吊", "上了塔吊", "爬上楼顶", "楼顶", "自残", "自杀", "割腕",
                "喝农药", "堵路", "拦路", "堵住道路", "围堵", "打人", "殴打", "被打", "持刀", "轻生", "爬上高压", "铁塔")
GROUP_CUES = ("拉横幅", "横幅", "聚集", "上访", "信访", "集体", "围堵", "静坐", "市政府门口", "政府门前", "讨说法")
GOVERNMENT_CUES = ("政府投资", "市政", "财政", "公立", "学校", "医院", "安置房", "保障房", "棚改", "道路", "桥梁",
                   "污水", "管网", "政府工程", "街道办", "城投", "水利")
SOE_CUES = ("国企", "央企", "中建", "中铁", "中交", "中冶", "中国电建", "中国铁建", "中化", "国有", "城建集团", "高速集团")
REAL_ESTATE_CUES = ("楼盘", "小区", "房地产", "地产", "置业", "开发商", "售楼")
FACTORY_CUES = ("工厂", "厂里", "车间", "厂子", "纺织", "服装厂", "电子厂", "化工厂", "加工厂", "厂房")


def chinese_number(text: str) -> float | None:
    """'8' -> 8, '3.5' -> 3.5, '三十' -> 30, '一百二十' -> 120, '十几' handled by callers."""
    if not text:
        return None
    if text[0].isdigit():
        return float(text)
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        else:
            return None
    return float(total + current)


@dataclass
class Amount:
    yuan: float
    approximate: bool
    evidence: str


@dataclass
class Facts:
    amount: Amount | None = None
    workers: int | None = None
    months_unpaid: int | None = None
    company: str | None = None
    project: str | None = None
    project_type: str | None = None
    extreme_signals: list[str] = field(default_factory=list)
    group_signals: list[str] = field(default_factory=list)

    @property
    def extreme(self) -> bool:
        return bool(self.extreme_signals)


def _amount_from_match(m: re.Match[str]) -> Amount | None:
    num = m.group("num") or m.group("num2")
    value = chinese_number(num)
    if value is None:
        return None
    big = m.group("big") or m.group("big2")
    approx = bool(m.group("approx") or m.group("approx2") or (m.groupdict().get("approx3")) or m.group("approx4"))
    if big:
        value *= _BIG[big]
        rest = m.group("rest")
        if rest:  # "8万3" = 83,000; "8万3千" = 83,000
            tail = chinese_number(rest.rstrip("千")) or 0
            value += tail * (1000 if rest.endswith("千") or len(rest) == 1 else 1)
    return Amount(yuan=value, approximate=approx, evidence=m.group())


def extract_amount(text: str) -> Amount | None:
    """The largest stated sum in yuan: wage totals are usually the biggest number in the text."""
    found = [a for m in _AMOUNT.finditer(text) if (a := _amount_from_match(m)) and a.yuan >= 50]
    return max(found, key=lambda a: a.yuan) if found else None


def extract_workers(text: str) -> int | None:
    best = None
    for m in _WORKERS.finditer(text):
        value = chinese_number(m.group("num"))
        if value is None or value < 1 or value > 100_000:
            continue
        if m.group("who") in ("人", "名", "位") and value > 5000:
            continue
        best = max(best or 0, int(value))
    return best


def extract_months(text: str) -> int | None:
    values = [chinese_number(m.group("num")) for m in _MONTHS.finditer(text)]
    values = [v for v in values if v and v <= 120]
    return int(max(values)) if values else None


def project_type(text: str) -> str | None:
    for kind, cues in (("soe", SOE_CUES), ("government", GOVERNMENT_CUES), ("real_estate", REAL_ESTATE_CUES),
                       ("factory", FACTORY_CUES)):
        if any(cue in text for cue in cues):
            return kind
    if re.search(r"装修|饭店|餐馆|物流|快递|外卖|家政|保洁|物业|农场|养殖", text):
        return "other"
    return None


def extract(text: str) -> Facts:
    company = _COMPANY.search(text)
    project = _PROJECT.search(text)
    return Facts(
        amount=extract_amount(text),
        workers=extract_workers(text),
        months_unpaid=extract_months(text),
        company=company.group(1) if company else None,
        project=project.group(1) if project else None,
        project_type=project_type(text),
        extreme_signals=[c for c in EXTREME_CUES if c in text],
        group_signals=[c for c in GROUP_CUES if c in text],
    )
