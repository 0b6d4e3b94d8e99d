"""Where did it happen? Map place mentions to one of Shandong's 16 cities, or out of province.

The incident's city is where the work is, not where the workers come from, so mentions marked as an
origin ("来自临沂", "河南口音", "我是泰安人") do not count, and mentions right after "在/位于" count more.
Places elsewhere come from three sources: provinces and prefecture-level cities in the YAML gazetteer,
other countries, and county-level names (…县/市/区) tagged as places in jieba's dictionary, which covers
the counties of every province without this project keeping a list of 2,800 names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from wagewatch.core.config import SHANDONG_CITIES

DATA = Path(__file__).resolve().parent / "data" / "shandong_places.yaml"
OUT_OF_PROVINCE = "out_of_province"
_MAX_NAME = 12

_ORIGIN_BEFORE = re.compile(r"(来自|老家|籍贯|户籍|回到?|返回|家住|家在|原籍)[^，。,.!！?？]{0,3}$")
_ORIGIN_AFTER = re.compile(r"^(人(?![民社大力员才口工])|籍|口音|话|方言|老乡|老家|小伙|大哥|大姐|媳妇)")
# "河南工人", "四川民工": a province right before the workers says where they are from
_PROVINCE_ORIGIN_AFTER = re.compile(r"^(籍)?(工人|农民工|民工|工友|师傅|打工)")
_STREET_AFTER = re.compile(r"^[东西南北中]?(路|街(?!头)|大街|大道|巷|胡同)")
_WORK_BEFORE = re.compile(r"(在|位于|于|地处|到)$")
_MOVE_BETWEEN = {"来", "到", "去", "来到", "去了"}
# jieba place words that are ordinary nouns, not administrative units
_GENERIC_ENDINGS = (
    "地区",
    "军区",
    "城区",
    "山区",
    "湖区",
    "景区",
    "边区",
    "新区",
    "特区",
    "林区",
    "中心区",
    "无人区",
    "高原区",
    "平原区",
    "老区",
    "苏区",
    "市区",
    "小区",
    "园区",
    "社区",
    "辖区",
    "港区",
    "矿区",
    "牧区",
    "库区",
    "灾区",
    "校区",
    "片区",
    "街区",
    "商区",
    "厂区",
    "营区",
    "东区",
    "西区",
    "南区",
    "北区",
)
_NOT_A_NAME_START = set("各全本该我外邻诸两三四五六七八九十多")


@dataclass(frozen=True)
class PlaceEntry:
    name: str
    city: str | None  # None: outside Shandong; "": the province only
    county: str | None
    weight: float = 1.0
    kind: str = "place"  # "province" for whole provinces elsewhere, whose origin use differs


@dataclass(frozen=True)
class Place:
    province: str | None
    city: str | None
    county: str | None
    evidence: str | None


def _jieba_places() -> list[str]:
    """County-level names (…县/市/区, three characters or more) tagged `ns` in jieba's dictionary."""
    try:
        import jieba
    except ImportError:  # the gazetteer still knows provinces and prefecture-level cities
        return []
    path = Path(jieba.__file__).resolve().parent / "dict.txt"
    names = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "ns":
                name = parts[0]
                if (
                    3 <= len(name) <= _MAX_NAME
                    and name[-1] in "县市区"
                    and not name.endswith(_GENERIC_ENDINGS)
                    and "城市" not in name
                    and "都市" not in name
                    and "兴市" not in name
                    and name[0] not in _NOT_A_NAME_START
                ):
                    names.append(name)
    return names


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, PlaceEntry]:
    """Every recognised place string mapped to its city (and county); Shandong names win any clash."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    ambiguous = set(data["ambiguous_short_forms"])
    shandong: dict[str, PlaceEntry] = {}
    for city, spec in data["cities"].items():
        for county in spec["counties"]:
            shandong.setdefault(county, PlaceEntry(county, city, county, 1.2))
            short = county[:-1]
            if len(short) >= 2 and short not in ambiguous:
                shandong.setdefault(short, PlaceEntry(short, city, county, 1.2))
            elif len(short) >= 2:
                # Tieba boards are named by the short form: "平原吧", "东港吧"
                shandong.setdefault(short + "吧", PlaceEntry(short + "吧", city, county, 1.2))
            # "济南市中区", "青岛市北区": without these the city name would swallow the county's first character
            for prefix in (city, city + "市"):
                shandong.setdefault(prefix + county, PlaceEntry(prefix + county, city, county, 1.2))
        for alias, county in (spec.get("aliases") or {}).items():
            shandong[alias] = PlaceEntry(alias, city, county, 1.2 if county else 1.0)
    for city in SHANDONG_CITIES:
        shandong[city] = PlaceEntry(city, city, None)
        shandong[city + "市"] = PlaceEntry(city + "市", city, None)
    stems = {name.rstrip("县市区") for name in shandong} | ambiguous

    entries: dict[str, PlaceEntry] = {}
    for name in _jieba_places():
        if name[:-1] not in stems and "山东" not in name:
            entries[name] = PlaceEntry(name, None, None, 1.1)
    for name in data["other_provinces"]:
        entries[name] = PlaceEntry(name, None, None, kind="province")
    for name in data["other_cities"]:
        entries[name] = PlaceEntry(name, None, None)
    for name in data["abroad"]:
        # "境外客户", "海外市场": vague words for elsewhere weigh less than a named place
        entries[name] = PlaceEntry(name, None, None, 0.5 if name in ("国外", "海外", "境外") else 1.0)
    entries.update(shandong)
    # "市中区" exists in both 济南 and 枣庄: `locate` decides from the rest of the text.
    entries["市中区"] = PlaceEntry("市中区", "济南", "市中区", 1.2)
    entries["山东"] = PlaceEntry("山东", "", None)
    entries["山东省"] = PlaceEntry("山东省", "", None)
    return entries


@lru_cache(maxsize=1)
def _latin() -> tuple[re.Pattern[str], dict[str, str | None]]:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    table: dict[str, str | None] = {}
    for city, names in (data.get("latin") or {}).items():
        for name in names:
            table[name.lower()] = None if city == OUT_OF_PROVINCE else city
    names = sorted(table, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z])", re.I), table


@dataclass
class _Mention:
    entry: PlaceEntry
    start: int
    end: int


@lru_cache(maxsize=1)
def _lengths_by_prefix() -> dict[str, tuple[int, ...]]:
    """For each two-character start of a place name, the name lengths that begin with it, longest first."""
    lengths: dict[str, set[int]] = {}
    for name in gazetteer():
        lengths.setdefault(name[:2], set()).add(len(name))
    return {prefix: tuple(sorted(found, reverse=True)) for prefix, found in lengths.items()}


def _mentions(text: str) -> list[_Mention]:
    """Leftmost-longest dictionary matches. Most positions start no place name, so one lookup of the next two
    characters skips them; only real candidates try their few possible lengths."""
    table = gazetteer()
    starts = _lengths_by_prefix()
    found: list[_Mention] = []
    i, n = 0, len(text)
    while i < n - 1:
        for length in starts.get(text[i : i + 2], ()):
            entry = table.get(text[i : i + length]) if i + length <= n else None
            if entry is not None:
                found.append(_Mention(entry, i, i + length))
                i += length
                break
        else:
            i += 1
    if any(c.isascii() and c.isalpha() for c in text):
        pattern, latin = _latin()
        for m in pattern.finditer(text):
            city = latin[m.group().lower()]
            found.append(_Mention(PlaceEntry(m.group(), city, None), m.start(), m.end()))
        found.sort(key=lambda m: m.start)
    return found


def locate(text: str) -> Place:
    """The most likely work location named in `text` (already normalised)."""
    mentions = _mentions(text)
    scores: dict[str | None, float] = {}
    counties: dict[str, tuple[str, str]] = {}
    evidence: dict[str | None, str] = {}
    order: dict[str | None, int] = {}
    zaozhuang = "枣庄" in text
    for k, mention in enumerate(mentions):
        entry = mention.entry
        if entry.city == "":  # bare "山东" says the province only
            continue
        if entry.name == "市中区" and zaozhuang:
            entry = PlaceEntry(entry.name, "枣庄", "市中区", entry.weight)
        before = text[max(0, mention.start - 8) : mention.start]
        after = text[mention.end : mention.end + 6]
        if _STREET_AFTER.match(after) or _ORIGIN_AFTER.match(after) or _ORIGIN_BEFORE.search(before):
            continue
        if entry.kind == "province" and _PROVINCE_ORIGIN_AFTER.match(after) and not _WORK_BEFORE.search(before):
            continue
        following = mentions[k + 1] if k + 1 < len(mentions) else None
        if following and text[mention.end : following.start] in _MOVE_BETWEEN:
            continue  # "临沂来青岛干活": the first place is where they came from
        weight = entry.weight + (0.5 if _WORK_BEFORE.search(before) else 0.0)
        key = entry.city
        scores[key] = scores.get(key, 0.0) + weight
        if entry.county and key:
            counties.setdefault(key, (entry.county, entry.name))
        evidence.setdefault(key, entry.name)
        order.setdefault(key, mention.start)
    if not scores:
        return Place(province="山东" if "山东" in text else None, city=None, county=None, evidence=None)
    best = max(scores, key=lambda k: (scores[k], -order[k]))
    if best is None:
        return Place(province=None, city=OUT_OF_PROVINCE, county=None, evidence=evidence[None])
    county, county_evidence = counties.get(best, (None, None))
    return Place(province="山东", city=best, county=county, evidence=county_evidence or evidence[best])
