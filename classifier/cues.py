"""A transparent cue-weight model: the first classifier, and the fallback when no trained model is shipped.

Each cue adds evidence for one label; softmax turns the sums into probabilities. It needs no training data,
which is why the pipeline can run on a fresh clone before any model exists.
"""

from __future__ import annotations

import math

LABELS = ("real", "false", "irrelevant")

_CUES: dict[str, dict[str, float]] = {
    "real": {
        "拖欠": 1.2, "欠薪": 1.0, "讨薪": 1.0, "工资没发": 1.5, "没发工资": 1.5, "不给工资": 1.5, "工钱": 0.8,
        "血汗钱": 1.0, "讨要": 0.8, "包工头跑路": 1.8, "跑路": 1.0, "联系不上": 0.8, "一分钱": 1.0, "要不回来": 1.5,
        "拒不支付劳动报酬": 1.8, "求助": 0.8, "农民工": 0.5, "工地": 0.5, "没拿到": 1.2, "不给钱": 1.2,
        "年底": 0.3, "回家过年": 0.6, "塔吊": 0.8, "横幅": 0.8, "欠我们": 1.5, "欠了": 0.8,
    },
    "false": {
        "不属实": 2.5, "虚假": 2.0, "谣言": 2.0, "辟谣": 2.5, "造谣": 2.5, "摆拍": 2.5, "冒充": 2.0,
        "以讨薪为名": 3.0, "工程款": 1.0, "已结清": 1.5, "已全部发放": 1.8, "不存在拖欠": 2.5, "恶意讨薪": 2.5,
        "行政拘留": 1.2, "虚构": 2.0, "自导自演": 2.5, "假扮": 2.0, "敲诈": 1.5, "旧视频": 2.0, "虚假诉讼": 2.5,
        "编造": 2.0, "并非": 1.0, "实为": 1.2, "闹剧": 1.5,
    },
    "irrelevant": {
        "专项行动": 1.5, "部署": 1.2, "会议": 0.8, "律师": 1.5, "咨询": 1.0, "招聘": 2.0, "包吃住": 2.0,
        "日结": 1.5, "加班": 1.0, "工资低": 1.5, "太低": 1.0, "电视剧": 2.0, "小说": 2.0, "借钱": 1.5,
        "借款": 1.2, "条例": 1.2, "政策": 1.0, "发放仪式": 2.0, "累计": 0.8, "共追回": 1.5, "根治欠薪": 0.8,
        "哈哈": 1.0, "奶茶": 1.5, "段子": 1.5, "风险代理": 2.0,
    },
}
_PRIOR = {"real": 0.0, "false": -1.0, "irrelevant": 0.6}


class CueModel:
    """Probabilities for (real, false, irrelevant) from weighted cue counts."""

    version = "cues-1"

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> dict[str, float]:
        logits = {label: _PRIOR[label] + sum(w for cue, w in _CUES[label].items() if cue in text) for label in LABELS}
        top = max(logits.values())
        exp = {label: math.exp(value - top) for label, value in logits.items()}
        total = sum(exp.values())
        return {label: exp[label] / total for label in LABELS}
