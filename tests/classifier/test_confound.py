"""The style-confound check: labels must not be guessable from length, punctuation, boilerplate or script."""

from __future__ import annotations

import random

from wagewatch.classifier.confound import MAX_MACRO_F1, confound_macro_f1
from wagewatch.classifier.corpus import Example

CASES = ["老板欠我{}块工钱不给", "包工头拖着{}元不结", "说好月底给{}，人跑了"]
FALSE = ["网传欠薪{}元一事经核实不属实", "以讨薪为名讨要工程款{}元", "工资早已结清，仍索要{}元"]
OTHER = ["全市追回工资{}万元", "招聘木工日结{}元", "讲讲拖欠工资怎么维权，咨询费{}元"]


def _corpus(styled: bool) -> list[Example]:
    """Ninety texts per label; `styled` dresses each label in its own boilerplate and punctuation."""
    rng = random.Random(3)
    dress = {"real": ("楼主：{}！！", "{}"), "false": ("本报讯 “{}”。", "{}"), "irrelevant": ("#{}#", "{}")}
    examples = []
    for label, texts in (("real", CASES), ("false", FALSE), ("irrelevant", OTHER)):
        for i in range(90):
            body = texts[i % 3].format(rng.randint(100, 9000))
            frame = dress[label][0] if styled else rng.choice([d[0] for d in dress.values()])
            examples.append(Example(id=f"{label}-{i}", text=frame.format(body), label=label))
    return examples


def test_a_corpus_dressed_by_label_is_caught() -> None:
    assert confound_macro_f1(_corpus(styled=True)) > 0.9


def test_a_corpus_whose_styles_cross_the_labels_passes() -> None:
    assert confound_macro_f1(_corpus(styled=False)) <= MAX_MACRO_F1


def test_the_training_corpus_cannot_be_labelled_by_its_style() -> None:
    """Issue 9: the corpus teaches the task, not the writing: style cues alone stay near chance."""
    from wagewatch.classifier.corpus import load_training, training_files

    assert confound_macro_f1(load_training(training_files())) <= MAX_MACRO_F1
