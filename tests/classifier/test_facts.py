"""Fact extraction: amounts, headcounts, months owed, names, project type and escalation signals."""

from __future__ import annotations

import pytest

from wagewatch.classifier import facts
from wagewatch.classifier.settings import load_settings


@pytest.mark.parametrize(
    ("text", "yuan", "approximate"),
    [
        ("包工头欠我们8万3，一直不给", 83_000, False),
        ("项目拖欠工资60余万元", 600_000, True),
        ("听说欠了十几万", 100_000, True),
        ("说好的4.5万元到现在没影", 45_000, False),
        ("一共3万6一分没给", 36_000, False),
        ("欠了两千六，老板不接电话", 2_600, False),
        ("一千八就这么没了", 1_800, False),
        ("班组被欠了七八万", 70_000, False),
        ("老板欠我4600，说下个月", 4_600, False),
        ("8万3千元的工钱", 83_000, False),
        ("说好三千五，给了一千，剩下的不给", 2_500, False),
    ],
)
def test_amounts(text: str, yuan: float, approximate: bool) -> None:
    amount = facts.extract_amount(text)
    assert amount is not None and amount.yuan == yuan and amount.approximate is approximate


@pytest.mark.parametrize(
    "text",
    [
        "每人约1万元，一直没发",  # a per-person figure is not the total
        "只给了200块辛苦费",  # a sum paid is not a sum owed
        "2023年3月进场，打了12345热线",  # a year and a hotline are not money
        "被告人并处罚金3万元",  # a fine is not wages
    ],
)
def test_not_amounts(text: str) -> None:
    assert facts.extract_amount(text) is None


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        # only a part was paid, said after the sum: the rest is owed
        ("跑了一个月外卖，5200的工资站长只给了1200", 4_000),
        ("干了半年瓦工，说好的工钱五万六，老板只给了一万块", 46_000),
        ("装了四个月的窗，工钱三万二，包工头只转了八千块路费", 24_000),
        # a per-month or per-person payment is not a part of the total
        ("拖欠我们五个人共十二万元，每月只给了一千块生活费", 120_000),
        # wages win over money of another kind stated beside them
        ("包工头从开发商领了工程款52万元，却拖欠9名工人工资17.4万元", 174_000),
        ("老板把价值三十余万元的设备卖了，欠我们的8.8万元工资就是不给", 88_000),
        # money of another kind is read when nothing else is stated
        ("材料商说工地欠他货款二十六万，拉横幅要“血汗钱”", 260_000),
    ],
)
def test_amount_owed(text: str, yuan: float) -> None:
    amount = facts.extract_amount(text)
    assert amount is not None and amount.yuan == yuan


@pytest.mark.parametrize(
    "text",
    [
        "在台北的餐厅做了三个月，老板积欠薪资约新台币九万元",  # another currency, not yuan
        "老板拖欠我们两个月工资，总共约三万五千港元",
        "他发的讨薪视频播放量超过80万，评论区一片骂声",  # a count of views, not money
    ],
)
def test_not_sums_in_yuan(text: str) -> None:
    assert facts.extract_amount(text) is None


def test_monthly_rate_is_not_the_sum_owed() -> None:
    assert facts.extract_amount("在超市当了三个月理货员，月薪3800，老板一直拖着") is None
    assert facts.extract_amount("说好一个月两千八，干了三个月，欠我八千四").yuan == 8_400
    assert facts.extract_amount("老板欠我两个月工资一万二").yuan == 12_000  # not a rate: the months owed
    assert facts.extract_amount("看了四个月大棚，一个月两千五，一分没给") is None  # a rate after a clause


