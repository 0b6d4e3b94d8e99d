"""Text normalisation applied before every model and extractor."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 4000

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_SPACES = re.compile(r"[ \t\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # lone surrogates cannot be encoded, so no C library may see them


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def normalize(text: str, max_chars: int = MAX_CHARS) -> str:
    """Simplified, half-width text without URLs, mentions or control characters, cut to `max_chars`.

    Hashtags (#话题#) are kept as text: they often carry the place or the employer.
    """
    if not text:
        return ""
    text = _SURROGATE.sub("", text[: max_chars * 2])
    text = unicodedata.normalize("NFKC", text)  # full-width letters/digits to half-width
    text = _CONTROL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = to_simplified(text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("So", "Cs", "Co"))
    text = _SPACES.sub(" ", text)
    return text.strip()[:max_chars]
