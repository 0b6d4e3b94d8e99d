"""Fact extraction: amounts, headcounts, employer, project, project type and escalation signals."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from wagewatch.classifier.places import gazetteer

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "仨": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}

_CN = "零〇一二两俩三仨四五六七八九十百千"
# "数十名", "几百人": a leading 数/几 before a unit is read as one of that unit (the lower bound)
_NUM = rf"[0-9]+(?:\.[0-9]+)?|[几数](?=[十百千])[{_CN}]*|[{_CN}]+"
_APPROX = r"多|余|几|来"
# "684,400元": thousands separated by commas (a full-width comma is normalised to ",")
_THOUSANDS = r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?![0-9])(?:\.[0-9]+)?"
_AMOUNT = re.compile(
    # 3万6, 8万3千, 60余万元, 十几万, 七八万, 4.5万元, 3千块
    rf"(?<![0-9.])(?<![0-9],)(?P<num>{_THOUSANDS}|{_NUM})(?P<approx>{_APPROX})?(?P<big>[万亿])(?P<rest>[0-9]{{1,4}}(?![0-9])|[{_CN}]{{1,3}})?"
    rf"(?P<approx2>多|余)?(?P<unit>元|块钱|块)?"
    # 3200元, 两千多块钱, 一千八百元
    rf"|(?<![0-9.])(?<![0-9],)(?P<num2>{_THOUSANDS}|{_NUM})(?P<approx3>{_APPROX})?(?P<unit2>元|块钱|块)"
)
# An Arabic number with no unit counts only next to words about money owed ("欠我4600", "一共27000").
_BARE = re.compile(
    r"(?<![0-9.\-/:])(?P<num>[1-9][0-9]{2,6})(?![0-9.\-/:%])(?!\s*(?:年|月|日|号|人|名|个|位|天|次|米|平|"
    r"吨|件|台|辆|楼|层|路|期|栋|届|岁|斤|公里|小时|分|秒|户|套|间|亩|棵|头|只|条|张|元|块|万|千|余|多))"
)
_BARE_CN = re.compile(
    rf"(?<![{_CN}0-9])(?P<num>[一二两三四五六七八九][千百][一二两三四五六七八九]?)(?P<approx>多)?"
    r"(?![人名个位天次年月号元块万千百十多余一二两三四五六七八九工农民员])"
)
_MONEY_CONTEXT = re.compile(r"欠|共|工资|工钱|薪|说好|底薪|月薪|差|拖|剩|应发|报酬|给|结|一分|没拿|没发|拿不到|没了")
_PAID_BEFORE = re.compile(
    r"(给了|发了|只给|付了|结了|领了|预支|支付了|已支付|仅支付|只支付|已付|只付|只转|又打了|退了|罚金|罚款|处罚金|每人|人均|每个人|"
    r"每月|一人|每次|补偿|生活费|扣了|赔|返费|一天|日薪|日酬|日工资|时薪|每天)[^，。,；;]{0,3}$"
)
# a monthly rate said right before the sum ("月薪5800", "说好一个月三千") is not the sum owed
_RATE_BEFORE = re.compile(r"(每个月|月薪|底薪|说好一个月|约定一个月|一个月给|[，,。；;]一个月)(是|为|有)?$")
_HOTLINES = {"12345", "12333", "12348", "12315", "110", "120", "119"}
_PERSON = r"(?:工(?![资钱程地作期厂具])|员|友|乡|妹|弟|兄|傅|匠|们|婶|姨|姐|哥|叔|爷|娘|师|人(?![民社大力才口]))"
_FILLER = r"(?:(?![月天年日次项套间个店家处块元万千])[\u4e00-\u9fa5]){0,4}?"
# "干了一百多个工," counts days of work, not workers
_WORKERS = re.compile(
    rf"(?<![{_CN}0-9.])(?P<num>{_NUM})(?![{_CN}0-9.])(?P<approx>{_APPROX})?"
    rf"(?:(?P<who>[名位])|(?:个|号)?(?P<who2>农民工|工人|民工|员工|工友|人(?![民社大力才口]))|(?:个|号)(?!工(?:[，。,；;的!！?？]|$)){_FILLER}{_PERSON})"
)
_GROUP_COUNT = re.compile(
    rf"(?:我们|俺们|咱们|他们|她们|俺)(?P<num>{_NUM})(?![{_CN}0-9.])(?P<approx>{_APPROX})?(?:个|人|口子)?"
    r"(?![个月天年日小星礼工项万千百元块多余几来])"
)
_PARTNER = re.compile(
    r"(?:我|俺)[和跟与](?:我|俺)?(?:爸爸?|妈妈?|老公|老婆|媳妇|丈夫|妻子|弟弟?|哥哥?|姐姐?|妹妹?|表哥|表弟|"
    r"表姐|表妹|室友|同事|朋友|老乡|对象|儿子|女儿|父亲|母亲|同伴|爱人|叔叔?|舅舅?)"
    r"(?![们0-9一二两三四五六七八九十])"
)
# One worker and others counted apart: "我和两个老乡", "他和同村的9个人", "您及另外四名工人", "与其他11名工友"
# are the number plus one. A number after a relative is the total ("我和我弟两个人"), and so is one with 共/等,
# "N个人" after a bare noun ("我和师傅两个人") and a partner in crime ("伙同八名亲友").
_COMPANIONS = re.compile(
    rf"(?:(?:我|俺|楼主|本人|他|她|您|其|某|男子|师傅|大姐|大哥|阿姨|[老小](?![板总])[\u4e00-\u9fa5])[^，。,；;和跟与及同]{{0,3}}"
    rf"[和跟与及同](?![我俺](?!们))(?P<mod>[^，。,；;0-9{_CN}]{{0,8}}?)|[和跟与及同](?:其他|另外|其余|其它|另)的?)"
    rf"(?P<num>[{_CN}0-9]{{1,3}})(?:个|名|位)?+(?![月天年日万千百元块次])"
    r"(?=[\u4e00-\u9fa5]{0,4}?(?:工|员|友|乡|妹|弟|兄|傅|匠|们|婶|姨|姐|哥|叔|邻居|朋友|人|老乡|村|同事|司机|徒弟|太|婆|女))"
)
_PEER = re.compile(r"(同事|朋友|师傅|伙伴|同伴|搭档|工友|老乡|同学)$")
_TOTAL_MOD = re.compile(
    r"共|等|还有|(?:们|弟弟?|哥哥?|姐姐?|妹妹?|爸爸?|妈妈?|老婆|老公|老伴|媳妇|对象|儿子|女儿|丈夫|妻子|爱人|父亲|母亲|"
    r"家人|亲戚|舅子|叔叔?|舅舅?|表哥|表弟|表姐|表妹|徒弟)$"
)
# Plurals about the workers themselves; an audience ("朋友们", "大家评评理", "吧友们") is not one.
_PLURAL = re.compile(
    r"(我们|俺们|咱们)(?!厂|公司|店|单位|村|家|这|那|老板|小区|县|市|镇|区|当地|一定|要|应该|也)|工人们|民工们|"
    r"农民工们|师傅们|兄弟们|姐妹们|一群|一帮|几个(人|工|老乡|师傅|兄弟|姐妹|同事|同乡)|众多|多名|多人|不少人|好多人|一些人|"
    r"我和|我跟|俺和|他们几|全体"
)
# Months or years *unpaid* (not merely worked): the duration must sit next to an arrears word.
_MONTHS = re.compile(
    rf"(?:拖欠|欠了?|拖了|压了|没发|没给|未发)[^，。,；]{{0,4}}?(?P<num>{_NUM}|俩|半)(?:多|余)?个?(?:多)?(?P<unit>月|年)"
    rf"|(?P<num2>{_NUM}|俩|半)(?:多|余)?个?(?:多)?(?P<unit2>月|年)[^，。,；]{{0,3}}(?:工资|工钱|没发|没给|未发|没拿|拿不到)"
)
# Names of employers and projects. A suffix ("有限公司", "花园") is found first, then the name is read
# backwards from it over name characters and cut after the last word that ends a clause ("在", "的", "被",
# "约谈", "系", "开发商"...), so "工人们聚集在项目部" gives no name rather than a sentence. Then leading places
# and vague words are read off one by one: "潍坊市诸城市山东同舟房地产开发有限公司" is the registered name
# "山东同舟房地产开发有限公司" (the last place of a chain starts it), "任城区顺捷汽修厂" is "顺捷汽修厂" (a shop's name
# carries no place), and a name introduced by 某/一家/那个 ("潍坊某劳务派遣公司") is a description, not a name.
# A crew or site office (工程队, 项目部) is not an employer's name. Each name gets a confidence from its suffix.
_COMPANY_SUFFIX = re.compile(
    r"有限责任公司|股份有限公司|集团有限公司|有限公司|分公司|集团|公司|置业|地产|配送站|网点|经营部|商行|酒店|饭店|餐厅|"
    r"酒楼|超市|购物广场|培训学校|合作社|工作室|事务所|加工厂|制品厂|服装厂|电子厂|"
    r"(?<![商药门])店|养殖场|养鸭场|养鸡场|养猪场|盐场|(?<![工车])厂(?!房)"
)
_COMPANY_STRONG = ("有限", "股份", "集团", "公司", "分公司")
# Named estates and parks ("锦绣华庭", "鲁泰·翡翠城", "润禾工业园8号车间") are names whatever precedes them;
# a descriptive suffix ("项目", "工程", "改造") names a project only with a name or a place of its own.
_ESTATE = (
    r"华庭|华府|悦府|御府|学府|花园|家园|公馆|名邸|雅居|锦苑|书香苑|名苑|佳苑|雅苑|嘉园|和园|御景园|御园|翡翠城|星城|新城|名城|"
    r"天著|云境|壹号院|澜湾|蓝湾|翡翠湾|紫郡|豪庭|府前街区|大厦|产业园|工业园(?:[0-9一二三四五六七八九十]+号车间)?|小区"
)
# "项目部", "项目经理", "项目工资专户": the site office, its manager, its accounts, not a project's name
_NOT_A_PROJECT = r"(?!部(?!分)|经理|方|负责|工资|资金|管理|人员)"
_PROJECT_SUFFIX = re.compile(
    rf"({_ESTATE}|项目{_NOT_A_PROJECT}|工程(?!有限|公司|处|队|款|师|车|量|部)|楼盘|安置房|安置区|教学楼|综合楼|办公楼|大桥|"
    r"隧道|高速公路(?:第?[0-9一二三四五六七八九十]+标段)?|改造|棚改)"
    rf"(?:[一二三四五六七八九十0-9]+期)?(?:安置房|安置区|建设)?(?:项目{_NOT_A_PROJECT}|工程(?!有限|公司|款))?"
)
_ESTATE_START = re.compile(rf"(?:{_ESTATE})")
_SITE_HEADS = ("安置房", "安置区", "教学楼", "综合楼", "办公楼", "棚改")
_NAME_CHAR = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9（）()#·・]")
# characters that end the clause before a name: "在XX公司", "XX的项目部", "被XX集团"
_NAME_BREAK = set("的在被是给向欠说称对跟到去找了由为将把从等让叫帮替当据于所按着因以里起审结及进走与后时喺做干就归")
_NAME_KEEP_AFTER_BREAK = (
    "为民",
    "美的",
    "中为",
    "大为",
    "有为",
    "新的",
    "钢结构",
    "结构",
    "数据",
    "依据",
    "时代",
    "时光",
    "时尚",
)
# words that end the clause before a name, read as whole words: "约谈XX公司", "被告人苏某系XX公司", "开发商XX置业"
_NAME_LEAD = re.compile(
    r"(?:开发|总承包|承包|分包|总包|供应|供货|承建|建材)商|(?:甲|乙|施工|建设|发包|总承包|承包|分包|总包|承建|用工|业主|对|资|开发|投资|双|买|卖|合作|出资)方|"
    r"(?:总承包|承包|分包|总包|施工|建设|用工|发包|开发)单位|被执行人|执行人|被申请人|申请人|被告人?|原告|主张|报道|约谈|起诉|投诉|上诉|"
    r"申诉|反映|举报|核查|核实|调查|经查|拨打|联系上|联系|裁决|判决|判令|责令|督促|要求|通知|虚构|冒充|参与|入职|就职|任职|"
    r"供职|来到|前往|经营|开办|开设|出资|(?:[0-9]{2,4}|[一二三四五六七八九十]{1,4})年|"
    r"承接|承建|承包(?!有限|公司|集团|工程)|总包|单位|老板|工头|负责人|法人|(?<!体)系(?!统|列)|名为|叫做|即为|"
    # "在建住宅项目", "对外承揽工程", "调取项目…", "镇级财政投资项目", "今年共有重点工程"
    r"在建|承揽|完成|调取|调阅|共有|[镇乡县市省区村]级|指控|抹黑|接受|曝光|"
    # "一家工厂德信工程有限公司": the description before a name
    r"(?:一家|一个|某)[\u4e00-\u9fa5]{0,4}?(?:工厂|营造厂|企业|公司)"
)
# words that make a mention a description rather than a name: "某公司", "一家工厂", "那个项目"
_ANONYMOUS = re.compile(
    r"某|一家|一个|一间|一处|一座|一段|一条|一栋|一所|一批|一些|这家|那家|这个|那个|该|哪家|几家|多家|两家|此|"
    r"这种|那种|这类|各类|各种|多个|好几个|几个"
)
_VAGUE_NAME = re.compile(
    r"^((我|你|您|他|她|俺|咱)们?(和|跟|与|及)?|们|和|与|及|本|这|那|一家|几家|哪|其|原|总|分|子|母|大|小|老|新|黑心|无良|当地|外地|对方|"
    r"涉事|用工|施工|建筑|劳务|装修|装饰|物业|外包|总包|分包|派遣|中介|人力|开发|房地产|工程|项目|工地|建设|"
    r"所在|所属|相关|有关|上级|下属|个别|部分|不少|不同|今年|去年|"
    r"政府投资|政府|承包|名工人|工人|工友|开工|新开工|重点|计划|住宅|各项|制衣|服装|电子|食品|家具|加工|建材|纺织|"
    r"机械|化工|五金|塑料|印刷|包装|物流|快递|外卖|餐饮|地产|房产|商品住宅|商品|酒店装修|公司|司|县城|围堵|日前|堵塞|改造|"
    r"老旧|地盘|承建商|承建|分包商|总包商|开发商|省|县|市|全省|全市|全县|"
    r"[一二两三四五六七八九十几数0-9]+(个|家|座|栋|处|号|名)?)+"
)
# a place that only locates the employer ("任城区", "黛溪街道", "经开区"), never part of its registered name
_DISTRICT = re.compile(r"^[\u4e00-\u9fa5]{0,4}?(?:街道|镇|乡|开发区|高新区|经开区|新区|经区|高区|工业园区|园区)")


@dataclass
class Name:
    text: str
    confidence: float
    kind: str = ""  # how it was read (COMPANY_CONFIDENCE, PROJECT_CONFIDENCE)


def _name_before(text: str, start: int, limit: int = 24) -> str:
    """The run of name characters ending at `start`, cut after the last clause-ending character or word."""
    i = start
    while i > 0 and start - i < limit and _NAME_CHAR.match(text[i - 1]):
        i -= 1
    prefix = text[i:start]
    cut = 0
    for k in range(len(prefix) - 1, -1, -1):
        if prefix[k] in _NAME_BREAK and not any(
            prefix[max(0, k - 2) : k + 3].find(w) >= 0 for w in _NAME_KEEP_AFTER_BREAK
        ):
            cut = k + 1
            break
    for lead in _NAME_LEAD.finditer(prefix):
        cut = max(cut, lead.end())
    prefix = prefix[cut:]
    opened = max(prefix.rfind("（"), prefix.rfind("("))
    if opened >= 0 and not re.search(r"[）)]", prefix[opened:]):
        prefix = prefix[opened + 1 :]  # "一家配件厂（威海文登海通…有限公司": the name inside the brackets
    return prefix


def _place_at(prefix: str) -> tuple[str, bool, str | None] | None:
    """The place that `prefix` starts with, whether it is a district that only locates ("崂山区", "黛溪街道"),
    and the Shandong city it lies in."""
    names = gazetteer()
    for size in range(min(8, len(prefix)), 1, -1):
        entry = names.get(prefix[:size])
        if entry is not None:
            return entry.name, entry.name.endswith("区") and entry.name != "市中区", entry.city
    district = _DISTRICT.match(prefix)
    if district:
        return district.group(), True, None
    return None


def _read_lead(prefix: str) -> tuple[list[tuple[str, bool, str | None]], str]:
    """Leading places and the rest of the name; vague words ("当地", "装修") are dropped, single vague
    characters only before the first place ("大连" is a place, but "新" in "山东新华" is part of the name)."""
    places: list[tuple[str, bool, str | None]] = []
    while len(prefix) >= 2:
        place = _place_at(prefix)
        if place:
            places.append(place)
            prefix = prefix[len(place[0]) :]
            continue
        vague = _VAGUE_NAME.match(prefix)
        if vague and (not places or len(vague.group()) >= 2):
            prefix = prefix[vague.end() :]
            continue
        break
    return places, prefix


def _registered_start(places: list[tuple[str, bool, str | None]]) -> str:
    """The place a registered name starts with: the last of a chain that is not a district ("烟台莱阳烟台锦程…"
    → "烟台"), with its city when a county follows its city in short forms ("威海文登海通…", "济宁金乡…")."""
    if not places or places[-1][1]:
        return ""
    name, _, city = places[-1]
    if len(places) >= 2:
        before, district, before_city = places[-2]
        if not district and before == before_city and city == before_city and name != before:
            return before + name
    return name


# a company said to owe, or ordered to pay, is the employer of the case: "判决X公司支付", "X公司拖欠"
_OWES_AFTER = re.compile(r"^[^，。,；;]{0,3}(拖欠|欠|未足额|未支付|未按|不发|不给|克扣|赖账|跑路|支付|偿还)")
_OWES_BEFORE = re.compile(
    r"(判决|判令|责令|被告|被执行人|约谈|起诉|投诉|总包为|承包单位为|施工单位为|总承包单位为|用工单位为)$"
)


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Two-character everyday words of jieba's dictionary (not names: nr/ns/nt/nz tags are left out)."""
    try:
        import jieba
    except ImportError:
        return frozenset()
    words = set()
    with (Path(jieba.__file__).resolve().parent / "dict.txt").open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and len(parts[0]) == 2 and int(parts[1]) >= 5 and parts[2] not in _PROPER_TAGS:
                words.add(parts[0])
    return frozenset(words)


