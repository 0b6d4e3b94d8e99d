"""Rules read next to the model: a case's resolution, pretexts of false claims, implausible amounts and
aggregate reports (ceremonies, statistics, policy). Each rule has a Chinese name that the explanation quotes,
so an officer sees which rule fired and on which words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from wagewatch.classifier.facts import Facts, chinese_number

_NOT = r"(?<![未没不尚无])"


class Resolution(StrEnum):
    """Where a real case stands: still owed, being handled by an authority, or paid to the workers."""

    UNRESOLVED = "unresolved"
    HANDLING = "handling"
    RESOLVED = "resolved"


RESOLUTION_NAMES = {Resolution.UNRESOLVED: "未解决", Resolution.HANDLING: "处置中", Resolution.RESOLVED: "已解决"}

_RESOLVED = re.compile(
    rf"{_NOT}(已|已经|均已|全部|足额|如数|顺利)(追回|追讨回|发放|兑付|支付|结清|付清|拿到|领到|到账|到位)"
    rf"|执行到位|{_NOT}(追回|讨回|追讨回|拿回|要回)(了)?[^，。,；;]{{0,8}}(工资|工钱|欠薪|血汗钱|劳动报酬|薪)"
    rf"|(工资|工钱|欠薪|薪水|劳动报酬)[^，。,；;]{{0,6}}{_NOT}(已|已经|均已|全部)[^，。,；;]{{0,4}}(发放|支付|结清|付清|兑付|到账)"
    r"|领到了[^，。,；;]{0,6}(工资|工钱|血汗钱)|拿到了[^，。,；;]{0,6}(工资|工钱|血汗钱|欠薪)|问题(已|得到)(妥善)?(解决|化解)"
)
_HANDLING = re.compile(
    r"已(经)?介入|介入(调查|处理|核查)|正在(核查|调查|处理|协调|办理|跟进)|协调中|调解中|已(经)?立案|立案(调查|侦查)|"
    r"责令[^，。,；;]{0,10}(支付|发放|清偿|整改)|限期(支付|发放|整改|清偿)|已(经)?受理|已(经)?约谈|督促[^，。,；;]{0,8}(支付|发放)|"
    r"刑事拘留|移送(公安|检察)|提起公诉|依法(处理|查处)|已责成|已转交|交办"
)


def resolution(text: str) -> tuple[Resolution, str | None]:
    """The case's status and the words that show it; resolved wins over handling when both appear (a
    follow-up report tells both), and "至今未发放" is not resolved."""
    for status, pattern in ((Resolution.RESOLVED, _RESOLVED), (Resolution.HANDLING, _HANDLING)):
        m = pattern.search(text)
        if m and not re.search(r"(仍|还|至今|依然|尚)[^，。,；;]{0,4}(未|没|不)", text[m.end() : m.end() + 10]):
            return status, m.group()
    return Resolution.UNRESOLVED, None


@dataclass(frozen=True)
class RuleHit:
    rule: str  # a stable key, e.g. "pretext:project_payment"
    name: str  # what the explanation says
    evidence: str  # the words that fired it


PRETEXTS: dict[str, tuple[str, re.Pattern[str]]] = {
    "project_payment": (
        "以讨薪为名讨要工程款",
        re.compile(
            r"以(讨薪|讨要工资|农民工工资|讨要农民工工资|欠薪)(为名|为由|名义)|借(讨薪|农民工)(之名|名义)|"
            r"实为[^，。,；;]{0,6}工程款|(讨要|索要|催讨)[^，。,；;]{0,6}工程款|工程款(纠纷|结算)"
        ),
    ),
    "materials": ("材料款或货款", re.compile(r"材料款|货款|供货款|租赁费|设备租金|机械租赁|建材款")),
    "partnership": ("合伙或投资款", re.compile(r"合伙|投资款|入股|股金|分红|股东")),
    "loan": ("借款", re.compile(r"借款|借钱|借给|民间借贷|高利贷|借条")),
    "compensation": (
        "超出工资的赔偿",
        re.compile(r"赔偿金|误工费|精神损失|伤残赔偿|工伤赔偿|医疗费|营养费|补偿款|赔偿[^，。,；;]{0,4}万"),
    ),
    "already_paid": (
        "工资已结清仍讨要",
        re.compile(
            r"(工资|工钱|劳务费)[^，。,；;]{0,6}(早已|已经|已|均已|全部)[^，。,；;]{0,4}(结清|付清|发放|支付)"
            r"[^。；;]{0,30}(仍|还|却|又|继续|依然)[^，。,；;]{0,8}(讨|要|索|闹|上访|聚集)"
            r"|签字领取|领取了全部工资|不存在(拖欠|欠薪)"
        ),
    ),
    "debunked": (
        "经核实不属实",
        re.compile(
            r"(不属实|系谣言|纯属谣言|虚假信息|编造|捏造|虚构|摆拍|自导自演|虚假诉讼|虚报|冒领|骗取|假扮|冒充|雇佣?[^，。,；;]{0,4}(假|冒))"
        ),
    ),
}


def pretexts(text: str) -> list[RuleHit]:
    """Every pretext rule that fires, in a fixed order."""
    hits = []
    for key, (name, pattern) in PRETEXTS.items():
        m = pattern.search(text)
        if m:
            hits.append(RuleHit(f"pretext:{key}", name, m.group()))
    return hits


_WORKED = re.compile(
    r"(干了|干|做了|上了|打了|工作了|干满|做满|出工)(?P<num>[0-9]+|[一二两三四五六七八九十几半百]+)(?P<more>多|余)?个?(?P<unit>天|日|工|个?月|年)"
)


def plausibility(text: str, found: Facts, max_daily_wage: float, days_per_month: int) -> RuleHit | None:
    """An amount owed larger than the work described could earn: days (or months × `days_per_month`) worked
    times `max_daily_wage` per worker. Fires only when both the duration and the sum are stated."""
    if not found.amount:
        return None
    m = _WORKED.search(text)
    if not m:
        return None
    raw = m.group("num")
    value = 0.5 if raw == "半" else chinese_number(raw)
    if not value:
        return None
    unit = m.group("unit")
    days = value * (days_per_month if unit.endswith("月") else 12 * days_per_month if unit == "年" else 1)
    ceiling = days * max_daily_wage * max(found.workers or 1, 1)
    if found.amount.yuan > ceiling * 1.5:
        return RuleHit(
            "plausibility:amount",
            f"金额与工作量不符（{m.group()}，按日工资上限{max_daily_wage:g}元约{ceiling / 10_000:g}万元，"
            f"所称{found.amount.yuan / 10_000:g}万元）",
            m.group(),
        )
    return None


AGGREGATE = re.compile(
    r"集中(发放|支付)|发放仪式|排队领(取)?工资|工资发放现场|累计(追回|追讨|帮助|为|清欠|兑付)|"
    r"(共|合计|总计)(追回|追讨|帮助|为|清欠|兑付|解决)[^，。,；;]{0,12}(农民工|名|人|万元|亿元)|"
    r"(全市|全省|全县|全区|各地|全国)[^，。,；;]{0,12}(追回|清欠|解决|办结|兑付|化解)|专项行动|部署会|工作会议|"
    r"印发|出台|实施意见|工作方案|以案释法|律师提醒|法律提示"
)


def aggregate(text: str) -> RuleHit | None:
    """A ceremony, statistic, policy or explainer passage: wage words without one concrete case."""
    m = AGGREGATE.search(text)
    return RuleHit("aggregate", "集中发放、统计、政策或普法类报道", m.group()) if m else None
