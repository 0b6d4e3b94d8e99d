"""Kibana 8 saved objects (data views, Lens charts, a map, saved searches, dashboards), built in code so
every field they use comes from one place and can be checked against the mappings.

`wagewatch kibana export index/kibana` writes them as the NDJSON files shipped in this folder;
`wagewatch kibana setup` builds them for the configured index prefix and imports them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wagewatch.index.documents import KINDS
from wagewatch.index.places import province_bounds

CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {
    "index-pattern": "8.0.0",
    "search": "8.0.0",
    "lens": "8.9.0",
    "map": "8.4.0",
    "dashboard": "8.9.0",
}
RECORDS = "___records___"  # Lens's name for "count of documents"
LAYER = "layer1"

DATA_VIEW_NAMES = {"incidents": "欠薪事件", "posts": "网络帖文", "leads": "处置台账", "places": "山东地市区县"}
FIELD_LABELS = {
    "incident_id": "线索编号",  # the one case number of alerts, the officers' page and the reports
    "label_name": "研判结果",
    "severity": "严重等级",
    "severity_name": "严重程度",
    "city": "地市",
    "county": "区县",
    "company": "涉事企业",
    "project": "涉事项目",
    "project_type_name": "项目类型",
    "amount_yuan": "涉及金额（元）",
    "workers": "涉及人数",
    "title": "标题",
    "text": "内容",
    "first_seen": "首次发现",
    "last_seen": "最近发现",
    "post_count": "帖文数",
    "reach": "传播量",
    "source": "来源",
    "seen_at": "发布时间",
    "lead_stage": "处置阶段",
    "stage": "处置阶段",
    "status": "台账状态",
    "deadline": "办结时限",
    "created_at": "交办时间",
    "closed_at": "办结时间",
    "officer_id": "责任人",
    "days_to_close": "办结用时（天）",
    "overdue": "是否逾期",
    "kind_name": "线索类型",
    "escalation_level": "升级层级",
    "author": "作者",
    "name": "名称",
}


@dataclass(frozen=True)
class Ids:
    """Saved-object ids carry the index prefix, so two deployments can share one Kibana."""

    prefix: str

    def data_view(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def of(self, name: str) -> str:
        return f"{self.prefix}-{name}"


def _object(type_: str, id_: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "type": type_,
        "id": id_,
        "attributes": attributes,
        "references": references,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[type_],
        "managed": False,
    }


def data_view(ids: Ids, kind: str) -> dict[str, Any]:
    fields = KINDS[kind]._doc_type.mapping.to_dict()["properties"]
    attrs = {name: {"customLabel": label} for name, label in FIELD_LABELS.items() if name in fields}
    attributes = {
        "title": ids.data_view(kind),
        "name": DATA_VIEW_NAMES[kind],
        "fieldAttrs": json.dumps(attrs, ensure_ascii=False, sort_keys=True),
    }
    if KINDS[kind].TIME_FIELD:
        attributes["timeFieldName"] = KINDS[kind].TIME_FIELD
    return _object("index-pattern", ids.data_view(kind), attributes, [])


# ---------------------------------------------------------------- Lens


def _count(label: str = "数量", kql: str | None = None) -> dict[str, Any]:
    column: dict[str, Any] = {
        "label": label,
        "dataType": "number",
        "operationType": "count",
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": RECORDS,
        "params": {"emptyAsNull": False},
    }
    if kql:
        column["filter"] = {"query": kql, "language": "kuery"}
    return column


def _metric(operation: str, field: str, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "number",
        "operationType": operation,
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": field,
        "params": {"emptyAsNull": True},
    }


def _terms(field: str, label: str, size: int, order_by: str = "m") -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "string",
        "operationType": "terms",
        "isBucketed": True,
        "scale": "ordinal",
        "sourceField": field,
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": order_by},
            "orderDirection": "desc",
            "otherBucket": False,
            "missingBucket": False,
        },
    }


def _date(field: str, label: str = "日期", interval: str = "d") -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "date",
        "operationType": "date_histogram",
        "isBucketed": True,
        "scale": "interval",
        "sourceField": field,
        "params": {"interval": interval, "includeEmptyRows": True, "dropPartials": False},
    }


def lens(
    ids: Ids,
    name: str,
    title: str,
    kind: str,
    visualization_type: str,
    columns: dict[str, dict[str, Any]],
    visualization: dict[str, Any],
    kql: str = "",
) -> dict[str, Any]:
    """One Lens chart over one data view; `columns` keeps its order as the layer's column order."""
    state = {
        "datasourceStates": {
            "formBased": {
                "layers": {LAYER: {"columns": columns, "columnOrder": list(columns), "incompleteColumns": {}}}
            }
        },
        "visualization": visualization,
        "query": {"query": kql, "language": "kuery"},
        "filters": [],
        "internalReferences": [],
        "adHocDataViews": {},
    }
    references = [
        {"type": "index-pattern", "id": ids.data_view(kind), "name": f"indexpattern-datasource-layer-{LAYER}"}
    ]
    return _object(
        "lens",
        ids.of(f"lens-{name}"),
        {"title": title, "description": "", "visualizationType": visualization_type, "state": state},
        references,
    )


