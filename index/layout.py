"""Names and bodies of the indices: versioned index templates behind stable aliases.

Each kind has a read alias (`<prefix>-<kind>`, what Kibana and searches use) and a write alias
(`<prefix>-<kind>-write`, what the feed writes to). The concrete index is named after the Document's
SCHEMA_VERSION and a fingerprint of its whole body (mapping, analysis), so any change to either, a new
analyzer from settings.yaml included, yields a new index and a migration instead of a silently stale one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from wagewatch.index.documents import KINDS, ZH, ZH_SEARCH

SYNONYMS = "wagewatch_synonyms"
_CJK = ["cjk_width", "lowercase", "cjk_bigram"]
# The plugin-free chain equals Elasticsearch's `cjk` analyzer without its English stop words.
_ANALYSIS: dict[str, dict[str, Any]] = {
    "cjk": {
        ZH: {"type": "custom", "tokenizer": "standard", "filter": _CJK},
        ZH_SEARCH: {"type": "custom", "tokenizer": "standard", "filter": [*_CJK, SYNONYMS]},
    },
    # smartcn's analyzer is closed (its own stop words and stemming): synonyms would shift phrase positions.
    "smartcn": {ZH: {"type": "smartcn"}, ZH_SEARCH: {"type": "smartcn"}},
    # ik_max_word indexes every dictionary word; ik_smart keeps queries to the likeliest segmentation.
    "ik": {
        ZH: {"type": "custom", "tokenizer": "ik_max_word"},
        ZH_SEARCH: {"type": "custom", "tokenizer": "ik_smart", "filter": [SYNONYMS]},
    },
}


def analysis_settings(chinese_analyzer: str, synonyms: tuple[str, ...]) -> dict[str, Any]:
    """The analyzers, and the synonym set (settings.yaml `elasticsearch.synonyms`) that the search analyzer
    expands queries with: searching 欠薪 also finds 拖欠工资, 讨薪, 白条 … Only queries are expanded, so the
    set can change without reindexing a word of it (the new index is built from the store all the same)."""
    analyzers = _ANALYSIS[chinese_analyzer]
    if not synonyms:  # Elasticsearch refuses an empty synonym set: leave the filter out instead
        return {"analyzer": {name: _without_synonyms(a) for name, a in analyzers.items()}}
    return {"analyzer": analyzers, "filter": {SYNONYMS: {"type": "synonym_graph", "synonyms": list(synonyms)}}}


def _without_synonyms(analyzer: dict[str, Any]) -> dict[str, Any]:
    if "filter" not in analyzer:
        return analyzer
    return analyzer | {"filter": [f for f in analyzer["filter"] if f != SYNONYMS]}


@dataclass(frozen=True)
class KindLayout:
    """Everything named for one kind of document under one prefix and analyzer."""

    prefix: str
    kind: str
    chinese_analyzer: str
    synonyms: tuple[str, ...]  # Solr-format groups, e.g. "欠薪, 拖欠工资, 讨薪"

    @property
    def alias(self) -> str:
        return f"{self.prefix}-{self.kind}"

    @property
    def write_alias(self) -> str:
        return f"{self.prefix}-{self.kind}-write"

    @property
    def body(self) -> dict[str, Any]:
        """Settings and mappings, as the index template's `template` section."""
        document = KINDS[self.kind]
        mappings = document._doc_type.mapping.to_dict()
        mappings["dynamic"] = "strict"  # a misspelt field is an error, not a new mapping
        return {
            "settings": {
                "number_of_shards": 1,
                "auto_expand_replicas": "0-1",
                "analysis": analysis_settings(self.chinese_analyzer, self.synonyms),
            },
            "mappings": mappings,
        }

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()[:8]

    @property
    def version(self) -> int:
        return KINDS[self.kind].SCHEMA_VERSION

    @property
    def index(self) -> str:
        return f"{self.prefix}-{self.kind}-v{self.version}-{self.fingerprint}"

    @property
    def index_pattern(self) -> str:
        """Matches every version of this kind, old and new (and nothing of another kind)."""
        return f"{self.prefix}-{self.kind}-v*"

    def template(self) -> dict[str, Any]:
        """The body of PUT _index_template/<index>."""
        return {
            "index_patterns": [self.index],
            "priority": 100 + self.version,
            "template": self.body,
            "_meta": {
                "managed_by": "wagewatch",
                "kind": self.kind,
                "version": self.version,
                "fingerprint": self.fingerprint,
            },
        }


def layouts(prefix: str, chinese_analyzer: str, synonyms: list[str] | tuple[str, ...]) -> dict[str, KindLayout]:
    return {kind: KindLayout(prefix, kind, chinese_analyzer, tuple(synonyms)) for kind in KINDS}


def field_types(kind: str) -> dict[str, str]:
    """Every field path of a kind's mapping with its type, sub-fields as `name.sub` (for asset checks)."""
    found: dict[str, str] = {}

    def walk(properties: dict[str, Any], path: str) -> None:
        for name, spec in properties.items():
            full = f"{path}{name}"
            found[full] = spec.get("type", "object")
            for sub, sub_spec in spec.get("fields", {}).items():
                found[f"{full}.{sub}"] = sub_spec["type"]
            walk(spec.get("properties", {}), f"{full}.")

    walk(KINDS[kind]._doc_type.mapping.to_dict()["properties"], "")
    return found
