"""A character-level tokenizer built offline, so a fresh clone needs no model hub.

Chinese posts are short and full of place and company names that a word segmenter splits badly, so the
model reads characters. The vocabulary is the most common characters by frequency in jieba's dictionary
(a word's count is credited to each of its characters) plus every character of the training corpus,
so rare characters that matter here (county names, 欠/薪) are never [UNK].
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# ASCII letters, digits and the punctuation that posts use: always present whatever the frequencies say.
_ALWAYS = [chr(c) for c in range(0x21, 0x7F)] + list("，。！？、；：“”‘’（）【】《》…—·～")


def _jieba_dictionary() -> Path:
    import jieba

    return Path(jieba.__file__).resolve().parent / "dict.txt"


def dictionary_frequencies(path: Path | None = None) -> Counter[str]:
    """Character counts from jieba's word-frequency dictionary ("word freq tag" lines)."""
    counts: Counter[str] = Counter()
    with (path or _jieba_dictionary()).open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                continue
            freq = int(parts[1])
            for ch in parts[0]:
                counts[ch] += freq
    return counts


def _usable(ch: str) -> bool:
    return not ch.isspace() and unicodedata.category(ch)[0] in "LNP"


def build_vocabulary(
    corpus_texts: Iterable[str], min_chars: int, max_chars: int, corpus_weight: int = 1_000_000
) -> list[str]:
    """Special tokens, then characters by descending frequency; ties broken by code point for stable ids."""
    counts = dictionary_frequencies()
    corpus_counts: Counter[str] = Counter()
    for text in corpus_texts:
        corpus_counts.update(text)
    for ch, n in corpus_counts.items():
        counts[ch] += n * corpus_weight
    for ch in _ALWAYS:
        counts[ch] += 1 << 40
    ranked = sorted((ch for ch in counts if _usable(ch) and len(ch) == 1), key=lambda c: (-counts[c], c))
    # every corpus character is kept even past max_chars; the dictionary only fills up to the cap
    keep = set(ranked[:max_chars]) | {ch for ch in corpus_counts if _usable(ch)}
    chars = [ch for ch in ranked if ch in keep]
    if len(chars) < min_chars:
        raise ValueError(f"only {len(chars)} characters available, {min_chars} required")
    return list(SPECIAL_TOKENS) + chars


def make_tokenizer(vocabulary: list[str], max_length: int):
    """A Hugging Face fast tokenizer that splits text into single characters and adds [CLS]/[SEP]."""
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(vocabulary)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split(Regex("."), behavior="isolated"),
        ]
    )
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