def metric_chart(ids: Ids, name: str, title: str, kind: str, column: dict[str, Any], kql: str = "") -> dict[str, Any]:
    return lens(
        ids,
        name,
        title,
        kind,
        "lnsMetric",
        {"m": column},
        {"layerId": LAYER, "layerType": "data", "metricAccessor": "m"},
        kql,
    )


def bar_chart(
    ids: Ids,
    name: str,
    title: str,
    kind: str,
    x: dict[str, Any],
    y: dict[str, Any],
    *,
    split: dict[str, Any] | None = None,
    series: str = "bar",
    kql: str = "",
) -> dict[str, Any]:
    columns = {"x": x} | ({"s": split} if split else {}) | {"m": y}  # buckets first: Lens nests them in order
    layer = {"layerId": LAYER, "layerType": "data", "seriesType": series, "xAccessor": "x", "accessors": ["m"]}
    if split:
        layer["splitAccessor"] = "s"
    visualization = {
        "preferredSeriesType": series,
        "layers": [layer],
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
    }
    return lens(ids, name, title, kind, "lnsXY", columns, visualization, kql)


def pie_chart(ids: Ids, name: str, title: str, kind: str, group: dict[str, Any], kql: str = "") -> dict[str, Any]:
    visualization = {
        "shape": "donut",
        "layers": [
            {
                "layerId": LAYER,
                "layerType": "data",
                "primaryGroups": ["g"],
                "metrics": ["m"],
                "numberDisplay": "percent",
                "categoryDisplay": "default",
                "legendDisplay": "default",
            }
        ],
    }
    return lens(ids, name, title, kind, "lnsPie", {"g": group, "m": _count()}, visualization, kql)


# ---------------------------------------------------------------- map