def test_wages_reported_from_taiwan_or_hong_kong_are_not_in_yuan() -> None:
    """The labelling guide records yuan: a Taipei or Hong Kong report's sum is in the local currency."""
    assert facts.extract("台北一名男子发文称，餐厅积欠他三个月薪资九万元").amount is None
    assert facts.extract("香港一名判头拖欠地盘工人人工共二十万元").amount is None
    assert facts.extract("香港媒体报道，内地一间石材厂拖欠工人工资约三十万元").amount.yuan == 300_000
    assert facts.extract("常州新北区一家机械厂拖欠我工资一万五").amount.yuan == 15_000


def test_writers_own_sum_among_several_is_not_trusted() -> None:
    """The writer's own sum where a workshop is owed is a per-person figure: below the threshold, unless it is
    what a false claim asks for."""
    found = facts.extract("公司拖欠我三个月工资一万六千元。车间共二十八人，都没拿到钱。")
    threshold = load_settings().facts.amount
    assert found.amount_own and found.confidence("real")["amount"] < threshold
    assert found.confidence("false")["amount"] >= threshold
    assert not facts.extract("公司拖欠我们二十八个人三个月工资四十万元").amount_own


def test_closure_and_monthly_pay_are_not_statistics() -> None:
    """A shop closing (结业) or wages drawn monthly (按月领取工资) is not a ceremony or a course: the case is read."""
    found = facts.extract("旺角一间茶餐厅突然结业，十多名员工到劳动部门求助。")
    assert found.workers == 10
    found = facts.extract("司机们按月领取工资，但公司已连续三个月未发薪，三十多人被欠约四十万元人民币。")
    assert found.workers == 30 and found.amount.yuan == 400_000


def test_followers_are_not_money() -> None:
    assert facts.extract_amount("他称被欠薪五万元，视频发出三天涨粉十余万").yuan == 50_000
    assert facts.extract_amount("一名拥有数十万粉丝的博主带人讨薪") is None


def test_false_claim_keeps_the_sum_claimed() -> None:
    """A false claim is recorded as claimed: its pretext money, and no part paid taken off."""
    found = facts.extract("一个包工头说开发商欠他工程款三十八万，工人工资早就结清，他只给了工人两千块辛苦费")
    assert found.stated_amount("false").yuan == 380_000
    found = facts.extract("干了二十天小工张口要六万，说是欠薪，老板只给了他四千块，有转账记录")
    assert found.stated_amount("false").yuan == 60_000
    assert found.stated_amount("real").yuan == 56_000


@pytest.mark.parametrize(
    ("text", "workers"),
    [
        ("30多个农民工在工地门口等着", 30),
        ("我们仨给他干了一年", 3),
        ("我和两个老乡在工地干木工", 3),
        ("我和我爸给人家盖了三间房", 2),
        ("数十名工人聚在门口", 10),
        ("一二十个人干了半年", 10),
        ("包工头欠了我们二十多万", None),  # a sum after 我们 is not a headcount
        ("涉及拖欠农民工112人", 112),
        ("老板欠我2400，一直拖着", 1),  # told in the singular: one worker
        ("我们三个月没拿到工资", None),  # "三个月" is a duration, and 我们 is a plural
        ("几个人去要钱", None),
    ],
)
def test_workers(text: str, workers: int | None) -> None:
    assert facts.extract_workers(text) == workers


def test_approximate_headcount_and_inference() -> None:
    assert facts.extract("百余名工人围在门口").workers_approximate
    assert not facts.extract("一百名工人围在门口").workers_approximate
    lone = facts.extract("干了二十天，老板不给钱")
    assert lone.workers == 1 and lone.workers_inferred
    assert not facts.extract("26名农民工被拖欠").workers_inferred


