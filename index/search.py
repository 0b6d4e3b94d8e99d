"""Search without Kibana: the function behind `wagewatch search` and the API's search endpoint.

User text only ever reaches Elasticsearch inside match and match_phrase queries, which take it as plain
text: `city:济南 OR *` is searched for as those characters, never parsed as query syntax.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from elasticsearch import Elasticsearch
from elasticsearch.dsl import Q, Search
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wagewatch.index.documents import KINDS

Kind = Literal["incidents", "posts", "leads"]
MAX_WINDOW = 10_000  # Elasticsearch's default index.max_result_window

TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "posts": ("title", "text", "company", "project"),
    "incidents": ("title", "text", "company", "project"),
    "leads": ("title", "company", "project"),
}
STATUS_FIELD = {"incidents": "lead_status", "leads": "status"}
SHOWN_FIELDS: dict[str, tuple[str, ...]] = {
    "posts": (
        "post_id",
        "source",
        "url",
        "title",
        "author",
        "seen_at",
        "label_name",
        "severity",
        "city",
        "county",
        "company",
        "project",
        "incident_id",
    ),
    "incidents": (
        "incident_id",
        "title",
        "label_name",
        "severity",
        "severity_name",
        "city",
        "county",
        "company",
        "project",
        "project_type_name",
        "amount_yuan",
        "workers",
        "post_count",
        "first_seen",
        "last_seen",
        "lead_status",
        "lead_stage",
    ),
    "leads": (
        "lead_id",
        "incident_id",
        "title",
        "city",
        "officer_id",
        "kind_name",
        "status",
        "stage",
        "deadline",
        "created_at",
        "closed_at",
        "overdue",
        "severity",
        "company",
    ),
}


class SearchQuery(BaseModel):
    """What a user may ask for; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = "incidents"
    text: str | None = Field(None, max_length=200)
    city: list[str] = Field(default_factory=list)
    county: list[str] = Field(default_factory=list)
    label: list[Literal["real", "false", "irrelevant"]] = Field(default_factory=list)
    severity: list[int] = Field(default_factory=list)
    min_severity: int | None = Field(None, ge=1, le=4)
    status: list[str] = Field(default_factory=list)
    project_type: list[str] = Field(default_factory=list)
    company: str | None = Field(None, max_length=100)
    since: datetime | None = None
    until: datetime | None = None
    sort: Literal["time", "severity", "relevance"] = "time"
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=1, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> SearchQuery:
        if self.status and self.kind not in STATUS_FIELD:
            raise ValueError("status 筛选仅适用于事件和台账 / the status filter applies to incidents and leads only")
        if any(level not in (1, 2, 3, 4) for level in self.severity):
            raise ValueError("severity levels are 1 (一般) to 4 (特别重大)")
        if self.page * self.size > MAX_WINDOW:
            raise ValueError(f"page × size must stay within {MAX_WINDOW}; narrow the filters instead")
        return self


class SearchHit(BaseModel):
    id: str
    score: float | None
    fields: dict[str, Any]
    highlights: list[str]  # HTML: the text is escaped, matches are wrapped in <em>


class Bucket(BaseModel):
    key: str
    count: int


class SearchPage(BaseModel):
    total: int
    page: int
    size: int
    hits: list[SearchHit]
    by_city: list[Bucket]
    by_label: list[Bucket]
    took_ms: int


def _text_clause(kind: str, text: str) -> Q:
    """Every whitespace-separated term must occur; a term matches a phrase in the Chinese-analysed field or,
    character by character, in its `.std` sub-field (so one-character terms and odd segmentations work)."""
    must = []
    for term in text.split():
        should = []
        for field in TEXT_FIELDS[kind]:
            # A term of punctuation only (`*`) analyses to nothing; it then matches all rather than none.
            should.append(Q("match_phrase", **{field: {"query": term, "boost": 2.0, "zero_terms_query": "all"}}))
            should.append(Q("match_phrase", **{f"{field}.std": {"query": term, "zero_terms_query": "all"}}))
        must.append(Q("bool", should=should, minimum_should_match=1))
    return Q("bool", must=must)


def build_search(prefix: str, query: SearchQuery) -> Search:
    kind = query.kind
    time_field = KINDS[kind].TIME_FIELD
    search = Search(index=f"{prefix}-{kind}")
    if query.text and query.text.strip():
        search = search.query(_text_clause(kind, query.text))
    terms = {
        "city": query.city,
        "county": query.county,
        "label": query.label,
        "severity": query.severity,
        "project_type": query.project_type,
    }
    if query.status:
        terms[STATUS_FIELD[kind]] = query.status
    for field, values in terms.items():
        if values:
            search = search.filter("terms", **{field: values})
    if query.min_severity:
        search = search.filter("range", severity={"gte": query.min_severity})
    if query.company:
        search = search.filter(Q("match_phrase", **{"company.std": query.company}))
    if query.since or query.until:
        bounds = {k: v.isoformat() for k, v in (("gte", query.since), ("lte", query.until)) if v}
        search = search.filter("range", **{time_field: bounds})
    order = {
        "time": [{time_field: {"order": "desc"}}, "_score"],
        "severity": [{"severity": {"order": "desc", "missing": "_last"}}, {time_field: {"order": "desc"}}],
        "relevance": ["_score", {time_field: {"order": "desc"}}],
    }[query.sort]
    search = search.sort(*order).extra(track_total_hits=True, track_scores=True)
    fields = [f for name in TEXT_FIELDS[kind] for f in (name, f"{name}.std")]
    search = search.highlight(
        *fields, fragment_size=80, number_of_fragments=2, pre_tags=["<em>"], post_tags=["</em>"]
    ).highlight_options(encoder="html")
    search = search.source(list(SHOWN_FIELDS[kind]))
    search.aggs.bucket("by_city", "terms", field="city", size=20)
    search.aggs.bucket("by_label", "terms", field="label_name", size=5)
    start = (query.page - 1) * query.size
    return search[start : start + query.size]


def _highlights(hit: dict[str, Any]) -> list[str]:
    """Fragments of the Chinese-analysed fields first; a `.std` fragment only for a field without one."""
    found = hit.get("highlight", {})
    fragments: list[str] = []
    for name, parts in sorted(found.items(), key=lambda item: item[0].endswith(".std")):
        base = name.removesuffix(".std")
        if name.endswith(".std") and base in found:
            continue
        fragments.extend(parts)
    return fragments


def _buckets(response: dict[str, Any], name: str) -> list[Bucket]:
    return [Bucket(key=str(b["key"]), count=b["doc_count"]) for b in response["aggregations"][name]["buckets"]]


def search(client: Elasticsearch, prefix: str, query: SearchQuery) -> SearchPage:
    """Run a query against the read alias of `query.kind` and return one page with highlights and counts."""
    body = build_search(prefix, query).to_dict()
    response = client.search(index=f"{prefix}-{query.kind}", body=body).body
    return SearchPage(
        total=response["hits"]["total"]["value"],
        page=query.page,
        size=query.size,
        hits=[
            SearchHit(id=h["_id"], score=h.get("_score"), fields=h.get("_source", {}), highlights=_highlights(h))
            for h in response["hits"]["hits"]
        ],
        by_city=_buckets(response, "by_city"),
        by_label=_buckets(response, "by_label"),
        took_ms=response["took"],
    )