_PROPER_TAGS = {"nr", "nrt", "nrfg", "ns", "nt", "nz"}


# The confidence of each fact is the share of such facts, read the same way, that agreed with the annotation
# in the training corpus (classifier/corpus/train v1-v3: 8,042 texts, names in the 4,592 of v2-v3), rounded
# down; `facts:` in classifier.yaml sets the confidence a fact needs to be shown. Measured 4 December.
COMPANY_CONFIDENCE = {
    "registered": 0.95,  # a registered company's suffix after a name of four characters or more (0.99)
    "brand": 0.9,  # a shop or works named by a brand ("百佳惠超市", "华创电子厂") (0.91)
    "short": 0.3,  # a registered suffix after a name of two or three characters ("文旅集团") (2 of 6)
    "developer": 0.1,  # a developer or client by a short name ("开发方兴鲁置业"), beside the employer (0 of 9)
    "description": 0.1,  # an everyday or trade word ("木材加工厂", "夜班店", "汽修厂") (0.10)
    "fragment": 0.05,  # a clause read as a name ("月开始公司", "那边有个家具厂") (0 of 26)
}
# the client or developer of a project, not the employer of its workers
_DEVELOPER_BEFORE = re.compile(r"(开发方|开发商|建设单位|建设方|业主|业主方|发包方|甲方)(为|是)?$")
# a works named as the site of a project ("东平诚信食品厂扩建项目", "汇丰源热电厂扩建工程") is not the employer
# (a registered company may be: it is read whatever follows)
_SITE_AFTER = re.compile(r"^(的)?(扩建|改扩建|新建|新车间|车间|厂房|装修|改造|技改|搬迁)?(项目(?!部)|工程)")
# parts of speech of jieba that do not occur in a name: pronouns and demonstratives (那边, 有个, 自己), times
# (上周, 月底), conjunctions (但, 而且), aspect particles (过)
_CLAUSE_TAGS = {"r", "ug", "uj", "ul", "uz", "y", "e", "o", "c"}