@pytest.mark.parametrize(
    ("text", "workers"),
    [
        # one worker and the others counted apart: the number plus one
        ("他和同村的6个人在工地干了半年，一分没拿到", 7),
        ("经核实，该店确欠您及另外3名服务员工资", 4),
        ("该男子自称与其他8名工友被拖欠工资", 9),
        ("老张和他所在班组的11名钢筋工被欠了五个月", 12),
        # a number after a relative or a bare noun, or with 共, is the total; partners in crime are not workers
        ("欠我和我哥两个人一万二", 2),
        ("欠我和师傅两个人八千", 2),
        ("我和工友们（共15人）都没拿到钱", 15),
        ("一男子伙同五名亲友冒领工资", 5),
        # a month or a sum after the number is not a headcount
        ("我跟老板要三个月工资", None),
        # "N个人" after a group ("同村") is N more; after a peer or a relative it is the total
        ("我爸和同村五个人跟着工头干了半年", 6),
        ("我和我们村的四个人去年跟着包工头", 5),
        ("合作社欠我和老伴两个人工资一万二", 2),
        ("我和父亲二人被拖欠三个月工资", 2),
        # days of work are not workers
        ("一天一百八，我爸干了一百多个工。", 1),
        ("帖子说项目欠十八个木工的工资", 18),
        # partners are not workers owed
        ("两名合伙人为了分红闹上了法庭", 1),  # not two workers: the one who claims
        ("我和朋友合伙开了一家餐厅，他说欠我工资", None),
    ],
)
def test_companions(text: str, workers: int | None) -> None:
    assert facts.extract_workers(text) == workers


def test_workforce_paid_and_trainees_are_not_headcounts() -> None:
    """Sentences about a whole site paid, a class trained or an audience advised give no headcount owed."""
    text = (
        "上周，本县技能培训班结业，92名农民工取得焊工证书。"
        "城南一个项目上一百多名工人的工资，当天由银行统一代发到卡。"
        "另一处工地的7名瓦工却干了四个月没拿到钱，包工头已失联。"
    )
    assert facts.extract(text).workers == 7
    claim = "有人称欠薪三百万。经查该项目在册工人共80人，工资均已通过专户按月发放。"
    found = facts.extract(claim)
    assert found.workers != 80 and found.claimed.yuan == 3_000_000  # the claim's sum is still read


def test_court_case_after_a_colon_is_read() -> None:
    """A court's "案例一:" opens its own case after a sentence of statistics."""
    found = facts.extract(
        "某区法院发布典型案例，今年以来涉欠薪案件同比下降，案例一：周某拖欠16名工人工资21.5万元后逃匿。"
    )
    assert found.workers == 16 and found.amount.yuan == 215_000


def test_others_in_the_same_plight_are_a_guess() -> None:
    """Others mentioned beside the writer may or may not be counted: the headcount is not trusted."""
    found = facts.extract("公司欠我三个月工资一万五千元。车间里还有十几个工友也是这样。")
    assert found.workers_by_hearsay and found.confidence()["workers"] < load_settings().facts.workers
    assert not facts.extract("公司拖欠我们十二个工友三个月工资").workers_by_hearsay


def test_months_owed_not_months_worked() -> None:
    assert facts.extract_months("公司拖欠三个月工资") == 3
    assert facts.extract_months("欠了两年的工钱") == 24
    assert facts.extract_months("我在店里干了三个月，月底结") is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("中铁某局承建的项目拖欠工资", "soe"),
        ("镇中心小学教学楼项目的施工人员", "government"),
        ("某楼盘开发商跑路了", "real_estate"),
        ("电子厂车间的工资两个月没发", "factory"),
        ("在饭店后厨干了一个月", "other"),
    ],
)
def test_project_type(text: str, kind: str) -> None:
    assert facts.project_type(text) == kind


def test_hospital_in_passing_is_not_a_government_project() -> None:
    assert facts.project_type("工友喝了农药，已经送医院了") != "government"


def test_escalation_signals() -> None:
    assert "跳楼或登高" in facts.extract("一名工人爬上塔吊讨要工钱").extreme_signals
    assert "堵路" in facts.extract("工人们把刚修好的路给拦了").extreme_signals
    assert "暴力冲突" in facts.extract("讨薪的和老板的人打起来了").extreme_signals
    assert "轻生或自伤" in facts.extract("大姐手里攥着一瓶农药").extreme_signals
    assert "拉横幅" in facts.extract("十几个人在门口拉横幅").group_signals
    assert not facts.extract("心里堵得慌，工资晚发了两天").extreme_signals


