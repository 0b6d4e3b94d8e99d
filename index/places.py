"""Map positions of Shandong's cities and counties, shipped in data/centroids.yaml (no online map service)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CENTROIDS_FILE = Path(__file__).resolve().parent / "data" / "centroids.yaml"


@dataclass(frozen=True)
class Place:
    name: str
    level: str  # city|county
    city: str
    county: str | None
    lat: float
    lon: float

    @property
    def location(self) -> dict[str, float]:
        return {"lat": self.lat, "lon": self.lon}


@lru_cache(maxsize=1)
def _load() -> dict:
    return yaml.safe_load(CENTROIDS_FILE.read_text(encoding="utf-8"))


def all_places() -> list[Place]:
    """Every city, then its counties, in file order."""
    places = []
    for city, spec in _load()["cities"].items():
        places.append(Place(city, "city", city, None, *spec["center"]))
        places.extend(Place(county, "county", city, county, *point) for county, point in spec["counties"].items())
    return places


def province_bounds() -> dict:
    """The province's bounding box and centre, for the initial view of a map."""
    return _load()["province"]


def location(city: str | None, county: str | None = None) -> dict[str, float] | None:
    """The county's centre when known, else the city's; None outside Shandong or when unplaced."""
    spec = _load()["cities"].get(city or "")
    if spec is None:
        return None
    lat, lon = spec["counties"].get(county or "", spec["center"])
    return {"lat": lat, "lon": lon}