@lru_cache(maxsize=4096)
def _words(rest: str) -> tuple[tuple[str, str], ...]:
    """jieba's words of `rest` with their parts of speech."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(rest))


def _clause_fragment(rest: str) -> bool:
    """Whether `rest`, the words before a suffix, is a piece of a clause rather than a name: jieba tags one
    of its words as a pronoun, conjunction, particle or time, or as a count of months or times ("8月开始")."""
    return any(
        (tag in _CLAUSE_TAGS and word not in ("之家", "和"))
        or (tag == "t" and len(word) > 1 and not re.fullmatch(r"青年|[一二三四五六七八九十0-9]+期", word))
        or (tag in ("m", "q", "mq") and re.search("[个月间次]", word))
        for word, tag in _words(rest)
    )


def _trade_word(rest: str) -> bool:
    """Whether a two-character `rest` is a trade or a thing rather than a brand ("汽修厂", "冬枣合作社"): jieba
    finds no proper name in it."""
    return len(rest) <= 2 and not any(tag in _PROPER_TAGS for _, tag in _words(rest))


def _company(text: str, m: re.Match[str]) -> Name | None:
    prefix = _name_before(text, m.start())
    strong = m.group().startswith(_COMPANY_STRONG)
    if _ANONYMOUS.search(prefix) or (not strong and _SITE_AFTER.match(text[m.end() : m.end() + 8])):
        return None
    places, rest = _read_lead(prefix)
    if len(rest) < 2 or not re.search(r"[\u4e00-\u9fa5A-Za-z]", rest) or re.search(r"[我你他她俺咱]", rest):
        return None
    if _clause_fragment(rest):
        kind = "fragment"
    elif rest[:2] in _common_words() and (not strong or m.group() == "公司"):
        kind = "description"  # "木材加工厂", "今天厂", "保洁公司"
    elif strong:
        kind = "registered" if len(rest) >= 4 else "short"
    else:
        kind = "description" if _trade_word(rest) else "brand"
    start = _registered_start(places)
    name = (start if (start + rest) in prefix else "") + rest + m.group()
    if kind == "brand" and _DEVELOPER_BEFORE.search(text[max(0, m.end() - len(name) - 4) : m.end() - len(name)]):
        kind = "developer"
    return Name(name, COMPANY_CONFIDENCE[kind], kind)


# words a description of a site starts with, beyond jieba's everyday words: "央企项目", "钢结构工程", "棚户区改造项目"
_GENERIC_SITE = re.compile(
    r"央企|国企|钢结构|民宿|旧|厂房|棚户|片区|城中村|学校|小学|中学|医院|道路|污水|管网|安置|保障|商住|商业|住宅|写字楼|"
    r"光伏|风电|电站|地铁|高铁|公路|国道|省道|桥|河道|水利|园区|工业|产业|市政|乡村|农村|乡镇|[0-9第]"
)
# a suffix that is the head of a company's name: "洛阳华府置业有限公司", "山东蓝湾大酒店"
_COMPANY_AFTER = re.compile(r"(?:(?![被在的和与及])[\u4e00-\u9fa5]){0,6}?(?:有限|公司|集团|置业|地产|酒店|厂)")


# as COMPANY_CONFIDENCE, for projects
PROJECT_CONFIDENCE = {
    "named": 0.95,  # a name of its own ("祥和公馆", "齐成化工园区管廊项目") (0.95)
    "placed": 0.9,  # a description with its place ("日照220千伏输变电工程", "泉庄镇安置房项目") (0.97)
    "description": 0.3,  # a description alone ("检修项目", "公办小学教学楼项目") (0.30)
    "fragment": 0.05,  # a clause read as a name ("然而工程", "并非项目") (0 of 8)
}
# as COMPANY_CONFIDENCE, for headcounts and sums
WORKERS_CONFIDENCE = {
    "stated": 0.95,  # a count the text gives ("30多个农民工", "我和两个老乡") (0.98)
    "inferred": 0.95,  # one worker, from a case told in the singular (shown for real cases only) (0.99)
    "hearsay": 0.65,  # others said to be in the same plight ("车间里还有十几个工友也是这样") (0.65)
}
AMOUNT_CONFIDENCE = {
    "unit": 0.95,  # a sum with its unit ("4.5万元", "两千六百块") (0.95)
    "bare": 0.85,  # a bare number next to words of money owed ("欠我4600") (0.88)
    "own": 0.6,  # the writer's own sum where several are owed ("欠我一万六…车间二十八人都一样") (16 of 25)
}


# zones that name no place of their own ("园区办公楼"), and a description that an article opens ("一所乡镇中学")
_BARE_ZONES = ("园区", "新区", "开发区", "高新区", "经开区", "工业园区", "厂区", "景区")
_DESCRIBED_BEFORE = re.compile(r"(一所|一处|一座|一个|这个|那个|这所|那所)$")


def _project(text: str, m: re.Match[str]) -> Name | None:
    prefix = _name_before(text, m.start())
    opening = text[max(0, m.start() - len(prefix) - 2) : m.start() - len(prefix)]
    if _ANONYMOUS.search(prefix) or _DESCRIBED_BEFORE.search(opening) or _COMPANY_AFTER.match(text, m.end()):
        return None
    places, rest = _read_lead(prefix)
    placed = prefix[prefix.rfind(places[-1][0]) :] + m.group() if places else ""
    if not rest and places and places[-1][0] not in _BARE_ZONES and m.group().startswith(_SITE_HEADS):
        # "泉庄镇安置房项目"; not "园区办公楼"
        return Name(placed, PROJECT_CONFIDENCE["placed"], "placed")
    if len(rest) < 2 or re.search(r"[我你您他她俺咱]|有限|公司|集团", rest):
        return None
    if _clause_fragment(rest):
        return Name(rest + m.group(), PROJECT_CONFIDENCE["fragment"], "fragment")
    if places and rest[0] in "至到":  # "临沂至滨州高速公路第4标段"
        return Name(placed, PROJECT_CONFIDENCE["named"], "named")
    if _ESTATE_START.match(m.group()) or not (rest[:2] in _common_words() or _GENERIC_SITE.match(rest)):
        # a name of its own ("祥和公馆", "齐成化工园区管廊项目") is annotated without the place before it
        return Name(rest + m.group(), PROJECT_CONFIDENCE["named"], "named")
    # a description ("中医院病房楼项目", "220千伏输变电工程") names a project only with its place ("日照220千伏
    # 输变电工程", "泉庄镇安置房项目"); alone ("检修项目", "公办小学教学楼项目") it names none
    if not places:
        return Name(rest + m.group(), PROJECT_CONFIDENCE["description"], "description")
    return Name(placed, PROJECT_CONFIDENCE["placed"], "placed")


def extract_company(text: str) -> Name | None:
    """The first employer or contractor named in full ("临沂鸿泰建筑劳务有限公司"); vague mentions ("老板",
    "某公司", "工地") and clause fragments give None."""
    found: list[tuple[float, bool, int, Name]] = []
    for m in _COMPANY_SUFFIX.finditer(text):
        name = _company(text, m)
        if name:
            start = m.end() - len(name.text)
            owes = bool(
                _OWES_AFTER.search(text[m.end() : m.end() + 8]) or _OWES_BEFORE.search(text[max(0, start - 6) : start])
            )
            found.append((name.confidence, owes, -len(found), name))
    return max(found, key=lambda f: f[:3])[3] if found else None


def extract_project(text: str) -> Name | None:
    """The first project or site named ("兰陵县第三实验小学教学楼项目", "嘉禾花园"); "工地" alone gives None."""
    names = [n for m in _PROJECT_SUFFIX.finditer(text) if (n := _project(text, m))]
    return max(names[:3], key=lambda n: n.confidence) if names else None


# Escalation signals, each a named pattern so the explanation can say which one fired. Each needs the
# phrase's real meaning: everyday words built on the same characters (打了半个月零工, 打电话, 打官司, 跳槽,
# 跳楼价, 爬起来, 堵心, 上8楼找老板) must not fire; classifier/data/signal_phrases.yaml lists both kinds and
# a CI test keeps every entry true.
_HIGH_PLACE = (
    r"(塔吊|塔机|吊臂|吊车|龙门吊|门机|楼顶|屋顶|房顶|天台|楼沿|楼边|顶楼|楼顶边|铁塔|电塔|高压塔|信号塔|广告牌|"
    r"烟囱|电线杆|大桥|桥上|桥栏|桥梁|立交桥|高架|脚手架顶|外架顶|窗台|窗外|阳台外|护栏外|栏杆外|\d+层楼?顶|楼的顶)"
)
_CLIMB = r"(爬上|爬到|爬至|登上|登到|攀上|攀到|攀爬|站上|站在|站到|坐在|坐到|蹲在|待在|躺在|上到|上了)"
EXTREME_PATTERNS: dict[str, re.Pattern[str]] = {
    "跳楼或登高": re.compile(
        rf"{_CLIMB}了?[^，。,；;！!？?]{{0,8}}{_HIGH_PLACE}"
        r"|(跳楼|跳桥|跳河|跳江|跳下去|跳下来|往下跳|纵身)(?!价|甩|大甩|机)"
        r"|(扬言|威胁|要|就|想|准备|作势)(要)?跳(?!槽|舞|绳|水|远|高|过|出|板|蚤|动|脱|级|闸|票|车|单|操|伞|台|线|脚|楼价|楼大|楼甩)"
        r"|以死相逼|以跳楼相威胁"
    ),
    "轻生或自伤": re.compile(
        r"轻生|扬言自杀|寻死|自杀(?!式)|自残|割腕|喝农药|拿着农药|服农药|一瓶农药|泼汽油|浇汽油|"
        r"带着汽油|拿着汽油|自焚|上吊|服毒|划伤自己|伤害自己"
    ),
    "堵路": re.compile(
        r"堵路|拦路|拦车|卧轨|堵(住|了|在)?[^，。,；;]{0,3}(马路|公路|道路|交通|高速|国道|省道)"
        r"|(拦|截)(住|下|停)[^，。,；;]{0,4}车|拦截车辆|拦停"
        r"|(躺|坐|跪)(在|到)了?[^，。,；;]{0,2}(马路中间|路中间|马路上|公路上|高速|国道)"
        r"|把[^，。,；;]{0,6}(路|路口|马路|公路)给?(拦|堵|封)(了|住|死)"
        r"|(阻断|阻碍|堵塞)[^，。,；;]{0,2}交通|造成交通(中断|瘫痪|堵塞)"
    ),
    "暴力冲突": re.compile(
        r"殴打|打伤|打骨折|打断(了)?[^，。,；;]{0,2}(腿|胳膊|肋骨|手|鼻梁)|(?<!想)打人|"
        r"打了(我|他|她|工人|工友|民工|农民工|讨薪|一顿|对方)"
        r"|(被|遭|挨)(人)?(打|揍|殴)(?!工|电话|卡|听|折|扰|款|车|官司|击|包|针|算|表|印|开|发|回|压|入|上|断|造|理|游|球|牌|翻|call)"
        r"|大打出手|打起来|打了起来|动手打|拳打脚踢|动刀|持刀|挥刀|持械|持棍|持锤|拿刀(威胁|砍|逼)|拿着刀(威胁|砍|逼)|"
        r"砍伤|砍人|刺伤|捅伤|群殴|斗殴|头破血流|推搡|推下(楼|去)|砸车|砸伤|撞伤|致伤|轻伤|重伤|轻微伤"
    ),
}
# A second signal that an extreme act really happened (responders at the scene, a crowd, a notice).
RESPONSE_SIGNALS = re.compile(r"消防|民警|警方|派出所|110|劝下|劝说|救下|救援|气垫|围观|警情|通报|拘留|处置|谈判专家")
GROUP_PATTERNS: dict[str, re.Pattern[str]] = {
    "拉横幅": re.compile(r"横幅|条幅|举牌|举着牌子|标语"),
    "到政府部门聚集或上访": re.compile(
        r"上访|信访|(政府|人社局|住建局|劳动局|城管局|卫健局|交通局|办事处|街道办|镇政府|县政府|区政府|市政府)"
        r"[^，。,；]{0,4}(门口|门前|大院|讨|要|坐|反映|聚集)|(去|到|在)[^，。,；]{0,3}(政府|人社局|信访局)"
    ),
    "聚集": re.compile(r"聚集|静坐|围堵|集体讨|一起去|大家伙|全体工友|堵[^，。,；]{0,2}门"),
}


# Public buildings count only as the work site ("学校扩建工程"), not in passing ("送医院了").
_PUBLIC_BUILDING = r"(学校|小学|中学|幼儿园|医院|卫生院|敬老院|体育馆|图书馆|公园|办公楼|政府大楼|派出所|法院|养老院)"
_GOVERNMENT = re.compile(
    r"政府投资|政府项目|政府的项目|政府工程|政府出钱|财政|市政|公立|棚改|棚户区|安置房|保障房|城投|水利|河道|水渠|修路|修桥|"
    r"道路(工程|改造|施工|建设)|公路|桥梁|管网|污水|雨污|乡村振兴|美丽乡村|景观提升|老旧小区改造|城中村改造|街道办"
    rf"|{_PUBLIC_BUILDING}[^，。,；]{{0,6}}(项目|工程|工地|扩建|新建|改造|建设|施工|装修)"
    rf"|(修|建|盖|改造|扩建|新建|装修)[^，。,；]{{0,4}}{_PUBLIC_BUILDING}"
)
SOE_CUES = (
    "国企",
    "央企",
    "中建",
    "中铁",
    "中交",
    "中冶",
    "电建",
    "铁建",
    "中化",
    "国有",
    "城建集团",
    "高速集团",
    "油田",
    "中石油",
    "中石化",
    "国家电网",
    "电力公司",
    "国资",
)
REAL_ESTATE_CUES = ("楼盘", "小区", "房地产", "地产", "置业", "开发商", "售楼")
FACTORY_CUES = ("工厂", "厂里", "车间", "厂子", "纺织", "服装厂", "电子厂", "化工厂", "加工厂", "厂房")


def chinese_number(text: str) -> float | None:
    """'8' -> 8, '3.5' -> 3.5, '三十' -> 30, '一千八' -> 1800, '七八' -> 7 (a range: its lower bound)."""
    if not text:
        return None
    if text[0] in "几数":
        text = "一" + text[1:]
    if text[0].isdigit():
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return None
    # "七八万", "一二十个": two neighbouring digits are a range; keep the lower one
    chars = [
        c
        for i, c in enumerate(text)
        if not (i and c in _DIGITS and text[i - 1] in _DIGITS and _DIGITS[c] == _DIGITS[text[i - 1]] + 1)
    ]
    total, current, last_unit, after_zero = 0, 0, 0, False
    for ch in chars:
        if ch in _DIGITS:
            current = _DIGITS[ch]
            after_zero = ch in "零〇"
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current, last_unit = 0, _UNITS[ch]
        else:
            return None
    if current and last_unit >= 100 and not after_zero and "零" not in chars[-2:-1]:
        current *= last_unit // 10  # colloquial "一千八" = 1800, "三百五" = 350
    return float(total + current)


@dataclass
class Amount:
    yuan: float
    approximate: bool
    evidence: str
    at: int = -1  # where the evidence starts in the text read
    wages: bool = True  # False: money of another kind (工程款, 货款…), read only when the text states no other sum


@dataclass
class Facts:
    amount: Amount | None = None
    claimed: Amount | None = None  # the largest sum, whatever its kind: what a false claim asks for
    workers: int | None = None
    months_unpaid: int | None = None
    company: str | None = None
    project: str | None = None
    company_confidence: float = 0.0
    project_confidence: float = 0.0
    project_type: str | None = None
    extreme_signals: list[str] = field(default_factory=list)
    group_signals: list[str] = field(default_factory=list)
    extreme_evidence: list[str] = field(default_factory=list)  # the matched phrases, for the explanation
    responders: bool = False  # police, firefighters or a notice at the scene: a second sign of an extreme act

    workers_approximate: bool = False  # "百余名", "30多个": the count is a lower bound
    several_workers: bool = False  # a plural ("我们几个", "这些工人") without a number
    workers_inferred: bool = False  # one worker assumed from a singular telling, no number in the text
    workers_by_hearsay: bool = False  # the count is of others said to be in the same plight ("还有八个工友也是")
    amount_own: bool = False  # the sum is the writer's own among several workers owed ("欠我一万六…二十八人")

    @property
    def extreme(self) -> bool:
        return bool(self.extreme_signals)

    def stated_amount(self, label: str) -> Amount | None:
        """The sum to show for a text judged `label`: the sum a false claim asks for, the wages owed otherwise."""
        return self.claimed if label == "false" else self.amount

    def confidence(self, label: str = "real") -> dict[str, float]:
        """How far each fact can be trusted: the share of facts read the same way that agreed with the
        annotation in the training corpus (COMPANY_CONFIDENCE, PROJECT_CONFIDENCE, WORKERS_CONFIDENCE,
        AMOUNT_CONFIDENCE), so that a threshold on it is a promise about the facts shown."""
        amount = self.stated_amount(label)
        how = "hearsay" if self.workers_by_hearsay else "inferred" if self.workers_inferred else "stated"
        unit = amount is not None and re.search(r"[元块万亿]", amount.evidence)
        kind = "own" if self.amount_own and label != "false" else "unit" if unit else "bare"
        return {
            "company": self.company_confidence,
            "project": self.project_confidence,
            "workers": 0.0 if self.workers is None else WORKERS_CONFIDENCE[how],
            "amount": 0.0 if amount is None else AMOUNT_CONFIDENCE[kind],
        }


def _amount_from_match(m: re.Match[str]) -> Amount | None:
    num = m.group("num") or m.group("num2")
    value = chinese_number(num)
    if value is None:
        return None
    big = m.group("big")
    approx = bool(m.group("approx") or m.group("approx2") or m.group("approx3"))
    if big:
        value *= _BIG[big]
        rest = m.group("rest")
        if rest and not rest[0].isdigit() and len(rest) > 1 and not re.search("[千百十]", rest):
            rest = rest[0]  # "两万九一分不少": 29,000, the 一 belongs to 一分
        if rest:  # "8万3" = 83,000; "8万3千" = 83,000; "3万25" is not a thing, "3万2500" is
            tail = chinese_number(rest.rstrip("千"))
            if tail is not None:
                if rest.endswith("千") or (len(rest) == 1 and tail < 10):
                    value += tail * _BIG[big] / 10
                elif tail < _BIG[big]:
                    value += tail
    return Amount(yuan=value, approximate=approx, evidence=m.group())


# A bare four-digit number is a calendar year by its context, whatever the year: "从2019到现在",
# "2041至今", "自2030起"; "欠我2000" and "一共2036" are sums.
_YEAR_BEFORE = re.compile(r"(从|自|于|在|截至|截止|到|至|是|那年|今年|去年|前年|早在)\s*$")
_YEAR_AFTER = re.compile(r"^\s*(至今|到现在|到今天|以来|开始|起|底|初|年|届|级|版|款|年度|[-—~～至到]\s*[0-9]{2,4})")


def _is_year(text: str, m: re.Match[str]) -> bool:
    if len(m.group("num")) != 4 or m.group("num")[:2] not in ("19", "20", "21"):
        return False
    return bool(
        _YEAR_BEFORE.search(text[max(0, m.start() - 4) : m.start()]) or _YEAR_AFTER.search(text[m.end() : m.end() + 8])
    )


# the pay agreed or due in all, less the part paid, is what is owed: "说好三千五，给了一千", "共计五十一万元，仅支付十二万元"
_AGREED_BEFORE = re.compile(
    r"(说好|讲好|谈好|约定|答应|一共|共计|总共|合计|应付|应发|结算)[的了为是]?[^，。,；;]{0,4}$"
)
_PART_PAID_BEFORE = re.compile(
    r"(给了|发了|付了|结了|只给了?|领了|预支了?|先给了?|已付|仅支付|只支付|只付了?|又打了)[^，。,；;]{0,2}$"
)
# only a part paid, said after the sum ("4800的工资只给了800", "八个月的工钱四万八，只给了六千块"): the rest is owed
_ONLY_PAID_BEFORE = re.compile(r"(只给了?|只发了?|只转了?|只付了?|仅支付了?|只支付了?)[^，。,；;]{0,4}$")
# what is still owed, said as such, is the amount: "已付十万，还差166000元"
_REMAINDER_BEFORE = re.compile(r"(还差|尚欠|仍欠|还欠|剩下的?|还剩|仍拖欠)[^，。,；;0-9]{0,2}$")
# "现还有四十六万元未付"
_STILL_BEFORE = re.compile(r"(还有|仍有|尚有)$")
_UNPAID_AFTER = re.compile(r"^(未付|未支付|没给|没付|未结|没结|没发|未发)")
# "千万别想不开": the adverb, not ten million
_NOT_A_SUM_AFTER = re.compile(r"^[别不要莫得记注小当]")
# a legal range or a fine ("处2万元以上100万元以下罚款") and a number to call ("拨打1955专线") are not sums owed
_RANGE_AFTER = re.compile(r"^(以上|以下|以内|罚)")
_COUNTED_AFTER = re.compile(r"^[户人名个套间亩吨件辆次家项起条栋座份册]")  # "涉及居民5万余户"
_CALL_BEFORE = re.compile(r"(拨打|致电|热线|专线|电话)[^，。,；;0-9]{0,2}$")
# money other than wages: a project or goods payment, a value, a deposit ("工程款38万元", "价值四十余万元的
# 苹果", "四万二的装修款"). The labelling guide records it for a false claim (the sum claimed under the name of
# wages) and never for a real case, so it is read only when the text states no other sum, and marked.
_OTHER_MONEY_BEFORE = re.compile(
    r"(工程款|工程结算款|结算款|货款|材料款|装修款|租赁费|租金|押金|学费|储值|余额|贷款|借款|投资款?|出资|入股|价值|标的额|"
    r"运费|违约金|分红|利润)[^，。,；;0-9]{0,4}$"
)
_OTHER_MONEY_AFTER = re.compile(r"^(的|元的)?(工程款|工程结算款|货款|材料款|装修款|租赁费|押金|学费|借款|投资款?|用于)")
# not a sum at all: a count of views ("播放量超过50万") or a sum in another currency ("约新台币十八万元",
# "四万五千美元", "二十万港元"), which the labelling guide, counting yuan, leaves out
_NOT_MONEY_BEFORE = re.compile(
    r"(播放量|播放|浏览量|阅读量|点击量|粉丝|涨粉|观看|点赞|新台币|台币|港币|港元|澳门币|澳门元|美元|美金|令吉|新元|加元|欧元|日元|"
    r"韩元|英镑)[^，。,；;0-9]{0,4}$"
)
_NOT_MONEY_AFTER = re.compile(
    r"^(港元|港币|澳门元|澳门币|澳元|美元|美金|令吉|新元|新币|加元|欧元|日元|韩元|英镑|台币|新台币|播放|次播放|粉丝|粉|人次)"
)


def _money_kind(text: str, start: int, end: int) -> str | None:
    """The kind of the sum at text[start:end]: "wages" (may be wages), "other" (money of another kind) or
    None (no sum in yuan)."""
    before, after = text[max(0, start - 8) : start], text[end : end + 6]
    if _NOT_MONEY_BEFORE.search(before) or _NOT_MONEY_AFTER.match(after):
        return None
    if _OTHER_MONEY_BEFORE.search(before) or _OTHER_MONEY_AFTER.match(after):
        return "other"
    return "wages"


def _paid_part(text: str, at: int, amount: Amount, paid: list[tuple[Amount, bool]]) -> None:
    """Add `amount`, found at `at` after a word of paying, to `paid` when it is a part paid, with whether only
    that part was paid ("只给了800")."""
    before = text[max(0, at - 8) : at]
    only = bool(_ONLY_PAID_BEFORE.search(before)) and not re.search(r"每月|每个月|每人|每个人|人均", before)
    if only or _PART_PAID_BEFORE.search(text[max(0, at - 6) : at]):
        amount.at = at
        paid.append((amount, only))


def _amounts(text: str, paid: list[tuple[Amount, bool]] | None = None) -> list[Amount]:
    """Sums owed in `text`; sums paid are skipped and, when `paid` is a list, collected into it."""
    found: list[Amount] = []
    taken: list[tuple[int, int]] = []
    for m in _AMOUNT.finditer(text):
        taken.append(m.span())
        if _PAID_BEFORE.search(text[max(0, m.start() - 8) : m.start()]):
            amount = _amount_from_match(m)
            vague = (m.group("num") or m.group("num2"))[0] in "几数"  # "只付了几百块"
            if paid is not None and amount and not vague:
                _paid_part(text, m.start(), amount, paid)
            continue
        amount = _amount_from_match(m)
        if m.group() in ("千万", "万万") and _NOT_A_SUM_AFTER.match(text[m.end() : m.end() + 1]):
            continue
        if _RANGE_AFTER.match(text[m.end() : m.end() + 2]) or (
            not (m.group("unit") or m.group("unit2")) and _COUNTED_AFTER.match(text[m.end() : m.end() + 1])
        ):
            continue
        kind = _money_kind(text, m.start(), m.end())
        if _RATE_BEFORE.search(text[max(0, m.start() - 6) : m.start()]):
            continue
        if amount and amount.yuan >= 50 and kind:
            amount.at, amount.wages = m.start(), kind == "wages"
            found.append(amount)
    for pattern in (_BARE, _BARE_CN):
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in taken) or m.group("num") in _HOTLINES:
                continue
            if _CALL_BEFORE.search(text[max(0, m.start() - 4) : m.start()]):
                continue
            before, after = text[max(0, m.start() - 6) : m.start()], text[m.end() : m.end() + 6]
            if not (_MONEY_CONTEXT.search(before) or _MONEY_CONTEXT.search(after)):
                continue
            if _PAID_BEFORE.search(text[max(0, m.start() - 8) : m.start()]):
                value = chinese_number(m.group("num"))
                if paid is not None and value:
                    _paid_part(text, m.start(), Amount(value, False, m.group()), paid)
                continue
            value = chinese_number(m.group("num"))
            if value is None or value < 100 or (pattern is _BARE and _is_year(text, m)):
                continue
            kind = _money_kind(text, m.start(), m.end())
            if kind is None or _RATE_BEFORE.search(text[max(0, m.start() - 6) : m.start()]):
                continue
            approx = bool(m.groupdict().get("approx"))
            found.append(Amount(value, approx, m.group(), m.start(), kind == "wages"))
    return found


def extract_amount(text: str, claimed: bool = False) -> Amount | None:
    """The largest sum owed, in yuan: wage totals are usually the biggest number in the text.

    Sums paid, fines and per-person or per-day rates are skipped ("只给了200块", "每人1万元"). Money of
    another kind (工程款, 货款…) counts only where no other sum is stated, unless `claimed`: the sum a false
    claim asks for under the name of wages is recorded whatever it is.
    """
    paid: list[tuple[Amount, bool]] = []
    found = _amounts(text, paid)
    if not claimed:
        found = [a for a in found if a.wages] or found
    if not found:
        return None
    remainder = [
        a
        for a in found
        if _REMAINDER_BEFORE.search(text[max(0, a.at - 6) : a.at])
        or (
            _STILL_BEFORE.search(text[max(0, a.at - 4) : a.at])
            and _UNPAID_AFTER.match(text[a.at + len(a.evidence) : a.at + len(a.evidence) + 4])
        )
    ]
    if remainder:
        return max(remainder, key=lambda a: a.yuan)
    best = max(found, key=lambda a: a.yuan)
    start = best.at
    # "说好三千五，给了一千" owes 2,500: the agreed pay less what was paid; so does a sum of which only a part
    # was paid, said after it ("4800的工资只给了800"). A false claim's sum is recorded as claimed.
    agreed = _AGREED_BEFORE.search(text[max(0, start - 8) : start])
    part = sum(p.yuan for p, only in paid if agreed or (only and not claimed and p.at > start))
    if 0 < part < best.yuan:
        return Amount(best.yuan - part, best.approximate, best.evidence, best.at, best.wages)
    return best


_PARTNERSHIP = re.compile(r"[^，。,；;]{0,3}?(合伙|合作|入股|各出|出资)")


def extract_workers(text: str) -> int | None:
    """How many workers are owed: "30多个农民工" → 30, "我们仨" → 3, "我和两个老乡" → 3, "我…" → 1."""
    counts: list[int] = []
    for m in _WORKERS.finditer(text):
        value = chinese_number(m.group("num"))
        if value is None or value < 2 or value > 100_000:
            continue  # a lone "一名男子" in a notice is not annotated as a headcount
        if m.group("who2") == "人" and value > 5000:
            continue
        if text[max(0, m.start() - 1) : m.start()] in ("第", "前", "近") or _PARTNERSHIP.match(text, m.end()):
            continue  # "两名合伙人": partners are not workers
        counts.append(int(value))
    for m in _GROUP_COUNT.finditer(text):
        value = chinese_number(m.group("num"))
        if value and 2 <= value <= 100_000:
            counts.append(int(value))
    for m in _COMPANIONS.finditer(text):
        mod = m.group("mod") or ""
        if _TOTAL_MOD.search(mod) or "伙同" in m.group():
            continue
        if _PEER.search(mod) and text.startswith(("个人", "人"), m.end("num")):
            continue  # "我和同事两人": the total; "我爸和同村七个人" are seven more
        if m.group("num") == "一" and text[m.start("num") - 1] == "另":
            continue  # "与另一名员工": one other, not a companion
        value = chinese_number(m.group("num"))
        if value and 1 <= value < 20:
            counts.append(int(value) + 1)
    partner = _PARTNER.search(text)
    if not counts and partner and not _PARTNERSHIP.match(text, partner.end()):
        counts.append(2)  # "我和我爸", "我和同事", but not "我和朋友合伙" (a partnership has no workers owed)
    if counts:
        return max(counts)
    if text and not _PLURAL.search(text):
        return 1  # a case told without any plural ("老板欠我2400", "一名男子爬上塔吊") is one worker
    return None


def workers_approximate(text: str) -> bool:
    """Whether the largest headcount is a lower bound ("百余名" is more than 100, "一百名" exactly 100)."""
    best, approx = 0, False
    for m in _WORKERS.finditer(text):
        value = chinese_number(m.group("num")) or 0
        if value > best or (value == best and m.group("approx")):
            best, approx = value, bool(m.group("approx")) or m.group("num")[0] in "几数"
    return approx


def extract_months(text: str) -> int | None:
    """Months of pay owed ("拖欠三个月工资" → 3, "欠了两年" → 24); durations merely worked do not count."""
    values = []
    for m in _MONTHS.finditer(text):
        raw = m.group("num") or m.group("num2")
        value = 0.5 if raw == "半" else 2.0 if raw == "俩" else chinese_number(raw)
        if value is None:
            continue
        if (m.group("unit") or m.group("unit2")) == "年":
            value *= 12
        if 1 <= value <= 120:
            values.append(value)
    return int(max(values)) if values else None


def project_type(text: str) -> str | None:
    if any(cue in text for cue in SOE_CUES):
        return "soe"
    if _GOVERNMENT.search(text):
        return "government"
    for kind, cues in (("real_estate", REAL_ESTATE_CUES), ("factory", FACTORY_CUES)):
        if any(cue in text for cue in cues):
            return kind
    if re.search(r"装修|饭店|餐馆|物流|快递|外卖|家政|保洁|物业|农场|养殖", text):
        return "other"
    return None


# A sentence of statistics, policy or pay handed out in a longer report ("今年以来共追回工资9.1亿元",
# "总投资384亿元", "全市1.2万名农民工", "现场发放工资318万元") carries no sum or headcount of the case itself.
_STATISTIC = re.compile(
    r"累计(?!拖欠|欠|被欠|被拖欠)|今年以来|去年以来|近年来|以来[^，。]{0,6}共|共受理|共办理|共追回|共为|共计为|为[0-9一二三四五六七八九十百千万余多]+名劳动者|"
    r"总投资|投资[^，。]{0,4}亿|同比|环比|占比|约占|办结率|覆盖率|平均|(?:全市|全省|全县|全区|全国)(?![^，。,；;]{0,8}?(?:改造|工程|项目))|各地|据统计|统计显示|数据显示|"
    r"[0-9.]+亿|[一二三四五六七八九十百千几数]+亿|"
    # pay handed out or on offer, not owed: a payday ceremony, a job fair, a wage arriving on a phone
    r"集中发放|发放仪式|排队领|(?<!按月)(?<![没未])领取工资|现场发放|招聘会|岗位|月薪普遍|(?<![没未不])到账了|"
    # pay handed out to a site's workforce, a class or an audience ("一百多名工人的工资…统一代发到卡",
    # "79名农民工取得…证书", "解答了74名务工人员的咨询")
    r"代发到卡|统一代发|培训班结业|结业仪式|证书|解答了|咨询"
)
# a sentence about a whole workforce paid ("在册农民工共72人，工资均已…发放") gives no headcount owed, though
# a false claim's sum may stand in it ("称欠工资两百多万，…工资早已通过专用账户发放完毕")
_PAID_WORKFORCE = re.compile(r"在职员工|在册[^，。,]{0,6}共|共有在册|(?:均|早|都)已(?:通过|按月)[^，。,]{0,10}发放")
# a sentence ends at its stop, and a court's "案例一:" opens a case of its own after a sentence of statistics
_SENTENCE = re.compile(r"[^。！？!?；;:：\n]+[。！？!?；;:：\n]*")


def case_sentences(text: str, headcount: bool = False) -> str:
    """`text` without its statistic sentences (kept whole when every sentence is one): the sums and
    headcounts of a long report's case, not of the region's yearly figures; for a `headcount`, without the
    sentences about a workforce paid too."""
    patterns = [_STATISTIC, _PAID_WORKFORCE] if headcount else [_STATISTIC]
    if not any(p.search(text) for p in patterns):
        return text
    kept = "".join(s for s in _SENTENCE.findall(text) if not any(p.search(s) for p in patterns))
    return kept or text


# a sum said of one person ("本人被欠10200元", "每个人都被欠了五六千") is not the total of a group
_ONE_PERSON_BEFORE = re.compile(
    r"(本人|我个人|(?<![0-9一二两三四五六七八九十几多])个人|每人|每个人|每名[^，。,；;]{0,4}|(?<![0-9十])一个人|人均|"
    r"有的[^，。,；;]{0,4})[^，。,；;0-9和跟与们及组队]{0,10}$"
)


# the writer's own sum where others are owed too ("公司欠我三个月工资一万六…车间二十八人都是同样情况"): the
# labelling guide records no per-person figure, yet annotators often record it; its confidence says so
_OWN_SUM_BEFORE = re.compile(
    r"((?:欠|少|差)(?:了)?我(?![们和跟与及])|(?<![和跟与])我(?:自己)?被(?:拖)?欠)[^，。,；;0-9和跟与们及组队]{0,10}$"
)


def _own_sum(amount: Amount | None, workers: int | None, text: str) -> bool:
    """Whether `amount` is the writer's own sum in a text that tells of several workers owed."""
    return bool(
        amount
        and workers
        and workers >= 2
        and amount.at >= 0
        and _OWN_SUM_BEFORE.search(text[max(0, amount.at - 16) : amount.at])
    )


