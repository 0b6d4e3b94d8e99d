"""Posts for the search tests (our own wording), put through the real analyse, cluster and dispatch stages."""

from __future__ import annotations

from datetime import timedelta

from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.store import Database
from wagewatch.core.store.models import IndexQueue, Post
from wagewatch.pipeline import run_stage

POSTS = [
    (
        "p1",
        "我们30多个工人在临沂兰陵县鑫达建设有限公司承建的安置小区项目干了大半年，包工头跑路了，8万多块工资到现在"
        "一分钱没发，明天准备去项目部拉横幅讨说法，求扩散",
    ),
    ("p2", "临沂兰陵县鑫达建设有限公司安置小区项目欠薪的事还没解决，30多个农民工工资8万多，包工头跑路了，大家帮忙转发"),
    (
        "p3",
        "济南历下区泉景花园工地，宏远建筑工程有限公司拖欠我们12名农民工工资共计26万元，已经半年了，劳动监察说在协调",
    ),
    ("p4", "青岛黄岛区海湾物流园项目，恒泰建设集团欠薪三个月，200多名工人在项目部门口讨薪，场面很乱"),
    (
        "p5",
        "【警情通报】济南市历城区公安分局：网传“农民工爬塔吊讨薪”视频经核实不属实，系当事人以讨薪为名讨要工程款，"
        "编造虚假信息博取关注，已依法对其行政拘留。",
    ),
    ("p6", "根治欠薪冬季专项行动部署会议召开，会议要求各地加强政策宣传，律师可提供免费法律咨询。"),
    ("p7", "潍坊寿光市蔬菜大棚建设项目，承包人拖欠15个农民工工资9万元，过年前还不发钱大家只能去政府反映了"),
    ("p8", "烟台芝罘区<script>alert(1)</script>某装修公司拖欠装修工人工资3万元，老板电话打不通 city:济南 OR *"),
]


def insert_posts(db: Database, posts: list[tuple[str, str]], start_minutes: int = 0) -> list[int]:
    """Store posts as the crawler's pipeline would, outbox row included."""
    ids = []
    with db.session() as session:
        for offset, (external_id, text) in enumerate(posts):
            at = clock.now() - timedelta(minutes=start_minutes + 10 * offset)
            post = Post(
                source="weibo" if offset % 3 else "tieba",
                external_id=external_id,
                url=f"https://example.org/{external_id}",
                title=None,
                text=text,
                text_raw=text,
                author=f"用户{offset}",
                published_at=at,
                reposts=offset * 3,
                comments=offset,
                likes=offset * 5,
                fetched_at=at,
            )
            session.add(post)
            session.flush()
            db.insert_ignore(session, IndexQueue, {"entity": "post", "entity_id": post.id})
            ids.append(post.id)
    return ids


def seed_store(db: Database, config: AppConfig) -> None:
    insert_posts(db, POSTS)
    for stage in ("analyze", "cluster", "dispatch"):
        run_stage(stage, config, db)
