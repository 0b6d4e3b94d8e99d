"""Splitting long texts into passages, so that one concrete case inside a long article is read on its own.

A long article (news with background, a policy piece with one example, a commentary that reports a case)
is real when one passage reports a concrete case. The models read at most ~256 characters, and the
TF-IDF features of a 900-character text dilute the one paragraph that matters; passages of about that
size let both models see the case, and the explanation can quote the passage that decided.
"""

from __future__ import annotations

import re

LONG_TEXT = 240  # texts up to this many characters are read whole
PASSAGE_CHARS = 200  # a passage is filled with whole sentences up to about this many characters
MAX_PASSAGES = 12  # longer texts keep their first passages (normalised texts are cut at 4,000 characters)
_MIN_PARAGRAPH = 30  # shorter paragraphs (headlines, datelines) join the next one

_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*[”’」』\"]?")


def _sentences(paragraph: str) -> list[str]:
    return [s for s in (m.group().strip() for m in _SENTENCE.finditer(paragraph)) if s]


def split(text: str) -> list[str]:
    """The passages of `text` in order; a text of LONG_TEXT characters or fewer is one passage."""
    text = text.strip()
    if len(text) <= LONG_TEXT:
        return [text] if text else []
    paragraphs: list[str] = []
    carry = ""
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        line = f"{carry} {line}".strip() if carry else line
        if len(line) < _MIN_PARAGRAPH:
            carry = line
            continue
        carry = ""
        paragraphs.append(line)
    if carry:
        if paragraphs:
            paragraphs[-1] = f"{paragraphs[-1]} {carry}"
        else:
            paragraphs.append(carry)
    passages: list[str] = []
    for paragraph in paragraphs:
        current = ""
        for sentence in _sentences(paragraph) or [paragraph]:
            if current and len(current) + len(sentence) > PASSAGE_CHARS:
                passages.append(current)
                current = ""
            current += sentence
        if current:
            passages.append(current)
    # a last scrap of a paragraph reads better with the passage before it
    merged: list[str] = []
    for passage in passages:
        if merged and len(passage) < _MIN_PARAGRAPH and len(merged[-1]) + len(passage) <= PASSAGE_CHARS * 1.5:
            merged[-1] += passage
        else:
            merged.append(passage)
    return merged[:MAX_PASSAGES]