def _group_total(amount: Amount | None, workers: int | None, text: str) -> Amount | None:
    """`amount`, unless the text tells of several workers and the sum is one person's: the labelling guide
    records no amount when only a per-person figure is given."""
    if amount is None or not workers or workers < 2 or amount.at < 0:
        return amount
    return None if _ONE_PERSON_BEFORE.search(text[max(0, amount.at - 16) : amount.at]) else amount


# others mentioned beside the one who writes ("厂里还有七八个工友也是这样", "车间里三十多名工人都有类似情况"):
# whether they are counted among those owed is read both ways by the annotators, so such a count is a guess
_OTHERS_BEFORE = re.compile(r"还有[^，。,；;]{0,3}$")
_OTHERS_AFTER = re.compile(
    r"^[^，。,；;]{0,6}?(也|都)[^，。,；;]{0,6}(一样|这样|类似|差不多|同样)|^[^，。,；;]{0,8}?情况都"
)


def _said_of_others(text: str, workers: int | None) -> bool:
    """Whether the headcount `workers` is read from a mention of others in the same plight."""
    if not workers or workers < 2:
        return False
    for m in _WORKERS.finditer(text):
        value = chinese_number(m.group("num"))
        near = _OTHERS_BEFORE.search(text[max(0, m.start() - 5) : m.start()]) or _OTHERS_AFTER.search(
            text[m.end() : m.end() + 16]
        )
        if near and value is not None and int(value) in (workers, workers - 1):
            return True
    return False


