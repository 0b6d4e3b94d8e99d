"""The three labels and four severity levels, shared by the corpus, the model and the reports."""

LABELS: tuple[str, ...] = ("real", "false", "irrelevant")
LABEL_NAMES = {"real": "真实欠薪", "false": "虚假讨薪", "irrelevant": "无关信息"}
SEVERITY_LEVELS: tuple[int, ...] = (1, 2, 3, 4)