@pytest.mark.parametrize(
    ("text", "company"),
    [
        # the clause before the name ends with a role or an act, not with a single character
        ("住建局约谈了临沂宏远建材有限公司负责人", "临沂宏远建材有限公司"),
        ("经查，您与王某于2025年共同出资经营装修公司", None),
        ("被告人王某系济宁恒达建筑劳务有限公司实际控制人", "济宁恒达建筑劳务有限公司"),
        ("承包商日照鸿运建设工程有限公司欠我们工钱", "日照鸿运建设工程有限公司"),
        ("分包方滨州盛源劳务分包有限公司欠我们工钱", "滨州盛源劳务分包有限公司"),
        ("去年起诉青岛兴旺木业有限公司拖欠的工资", "青岛兴旺木业有限公司"),
        ("一家配件厂（淄博博通机械配件有限公司）欠薪", "淄博博通机械配件有限公司"),
        ("台湾一家工厂德兴机械有限公司积欠工资", "德兴机械有限公司"),
        # places that locate the employer are not part of its registered name; the one it starts with is
        ("潍坊市寿光市山东福润食品有限公司拖欠工资", "山东福润食品有限公司"),
        ("我在东营区恒信装饰工程有限公司干了半年", "恒信装饰工程有限公司"),
        ("任城区宏达汽修厂老板跑了", "宏达汽修厂"),
        ("五莲县石峰石材有限公司拖欠工资", "五莲县石峰石材有限公司"),
        ("大连海润渔业有限公司欠薪三个月", "大连海润渔业有限公司"),
        ("威海文登鑫海船舶配件有限公司欠我工资", "威海文登鑫海船舶配件有限公司"),
        # descriptions are not names
        ("烟台某物流有限公司拖欠工资", None),
        ("奎文区一家装修公司欠我八千", None),
        ("石材厂老板欠我三千", None),
        ("离职时公司欠我两个月工资", None),
        ("昌乐的施工队和项目部都说没钱", None),
        # a name that contains a clause-ending character is kept whole ("时光"); "归…管" ends the clause
        ("【投诉对象】青岛鲜果时光餐饮管理有限公司 拖欠工资", "青岛鲜果时光餐饮管理有限公司"),
        ("保洁员一共二十个，归淄博洁美物业保洁有限公司管", "淄博洁美物业保洁有限公司"),
        # a clause read back to a suffix is not a name
        ("从8月开始公司就说资金紧张", None),
        ("但维修公司老板不给钱", None),
        ("网友发文指控一间知名连锁餐厅积欠薪资", None),
        ("曹县那边有个家具厂叫鑫森家具厂，欠我们工钱", "鑫森家具厂"),
        # a works that is the site of a project is not the employer; a developer by its short name neither
        ("在宏运食品厂扩建项目干活的工人被欠薪", None),
        ("项目开发方万隆置业以回款慢为由拖欠总包工程款", None),
        # of two companies, the one said to owe
        (
            "项目开发商为德州华泰置业有限公司，施工总包为山东鲁建建设工程有限公司，拖欠我们工资",
            "山东鲁建建设工程有限公司",
        ),
    ],
)
def test_company_boundaries(text: str, company: str | None) -> None:
    found = facts.extract_company(text)
    assert (found.text if found and found.confidence >= 0.7 else None) == company


