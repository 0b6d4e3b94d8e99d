"""Style-confound check: how well can a label be guessed from how a text is written, not what it says?

A corpus whose labels follow length, punctuation, boilerplate (本报讯, 楼主, 【投诉对象】) or script teaches
the model the corpus's writing rather than the task (issue 9: real_dev macro F1 0.62 against 0.956 on the
corpus's own test split). This fits a logistic regression on style cues alone, scored by stratified
cross-validation; CI requires its macro F1 to stay at or below `MAX_MACRO_F1`.

    python -m wagewatch.classifier.confound
"""

from __future__ import annotations

import math
import re

import numpy as np

from wagewatch.classifier.corpus import Example, load_training, training_files
from wagewatch.classifier.labels import LABELS
from wagewatch.classifier.normalize import normalize, to_simplified

MAX_MACRO_F1 = 0.45

# Boilerplate of each writing style in CORPUS_SPEC (news, tieba, heimao, liuyan, notice, court, explainer,
# commentary, weibo): what marks the genre, not what the text reports.
BOILERPLATE = {
    "news": re.compile(r"本报讯|记者|通讯员|报道"),
    "tieba": re.compile(r"楼主|回复|[0-9]+楼|吧友"),
    "heimao": re.compile(r"【投诉对象】|【投诉要求】|【投诉问题】|涉诉金额"),
    "liuyan": re.compile(r"尊敬的|网友您好|您好|留言"),
    "notice": re.compile(r"警情通报|情况说明|通报|特此"),
    "court": re.compile(r"经审理|判决|公诉|被告人"),
    "explainer": re.compile(r"以案释法|律师说法|普法|法律提示"),
    "commentary": re.compile(r"评论员|社论|评论"),
    "weibo": re.compile(r"#|\[[^\]]{1,4}\]|转发"),
}
_PUNCTUATION = re.compile(r"[，。！？!?、；;：:“”\"「」『』（）()…—～~·《》【】,.]")


def style_features(text: str) -> list[float]:
    """Length, paragraphing, punctuation rates, boilerplate and script of the normalised text the model
    reads; nothing about what it reports."""
    n = max(len(text), 1)
    source = text
    text = normalize(text)
    traditional = sum(a != b for a, b in zip(source, to_simplified(source), strict=False)) / n
    rate = lambda pattern: len(re.findall(pattern, text)) / n * 100  # noqa: E731
    features = [
        math.log1p(len(text)),
        source.count("\n"),
        rate(_PUNCTUATION),
        rate(r"[!！]"),
        rate(r"[?？]"),
        rate(r"[“”\"「」『』]"),
        rate(r"[【】\[\]]"),
        rate(r"…|\.\.\."),
        rate(r"[:：]"),
        traditional,
        len(re.findall(r"[A-Za-z]", text)) / n,
    ]
    features += [float(bool(p.search(text))) for p in BOILERPLATE.values()]
    return features


def confound_macro_f1(examples: list[Example], folds: int = 5, seed: int = 13) -> float:
    """Macro F1 of style-only logistic regression under stratified k-fold cross-validation."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([style_features(e.text) for e in examples])
    y = np.array([LABELS.index(e.label) for e in examples])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    predicted = cross_val_predict(model, x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    return float(f1_score(y, predicted, average="macro"))


def main() -> None:
    examples = load_training(training_files())
    score = confound_macro_f1(examples)
    verdict = "通过" if score <= MAX_MACRO_F1 else "未通过"
    print(
        f"仅凭文风特征的宏平均F1 style-only macro F1: {score:.3f}（上限 {MAX_MACRO_F1}，{verdict}；{len(examples)} 条）"
    )


if __name__ == "__main__":
    main()
