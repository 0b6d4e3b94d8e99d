"""Where did it happen? Map place mentions to one of Shandong's 16 cities, or out of province.

The incident's city is where the work is, not where the workers come from, so mentions after
"来自/老家/籍贯" count less than mentions near a work site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from wagewatch.config import SHANDONG_CITIES

DATA = Path(__file__).resolve().parent / "data" / "shandong_places.yaml"
OUT_OF_PROVINCE = "out_of_province"

_ORIGIN_CUE = re.compile(r"(来自|老家|籍贯|户籍|回到?|返回|家住|家在|原籍)[^，。,.!！?？]{0,3}$")
_WORK_CUE = re.compile(r"(在|位于|于|地处)$")


@dataclass(frozen=True)
class PlaceEntry:
    name: str
    city: str | None  # None: outside Shandong
    county: str | None


@dataclass(frozen=True)
class Place:
    province: str | None
    city: str | None
    county: str | None
    evidence: str | None


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, PlaceEntry]:
    """Every recognised place string mapped to its city (and county)."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    ambiguous = set(data["ambiguous_short_forms"])
    entries: dict[str, PlaceEntry] = {}
    for name in data["other_provinces"] + data["other_cities"]:
        entries[name] = PlaceEntry(name, None, None)
    for city, spec in data["cities"].items():
        for county in spec["counties"]:
            entries.setdefault(county, PlaceEntry(county, city, county))
            short = county[:-1]
            if len(short) >= 2 and short not in ambiguous:
                entries.setdefault(short, PlaceEntry(short, city, county))
        for alias, county in (spec.get("aliases") or {}).items():
            entries[alias] = PlaceEntry(alias, city, county)
    # "市中区" exists in both 济南 and 枣庄: without the city named it stays unresolved.
    entries.pop("市中区", None)
    for city in SHANDONG_CITIES:
        entries[city] = PlaceEntry(city, city, None)
        entries[city + "市"] = PlaceEntry(city + "市", city, None)
    entries["山东"] = PlaceEntry("山东", "", None)
    return entries


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    names = sorted(gazetteer(), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


def locate(text: str) -> Place:
    """The most likely work location named in `text` (already normalised)."""
    scores: dict[str | None, float] = {}
    counties: dict[str, tuple[str, str]] = {}
    evidence: dict[str | None, str] = {}
    order: dict[str | None, int] = {}
    for match in _pattern().finditer(text):
        entry = gazetteer()[match.group()]
        if entry.city == "":  # bare "山东" says the province only
            continue
        before = text[max(0, match.start() - 8): match.start()]
        weight = 0.3 if _ORIGIN_CUE.search(before) else 1.0
        if _WORK_CUE.search(before):
            weight += 0.5
        if entry.county:
            weight += 0.2
            counties.setdefault(entry.city, (entry.county, match.group()))
        key = entry.city
        scores[key] = scores.get(key, 0.0) + weight
        evidence.setdefault(key, match.group())
        order.setdefault(key, match.start())
    if not scores:
        return Place(province="山东" if "山东" in text else None, city=None, county=None, evidence=None)
    best = max(scores, key=lambda k: (scores[k], -order[k]))
    if best is None:
        return Place(province=None, city=OUT_OF_PROVINCE, county=None, evidence=evidence[None])
    county, county_evidence = counties.get(best, (None, None))
    return Place(province="山东", city=best, county=county, evidence=county_evidence or evidence[best])