@pytest.mark.parametrize(
    ("text", "project"),
    [
        ("在临沂市祥和公馆项目干活", "祥和公馆项目"),  # a name of its own: annotated without the place
        ("鲁泰·翡翠城三期欠我们工钱", "鲁泰·翡翠城三期"),
        ("润禾工业园8号车间的工人都没拿到钱", "润禾工业园8号车间"),
        ("临沂至滨州高速公路第4标段的工人", "临沂至滨州高速公路第4标段"),
        # a description names a project only with its place
        ("工人们在日照220千伏输变电工程干了半年", "日照220千伏输变电工程"),
        ("泉庄镇安置房项目拖欠工资", "泉庄镇安置房项目"),
        ("我们在检修项目上干了三个月", None),
        ("老板说央企项目钱没到", None),
        ("某项目欠薪", None),
        ("苏州工业园的电子厂欠薪", None),
        ("洛阳华府置业有限公司欠钱", None),  # the head of a company's name
        # a site office, its manager or accounts, and clauses before 项目/工程 name no project
        ("执法人员调取项目工资专户流水", None),
        ("我问过项目经理，他说没钱", None),
        ("县公安局接到报警，某在建住宅项目有人爬上塔吊", None),
        ("他在外做工程欠了不少钱", None),
        ("这种政府投资项目有工资保证金", None),
        ("我们是沂水县一所乡镇中学教学楼项目的农民工", None),  # a description opened by 一所
        ("十几名装卸工聚集在园区办公楼前", None),  # a zone is no place of its own
        # the whole suffix is read: a section, a resettlement project, a construction
        ("枣庄至临沂高速公路五标段的工人", "枣庄至临沂高速公路五标段"),
        ("在滕州市鲁班片区棚户区改造安置房项目干了一年", "鲁班片区棚户区改造安置房项目"),
        ("城东安置房项目部分工人在门口聚集", "城东安置房项目"),
    ],
)
def test_project_boundaries(text: str, project: str | None) -> None:
    found = facts.extract_project(text)
    assert (found.text if found and found.confidence >= 0.7 else None) == project


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("结算单上写明应付工资286000元，已付100000元，又打了两万，还差166000元", 166_000),
        ("工资共计五十一万元，截至目前仅支付十二万元", 390_000),
        ("石某拖欠工人工资684,400元", 684_400),
        ("你千万别想不开，欠了四十多万总会有说法", 400_000),
        ("拨打12348热线咨询，欠了2000元", 2_000),
        ("先收到余款230万元，之前一共欠了三百七八十万", 3_700_000),
        ("合同款一百零八万元，现还有四十六万元未付", 460_000),
        ("今天五个人两万九一分不少全拿到了", 29_000),
        # one person's sum in a group's case is not the group's total
        ("我们车间十二名技师，我本人被欠两万八千元", None),
        # statistics of a long report are not the case's sum
        (
            "记者从市人社局获悉，今年以来全市共追回工资9.1亿元，移送案件45件。"
            "本月初，城东一个工地的八名木工向本报求助，他们被拖欠工资十二万元，包工头一直躲着不见。"
            "人社局已经介入，要求总包先行垫付。",
            120_000,
        ),
    ],
)
def test_amount_owed_in_context(text: str, yuan: float | None) -> None:
    found = facts.extract(text).amount
    assert (found.yuan if found else None) == yuan


def test_pay_handed_out_and_counted_things_are_not_sums_owed() -> None:
    text = (
        "城西一个安置房项目的工地上，二百多名农民工排队领取工资，现场发放工资三百多万元。"
        "同一天，城东一家家具厂的五名油漆工来到人社局，说老板欠他们四万二，人一直联系不上。"
    )
    assert facts.extract(text).amount.yuan == 42_000
    assert facts.extract("今年计划改造老旧小区68个，涉及居民5万余户，包工头欠我们八千").amount.yuan == 8_000


def test_headcount_of_a_long_report_is_the_cases() -> None:
    text = (
        "记者从市人社局获悉，今年以来全市为9451名劳动者追回工资，移送案件45件。"
        "本月初，城东一个工地的八名木工向本报求助，他们被拖欠工资十二万元，包工头一直躲着不见。"
        "人社局已经介入，要求总包先行垫付。"
    )
    assert facts.extract(text).workers == 8
    assert facts.extract("全厂有一百四十多名工人，拖欠四个月工资").amount is None
