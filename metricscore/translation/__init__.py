"""Translation of metric definitions between dialects (:func:`translate`), its report, the
compatibility matrix rendered from the code, and the ``metricscore translate`` command."""

from ..meaning import TranslationError
from .translator import FieldOutcome, FilledDefault, ImpliedChange, Status, Translation, TranslationReport, translate

__all__ = [
    "FieldOutcome",
    "FilledDefault",
    "ImpliedChange",
    "Status",
    "Translation",
    "TranslationError",
    "TranslationReport",
    "translate",
]
