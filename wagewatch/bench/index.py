"""Bulk indexing throughput, measured on a throwaway index with the real posts mapping and analyzer."""

from __future__ import annotations

import argparse
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from wagewatch.core.config import load_config
from wagewatch.core.states import Label
from wagewatch.index import places
from wagewatch.index.bulk import bulk_write
from wagewatch.index.client import make_client
from wagewatch.index.layout import KindLayout, layouts

_OPENINGS = ["工地干了大半年", "我们二十多个农民工", "求助！", "年底了还没拿到钱", "实名举报"]
_MIDDLES = [
    "被{company}拖欠工资{amount}万元",
    "{company}承建的{project}欠薪{months}个月",
    "包工头跑路，{company}不管不问",
]
_ENDINGS = ["劳动监察大队一直说在协调。", "希望有关部门帮帮我们！", "孩子学费都交不上了。", "已经打过12345了。"]
_COMPANIES = ["鲁鑫建设有限公司", "齐鲁宏达建筑工程公司", "泰山城建集团", "黄河路桥工程有限公司", "海岱置业有限公司"]
_PROJECTS = ["幸福里小区三期", "高新区安置房", "滨河大道改造工程", "第一中学新校区", "物流园仓储中心"]


@dataclass
class BenchResult:
    documents: int
    batch_size: int
    seconds: float
    rejected: int

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"批量写入 bulk indexing: {self.documents} docs in {self.seconds:.2f}s = "
            f"{self.docs_per_second:,.0f} docs/s (batch {self.batch_size}, rejected {self.rejected})"
        )


def synthetic_posts(count: int, seed: int = 7) -> list[dict]:
    """Posts shaped like real ones: Chinese text of typical length, a city and county, facts."""
    rng = random.Random(seed)
    cities = [p for p in places.all_places() if p.level == "county"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    posts = []
    for i in range(count):
        place = rng.choice(cities)
        company, project = rng.choice(_COMPANIES), rng.choice(_PROJECTS)
        text = (
            "".join(
                [
                    rng.choice(_OPENINGS),
                    f"在{place.city}{place.name}",
                    rng.choice(_MIDDLES).format(
                        company=company, project=project, amount=rng.randint(1, 300), months=rng.randint(2, 14)
                    ),
                    "，",
                    rng.choice(_ENDINGS),
                ]
            )
            * 2
        )
        when = (start + timedelta(minutes=17 * i)).isoformat()
        posts.append(
            {
                "post_id": i + 1,
                "source": rng.choice(["weibo", "tieba", "douyin"]),
                "external_id": f"bench-{i}",
                "url": f"https://example.org/{i}",
                "title": None,
                "text": text,
                "author": f"用户{rng.randint(1, 9999)}",
                "published_at": when,
                "fetched_at": when,
                "seen_at": when,
                "reposts": rng.randint(0, 500),
                "comments": rng.randint(0, 200),
                "likes": rng.randint(0, 999),
                "reach": 0,
                "region": place.city,
                "analyzed": True,
                "label": "real",
                "label_name": Label.REAL.caption,
                "severity": rng.randint(1, 4),
                "city": place.city,
                "county": place.name,
                "location": place.location,
                "company": company,
                "project": project,
                "project_type": "real_estate",
                "amount_yuan": rng.randint(1, 300) * 10000.0,
                "workers": rng.randint(3, 80),
                "extreme": False,
                "indexed_at": when,
            }
        )
    return posts


def run_benchmark(client: Elasticsearch, layout: KindLayout, documents: int, batch_size: int) -> BenchResult:
    """Index `documents` synthetic posts into a temporary index built from the posts template body."""
    index = f"{layout.prefix}-bench-{uuid.uuid4().hex[:8]}"
    client.indices.create(index=index, **layout.body)
    try:
        posts = synthetic_posts(documents)
        rejected = 0
        began = time.perf_counter()
        for start in range(0, len(posts), batch_size):
            batch = {str(p["post_id"]): p for p in posts[start : start + batch_size]}
            rejected += len(bulk_write(client, index, batch).errors)
        client.indices.refresh(index=index)
        seconds = time.perf_counter() - began
        return BenchResult(documents, batch_size, seconds, rejected)
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)


def main(argv: list[str] | None = None) -> None:
    """Index into the cluster of the configuration (settings.yaml `elasticsearch`) under a throwaway name."""
    parser = argparse.ArgumentParser(description="批量索引吞吐量基准 / Bulk indexing throughput (docs/s).")
    parser.add_argument("--docs", type=int, default=20_000, help="documents to index (default 20000)")
    parser.add_argument("--batch", type=int, default=None, help="documents per bulk request (default: settings)")
    parser.add_argument("--config", default=None, help="configuration directory (default: WAGEWATCH_CONFIG_DIR)")
    args = parser.parse_args(argv)
    es = load_config(args.config).settings.elasticsearch
    if not es.url:
        raise SystemExit("settings.yaml 未配置 elasticsearch.url / set elasticsearch.url first")
    layout = layouts(es.index_prefix, es.chinese_analyzer, es.synonyms)["posts"]
    print(run_benchmark(make_client(es), layout, args.docs, args.batch or es.bulk_batch_size).line())
