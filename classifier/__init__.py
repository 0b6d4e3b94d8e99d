"""Chinese wage-arrears text analysis: normalise, extract facts, classify, score severity."""

from wagewatch.classifier.api import Analysis, Classifier, load_classifier

__all__ = ["Analysis", "Classifier", "load_classifier"]
