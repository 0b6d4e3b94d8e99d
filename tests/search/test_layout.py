"""Index layout, mappings, analysis choices and the shipped map positions (no Elasticsearch needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from wagewatch.core.config import ConfigError, load_config
from wagewatch.core.store.models import Lead
from wagewatch.index import places
from wagewatch.index.convert import STAGE_ACKNOWLEDGED, STAGE_CLOSED, STAGE_OPEN, STAGE_OVERDUE, lead_stage
from wagewatch.index.documents import ZH, ZH_SEARCH
from wagewatch.index.layout import field_types, layouts

PLACES_FILE = Path(__file__).resolve().parents[2] / "classifier" / "data" / "shandong_places.yaml"


def test_names_and_aliases():
    layout = layouts("wagewatch", "cjk", ())["incidents"]
    assert layout.alias == "wagewatch-incidents" and layout.write_alias == "wagewatch-incidents-write"
    assert layout.index.startswith("wagewatch-incidents-v1-") and layout.template()["index_patterns"] == [layout.index]
    assert layout.template()["_meta"]["fingerprint"] == layout.fingerprint


def test_analyzer_choice_is_part_of_the_index_identity():
    cjk, ik, smartcn = (layouts("wagewatch", a, ())["posts"] for a in ("cjk", "ik", "smartcn"))
    assert len({cjk.index, ik.index, smartcn.index}) == 3
    analysis = {a.chinese_analyzer: a.body["settings"]["analysis"]["analyzer"] for a in (cjk, ik, smartcn)}
    assert analysis["cjk"][ZH]["filter"] == ["cjk_width", "lowercase", "cjk_bigram"]
    assert analysis["ik"][ZH]["tokenizer"] == "ik_max_word" and analysis["ik"][ZH_SEARCH]["tokenizer"] == "ik_smart"
    assert analysis["smartcn"][ZH]["type"] == "smartcn"


def test_mapping_types():
    posts = field_types("posts")
    assert posts["text"] == "text" and posts["text.std"] == "text"
    assert posts["company.keyword"] == "keyword" and posts["location"] == "geo_point"
    assert posts["seen_at"] == "date" and posts["amount_yuan"] == "double" and posts["workers"] == "integer"
    leads = field_types("leads")
    assert {leads[f] for f in ("open", "closed", "overdue", "acknowledged")} == {"boolean"}
    assert leads["deadline"] == "date" and leads["days_to_close"] == "float" and leads["stage"] == "keyword"
    assert layouts("wagewatch", "cjk", ())["leads"].body["mappings"]["dynamic"] == "strict"


def test_unknown_analyzer_names_file_and_key(config_files):
    config_files.update("settings.yaml", lambda s: s["elasticsearch"].update(chinese_analyzer="jieba"))
    with pytest.raises(ConfigError, match=r"settings.yaml: key 'elasticsearch.chinese_analyzer'"):
        load_config(config_files.root)


def test_every_city_and_county_has_a_position_in_shandong():
    gazetteer = yaml.safe_load(PLACES_FILE.read_text(encoding="utf-8"))["cities"]
    bounds = places.province_bounds()["bounds"]
    (top, left), (bottom, right) = bounds["top_left"], bounds["bottom_right"]
    for city, spec in gazetteer.items():
        for county in [None, *spec["counties"]]:
            point = places.location(city, county)
            assert point is not None, (city, county)
            assert bottom < point["lat"] < top and left < point["lon"] < right, (city, county, point)
    assert places.location("济南", "不存在区") == places.location("济南")
    assert places.location("北京") is None and places.location(None) is None
    assert len(places.all_places()) == 16 + sum(len(s["counties"]) for s in gazetteer.values())


@pytest.mark.parametrize(
    "acknowledged, closed, deadline_hours, expected",
    [
        (False, None, 5, (STAGE_OPEN, False)),
        (True, None, 5, (STAGE_ACKNOWLEDGED, False)),
        (True, None, -1, (STAGE_OVERDUE, True)),
        (True, -3, 5, (STAGE_CLOSED, False)),
        (True, 8, 5, (STAGE_CLOSED, True)),  # closed, but after its deadline
    ],
)
def test_lead_stage(acknowledged, closed, deadline_hours, expected):
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    lead = Lead(
        created_at=now - timedelta(days=1),
        deadline=now + timedelta(hours=deadline_hours),
        acknowledged_at=now - timedelta(hours=20) if acknowledged else None,
        closed_at=now + timedelta(hours=closed) if closed is not None else None,
    )
    assert lead_stage(lead, now) == expected
