"""The search documents: each elasticsearch.dsl Document class is the one definition of an index's mapping.

Chinese text uses the analyzer named ZH, defined per cluster by `layout.analysis_settings` (the plugin-free
cjk bigram chain by default, IK or smartcn when configured). Every Chinese text field also has a `.std`
sub-field analysed one character per token by the built-in standard analyzer, so a phrase query finds any
substring (a one-character name, a company an IK dictionary splits differently). Names analysts group by
carry a `.keyword` sub-field for aggregations.

Bump SCHEMA_VERSION when a change needs a new index; `wagewatch index setup` then migrates.
"""

from __future__ import annotations

from elasticsearch.dsl import Boolean, Date, Document, Double, Float, GeoPoint, Integer, Keyword, Long, Text

ZH = "wagewatch_zh"
ZH_SEARCH = "wagewatch_zh_search"


def zh_text() -> Text:
    return Text(analyzer=ZH, search_analyzer=ZH_SEARCH, fields={"std": Text(analyzer="standard")})


def zh_name() -> Text:
    return Text(
        analyzer=ZH,
        search_analyzer=ZH_SEARCH,
        fields={"std": Text(analyzer="standard"), "keyword": Keyword(ignore_above=256)},
    )


class CaseFields(Document):
    """Fields a post, an incident and a lead share: what the case is and where."""

    label = Keyword()  # real|false|irrelevant
    label_name = Keyword()  # 真实欠薪|虚假讨薪|无关信息
    severity = Integer()  # 1 一般 .. 4 特别重大
    severity_name = Keyword()
    severity_score = Float()
    city = Keyword()
    county = Keyword()
    location = GeoPoint()
    company = zh_name()
    project = zh_name()
    project_type = Keyword()  # government|soe|real_estate|factory|other
    project_type_name = Keyword()
    amount_yuan = Double()
    workers = Integer()
    extreme = Boolean()
    indexed_at = Date()


class PostDoc(CaseFields):
    SCHEMA_VERSION = 1
    TIME_FIELD = "seen_at"

    post_id = Long()
    source = Keyword()
    external_id = Keyword()
    url = Keyword(index=False)
    title = zh_text()
    text = zh_text()
    author = Keyword()
    published_at = Date()
    fetched_at = Date()
    seen_at = Date()  # published_at, or fetched_at when the site gave no date
    reposts = Integer()
    comments = Integer()
    likes = Integer()
    reach = Integer()
    region = Keyword()
    analyzed = Boolean()
    incident_id = Long()
    model_version = Keyword()


class IncidentDoc(CaseFields):
    SCHEMA_VERSION = 1
    TIME_FIELD = "first_seen"

    incident_id = Long()
    title = zh_text()
    text = zh_text()  # the first post's text
    explanation = zh_text()
    post_count = Integer()
    reach = Long()
    sources = Keyword()
    first_seen = Date()
    last_seen = Date()
    alert_state = Keyword()
    lead_id = Long()
    lead_status = Keyword()
    lead_stage = Keyword()
    lead_deadline = Date()
    overdue = Boolean()


class LeadDoc(CaseFields):
    SCHEMA_VERSION = 1
    TIME_FIELD = "created_at"

    lead_id = Long()
    incident_id = Long()
    title = zh_text()
    officer_id = Keyword()
    kind = Keyword()  # new|backlog|complex|clarify|transfer
    kind_name = Keyword()
    status = Keyword()  # the ledger's own wording, e.g. 待签收
    stage = Keyword()  # 待签收|已签收|已逾期|已办结
    deadline = Date()
    created_at = Date()
    acknowledged_at = Date()
    closed_at = Date()
    updated_at = Date()
    escalation_level = Integer()
    amount_recovered = Double()
    workers_paid = Integer()
    transferred_to = Keyword()
    verdict = Keyword()
    open = Boolean()
    acknowledged = Boolean()
    closed = Boolean()
    overdue = Boolean()  # open past its deadline, or closed after it
    days_to_close = Float()
    hours_to_acknowledge = Float()


class PlaceDoc(Document):
    """A city or county centre: the offline base layer of the Shandong map."""

    SCHEMA_VERSION = 1
    TIME_FIELD = None

    name = Keyword()
    level = Keyword()
    city = Keyword()
    county = Keyword()
    location = GeoPoint()


KINDS: dict[str, type[Document]] = {
    "posts": PostDoc,
    "incidents": IncidentDoc,
    "leads": LeadDoc,
    "places": PlaceDoc,
}
STORE_KINDS = ("posts", "incidents", "leads")
ENTITY_KIND = {"post": "posts", "incident": "incidents", "lead": "leads"}