def shandong_map(ids: Ids) -> dict[str, Any]:
    """Incidents by place over labelled city centres; no online base map, so it works on closed networks."""
    bounds = province_bounds()
    places_layer = {
        "id": "places",
        "label": "山东地市",
        "type": "GEOJSON_VECTOR",
        "visible": True,
        "alpha": 1,
        "minZoom": 0,
        "maxZoom": 24,
        "includeInFitToBounds": True,
        "sourceDescriptor": {
            "type": "ES_SEARCH",
            "id": "places-source",
            "geoField": "location",
            "indexPatternRefName": "layer_0_source_index_pattern",
            "scalingType": "LIMIT",
            "tooltipProperties": ["name", "city"],
            "applyGlobalQuery": False,
            "applyGlobalTime": False,
            "filterByMapBounds": False,
            "sortField": "",
            "sortOrder": "desc",
            "topHitsSplitField": "",
            "topHitsSize": 1,
        },
        "style": {
            "type": "VECTOR",
            "isTimeAware": False,
            "properties": {
                "labelText": {"type": "DYNAMIC", "options": {"field": {"name": "name", "origin": "source"}}},
                "fillColor": {"type": "STATIC", "options": {"color": "#54B399"}},
                "iconSize": {"type": "STATIC", "options": {"size": 4}},
            },
        },
        "query": {"query": "level:city", "language": "kuery"},
    }
    incidents_layer = {
        "id": "incidents",
        "label": "欠薪事件",
        "type": "GEOJSON_VECTOR",
        "visible": True,
        "alpha": 0.8,
        "minZoom": 0,
        "maxZoom": 24,
        "includeInFitToBounds": True,
        "sourceDescriptor": {
            "type": "ES_GEO_GRID",
            "id": "incidents-source",
            "geoField": "location",
            "indexPatternRefName": "layer_1_source_index_pattern",
            "requestType": "point",
            "resolution": "COARSE",
            "metrics": [{"type": "count", "label": "事件数"}],
            "applyGlobalQuery": True,
            "applyGlobalTime": True,
        },
        "style": {
            "type": "VECTOR",
            "isTimeAware": True,
            "properties": {
                "fillColor": {
                    "type": "DYNAMIC",
                    "options": {
                        "field": {"name": "doc_count", "origin": "source"},
                        "color": "Yellow to Red",
                        "type": "ORDINAL",
                    },
                },
                "iconSize": {
                    "type": "DYNAMIC",
                    "options": {"field": {"name": "doc_count", "origin": "source"}, "minSize": 6, "maxSize": 32},
                },
                "labelText": {"type": "DYNAMIC", "options": {"field": {"name": "doc_count", "origin": "source"}}},
            },
        },
        "query": {"query": "label:real", "language": "kuery"},
    }
    center = {"lat": bounds["center"][0], "lon": bounds["center"][1]}
    map_state = {
        "zoom": 6.3,
        "center": center,
        "timeFilters": {"from": "now-30d", "to": "now"},
        "refreshConfig": {"isPaused": True, "interval": 0},
        "query": {"query": "", "language": "kuery"},
        "filters": [],
        "settings": {
            "autoFitToDataBounds": False,
            "initialLocation": "LAST_SAVED_LOCATION",
            "showSpatialFilters": True,
            "browserLocation": {"zoom": 2},
        },
    }
    references = [
        {"type": "index-pattern", "id": ids.data_view("places"), "name": "layer_0_source_index_pattern"},
        {"type": "index-pattern", "id": ids.data_view("incidents"), "name": "layer_1_source_index_pattern"},
    ]
    return _object(
        "map",
        ids.of("map-shandong"),
        {
            "title": "山东省欠薪事件分布图",
            "description": "按事件所在地市、区县中心点汇总（离线可用，不依赖在线底图）",
            "layerListJSON": json.dumps([places_layer, incidents_layer], ensure_ascii=False),
            "mapStateJSON": json.dumps(map_state, ensure_ascii=False),
            "uiStateJSON": json.dumps({"isLayerTOCOpen": True}),
        },
        references,
    )


# ---------------------------------------------------------------- saved searches


def saved_search(
    ids: Ids, name: str, title: str, kind: str, kql: str, columns: list[str], sort_field: str, description: str
) -> dict[str, Any]:
    source = {
        "query": {"query": kql, "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    return _object(
        "search",
        ids.of(f"search-{name}"),
        {
            "title": title,
            "description": description,
            "columns": columns,
            "sort": [[sort_field, "desc"]],
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source, ensure_ascii=False)},
        },
        [{"type": "index-pattern", "id": ids.data_view(kind), "name": "kibanaSavedObjectMeta.searchSourceJSON.index"}],
    )


def saved_searches(ids: Ids) -> list[dict[str, Any]]:
    case_columns = ["title", "city", "county", "severity_name", "company", "project", "lead_stage"]
    return [
        saved_search(
            ids,
            "new-real",
            "新发现的真实欠薪",
            "incidents",
            "label:real",
            case_columns,
            "first_seen",
            "研判为真实欠薪的事件，最新发现的在前",
        ),
        saved_search(
            ids,
            "major",
            "重大及以上",
            "incidents",
            "label:real and severity >= 3",
            case_columns,
            "first_seen",
            "严重程度为重大或特别重大的欠薪事件",
        ),
        saved_search(
            ids,
            "overdue",
            "逾期未办结",
            "leads",
            "open:true and overdue:true",
            ["title", "city", "officer_id", "status", "deadline", "escalation_level"],
            "deadline",
            "已过办结时限仍未办结的台账线索",
        ),
        saved_search(
            ids,
            "false-claims",
            "虚假讨薪",
            "incidents",
            "label:false",
            ["title", "city", "county", "company", "post_count", "lead_stage"],
            "first_seen",
            "研判为虚假讨薪、需澄清事实的事件",
        ),
    ]


