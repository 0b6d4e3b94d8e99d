"""The three labels and four severity levels, shared by the corpus, the model and the reports.

Plain strings in a fixed order (the model's output columns); their captions live with the states in core.
"""

from wagewatch.core.states import SEVERITY_LEVELS, Label

LABELS: tuple[str, ...] = tuple(label.value for label in Label)

__all__ = ["LABELS", "SEVERITY_LEVELS"]
