"""Where it happened (the 16 cities or out of province) and how severe it is."""

from __future__ import annotations

import pytest

from wagewatch.classifier import facts, places, severity


@pytest.mark.parametrize(
    ("text", "city", "county"),
    [
        ("寿光一个大棚基地欠了我们工钱", "潍坊", "寿光市"),
        ("西海岸新区某工地", "青岛", "黄岛区"),
        ("莱芜的一家钢材市场拖欠工资", "济南", "莱芜区"),
        ("菏泽巨野的五个人在济南长清干活，被欠工资", "济南", "长清区"),  # work place, not home town
        ("我是泰安人，在河北保定一家餐馆打工被欠薪", "out_of_province", None),
        ("西充县城一在建工地上有人爬上塔吊", "out_of_province", None),  # a county elsewhere, via jieba
        ("在迪拜工地打工的老乡说工资被扣", "out_of_province", None),
        ("A construction worker in Qingdao said wages were late", "青岛", None),
        ("平原吧，我们5个人在县城做外墙保温", "德州", "平原县"),  # a Tieba board by short name
        ("枣庄市中区一家面馆拖着工资", "枣庄", "市中区"),
        ("市中区人民检察院提起公诉", "济南", "市中区"),
        ("工资被拖欠了，不知道找谁", None, None),
    ],
)
def test_locate(text: str, city: str | None, county: str | None) -> None:
    place = places.locate(text)
    assert (place.city, place.county) == (city, county)


def test_street_names_and_origins_are_not_places() -> None:
    assert places.locate("青岛的南京路上一家饭店欠我工资").city == "青岛"
    assert places.locate("一个河南口音的老板欠了我一千多").city is None
    assert places.locate("临沂来青岛干了五年装修").city == "青岛"


def test_evidence_is_the_matched_text() -> None:
    place = places.locate("兰陵县某镇中心小学项目拖欠工资")
    assert place.city == "临沂" and place.evidence == "兰陵县" and place.province == "山东"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("帮厨二十天，1600元不给", 1),
        ("我们仨被欠一万五", 2),
        ("十几个人在人社局门口举着欠条", 3),
        ("镇政府办公楼改造，一个工人被欠4万", 3),
        ("百余名员工聚集厂区讨要工资", 4),
        ("工友站在塔吊上说不给钱就跳", 4),
        ("项目拖欠农民工工资120万元", 4),
    ],
)
def test_severity_levels(text: str, level: int) -> None:
    result = severity.score(facts.extract(text))
    assert result.level == level
    assert result.reasons and all(isinstance(r, str) for r in result.reasons)


def test_model_level_raises_only_when_the_facts_are_silent() -> None:
    silent = facts.extract("老板一直拖着不给钱")
    assert severity.score(silent, model_level=4).level == 2  # one level up at most
    assert severity.score(silent, model_level=1).level == 1
    explicit = facts.extract("帮厨二十天，1600元不给")
    assert severity.score(explicit, model_level=3).level == 1


def test_reach_adds_points_not_levels() -> None:
    found = facts.extract("我们仨被欠一万五")
    quiet, loud = severity.score(found, reach=0), severity.score(found, reach=100_000)
    assert quiet.level == loud.level == 2
    assert loud.score > quiet.score and any("传播" in r for r in loud.reasons)