# Wages reported from Taiwan, Hong Kong, Macau or abroad are in the local currency unless yuan is said: the
# labelling guide records sums in yuan only ("積欠薪資八萬元" in a Taipei report is NT$80,000)
_LOCAL_CURRENCY_PLACE = re.compile(
    r"台湾|台北|台中|台南|高雄|新北(?!区)|新竹|彰化|屏东|嘉义|宜兰|花莲|基隆|苗栗|云林|南投|香港|新界|观塘|将军澳|"
    r"荃湾|澳门|氹仔|新加坡|马来西亚|槟城|吉隆坡|纽约|法拉盛|多伦多|劳资审裁处|破欠基金|劳工事务局"
)
_YUAN_SAID = re.compile(r"人民币|内地|大陆")


def _in_yuan(text: str) -> bool:
    return not _LOCAL_CURRENCY_PLACE.search(text) or bool(_YUAN_SAID.search(text))


def extract(text: str) -> Facts:
    company = extract_company(text)
    project = extract_project(text)
    case = case_sentences(text)
    people = case_sentences(text, headcount=True)
    workers = extract_workers(people)
    yuan = _in_yuan(text)
    amount = _group_total(extract_amount(case), workers, case) if yuan else None
    extreme = {name: [m.group() for m in pattern.finditer(text)] for name, pattern in EXTREME_PATTERNS.items()}
    return Facts(
        amount=amount,
        claimed=_group_total(extract_amount(case, claimed=True), workers, case) if yuan else None,
        workers=workers,
        months_unpaid=extract_months(text),
        company=company.text if company else None,
        project=project.text if project else None,
        company_confidence=company.confidence if company else 0.0,
        project_confidence=project.confidence if project else 0.0,
        project_type=project_type(text),
        workers_approximate=workers_approximate(people),
        # extract_workers said 1: stated only when a count or a companion is written out
        workers_inferred=workers == 1
        and not (_WORKERS.search(people) or _GROUP_COUNT.search(people) or _COMPANIONS.search(people)),
        workers_by_hearsay=_said_of_others(people, workers),
        amount_own=_own_sum(amount, workers, case),
        several_workers=bool(_PLURAL.search(text)),
        extreme_signals=[name for name, found in extreme.items() if found],
        extreme_evidence=list(dict.fromkeys(phrase for found in extreme.values() for phrase in found)),
        group_signals=[name for name, pattern in GROUP_PATTERNS.items() if pattern.search(text)],
        responders=bool(RESPONSE_SIGNALS.search(text)),
    )
