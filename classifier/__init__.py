"""Chinese wage-arrears text analysis: normalise, extract facts, classify, score severity."""

from wagewatch.classifier.api import Analysis, Classifier, load_classifier
from wagewatch.classifier.normalize import normalize

__all__ = ["Analysis", "Classifier", "load_classifier", "normalize"]