# ---------------------------------------------------------------- dashboards


def dashboard(
    ids: Ids, name: str, title: str, description: str, panels: list[tuple[dict[str, Any], tuple[int, int, int, int]]]
) -> dict[str, Any]:
    """`panels`: (saved object, (x, y, w, h)) on Kibana's 48-column grid."""
    panel_list, references = [], []
    for number, (saved, (x, y, w, h)) in enumerate(panels, start=1):
        key = f"p{number}"
        panel_list.append(
            {
                "type": saved["type"],
                "panelIndex": key,
                "panelRefName": f"panel_{key}",
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": key},
                "embeddableConfig": {},
            }
        )
        references.append({"type": saved["type"], "id": saved["id"], "name": f"panel_{key}"})
    source = {"query": {"query": "", "language": "kuery"}, "filter": []}
    return _object(
        "dashboard",
        ids.of(f"dashboard-{name}"),
        {
            "title": title,
            "description": description,
            "timeRestore": True,
            "timeFrom": "now-30d",
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 300000},
            "optionsJSON": json.dumps(
                {"useMargins": True, "syncColors": True, "syncTooltips": True, "hidePanelTitles": False}
            ),
            "panelsJSON": json.dumps(panel_list, ensure_ascii=False),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
        },
        references,
    )


def build_objects(prefix: str = "wagewatch") -> list[dict[str, Any]]:
    """Every saved object, referenced objects before the objects that use them."""
    ids = Ids(prefix)
    views = [data_view(ids, kind) for kind in ("incidents", "posts", "leads", "places")]
    searches = {s["attributes"]["title"]: s for s in saved_searches(ids)}
    overview = [
        metric_chart(ids, "real-count", "真实欠薪事件", "incidents", _count("事件数"), "label:real"),
        metric_chart(
            ids, "major-count", "重大及以上事件", "incidents", _count("事件数"), "label:real and severity >= 3"
        ),
        metric_chart(
            ids, "workers-sum", "涉及农民工人数", "incidents", _metric("sum", "workers", "人数"), "label:real"
        ),
        metric_chart(
            ids, "amount-sum", "涉及金额（元）", "incidents", _metric("sum", "amount_yuan", "金额"), "label:real"
        ),
        bar_chart(
            ids,
            "incidents-by-city",
            "各地市欠薪事件",
            "incidents",
            _terms("city", "地市", 16),
            _count("事件数"),
            split=_terms("label_name", "研判结果", 3),
            series="bar_stacked",
        ),
        bar_chart(
            ids,
            "incidents-by-day",
            "每日新发现事件",
            "incidents",
            _date("first_seen"),
            _count("事件数"),
            split=_terms("label_name", "研判结果", 3),
            series="line",
        ),
        pie_chart(
            ids, "severity-mix", "严重程度构成", "incidents", _terms("severity_name", "严重程度", 4), "label:real"
        ),
        bar_chart(
            ids,
            "top-companies",
            "涉事企业 Top 10",
            "incidents",
            _terms("company.keyword", "企业", 10),
            _count("事件数"),
            series="bar_horizontal",
            kql="label:real",
        ),
        bar_chart(
            ids,
            "top-projects",
            "涉事项目 Top 10",
            "incidents",
            _terms("project.keyword", "项目", 10),
            _count("事件数"),
            series="bar_horizontal",
            kql="label:real",
        ),
        pie_chart(ids, "post-sources", "信息来源", "posts", _terms("source", "来源", 10), "analyzed:true"),
    ]
    ledger = [
        metric_chart(ids, "open-leads", "未办结线索（动态清零）", "leads", _count("线索数"), "open:true"),
        metric_chart(ids, "overdue-leads", "逾期未办结", "leads", _count("线索数"), "open:true and overdue:true"),
        metric_chart(
            ids,
            "avg-days-to-close",
            "平均办结用时（天）",
            "leads",
            _metric("average", "days_to_close", "天数"),
            "closed:true",
        ),
        bar_chart(
            ids,
            "leads-by-city-stage",
            "各地市线索处置情况",
            "leads",
            _terms("city", "地市", 16),
            _count("线索数"),
            split=_terms("stage", "处置阶段", 4),
            series="bar_stacked",
        ),
        bar_chart(
            ids,
            "days-to-close-by-city",
            "各地市平均办结用时（天）",
            "leads",
            _terms("city", "地市", 16),
            _metric("average", "days_to_close", "天数"),
            kql="closed:true",
        ),
        bar_chart(
            ids,
            "leads-by-day",
            "每日交办线索",
            "leads",
            _date("created_at"),
            _count("线索数"),
            split=_terms("stage", "处置阶段", 4),
            series="bar_stacked",
        ),
    ]
    clarify = [
        metric_chart(ids, "false-count", "虚假讨薪事件", "incidents", _count("事件数"), "label:false"),
        metric_chart(ids, "clarify-open", "待澄清线索", "leads", _count("线索数"), "kind:clarify and open:true"),
        bar_chart(
            ids,
            "false-by-city",
            "各地市虚假讨薪",
            "incidents",
            _terms("city", "地市", 16),
            _count("事件数"),
            kql="label:false",
        ),
        bar_chart(
            ids,
            "false-by-day",
            "虚假讨薪趋势",
            "incidents",
            _date("first_seen"),
            _count("事件数"),
            series="line",
            kql="label:false",
        ),
        bar_chart(
            ids,
            "clarify-by-stage",
            "澄清线索处置情况",
            "leads",
            _terms("city", "地市", 16),
            _count("线索数"),
            split=_terms("stage", "处置阶段", 4),
            series="bar_stacked",
            kql="kind:clarify",
        ),
    ]
    the_map = shandong_map(ids)
    dashboards = [
        dashboard(
            ids,
            "overview",
            "欠薪舆情总览",
            "全省欠薪网络舆情：分布、趋势、严重程度、涉事企业与项目、信息来源",
            [
                (overview[0], (0, 0, 12, 6)),
                (overview[1], (12, 0, 12, 6)),
                (overview[2], (24, 0, 12, 6)),
                (overview[3], (36, 0, 12, 6)),
                (the_map, (0, 6, 24, 18)),
                (overview[4], (24, 6, 24, 18)),
                (overview[5], (0, 24, 32, 12)),
                (overview[6], (32, 24, 16, 12)),
                (overview[7], (0, 36, 18, 14)),
                (overview[8], (18, 36, 18, 14)),
                (overview[9], (36, 36, 12, 14)),
                (searches["新发现的真实欠薪"], (0, 50, 48, 14)),
            ],
        ),
        dashboard(
            ids,
            "ledger",
            "台账与处置",
            "线索台账：各地市待签收、已签收、逾期与办结情况，办结用时与动态清零",
            [
                (ledger[0], (0, 0, 16, 6)),
                (ledger[1], (16, 0, 16, 6)),
                (ledger[2], (32, 0, 16, 6)),
                (ledger[3], (0, 6, 28, 16)),
                (ledger[4], (28, 6, 20, 16)),
                (ledger[5], (0, 22, 48, 12)),
                (searches["逾期未办结"], (0, 34, 48, 14)),
            ],
        ),
        dashboard(
            ids,
            "false-claims",
            "虚假讨薪与澄清",
            "研判为虚假讨薪的舆情及澄清处置情况",
            [
                (clarify[0], (0, 0, 24, 6)),
                (clarify[1], (24, 0, 24, 6)),
                (clarify[2], (0, 6, 24, 14)),
                (clarify[3], (24, 6, 24, 14)),
                (clarify[4], (0, 20, 48, 12)),
                (searches["虚假讨薪"], (0, 32, 48, 14)),
            ],
        ),
    ]
    return [*views, *searches.values(), *overview, *ledger, *clarify, the_map, *dashboards]


ASSET_FILES = {
    "data-views.ndjson": ("index-pattern",),
    "saved-searches.ndjson": ("search",),
    "dashboards.ndjson": ("lens", "map", "dashboard"),
}


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objects)


def write_ndjson(directory: Path, prefix: str = "wagewatch") -> list[Path]:
    """Write the objects, grouped by file, in import order."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = build_objects(prefix)
    written = []
    for name, types in ASSET_FILES.items():
        path = directory / name
        path.write_text(to_ndjson([o for o in objects if o["type"] in types]), encoding="utf-8")
        written.append(path)
    return written
