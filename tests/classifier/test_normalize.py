"""Normalisation: what every model and extractor sees."""

from __future__ import annotations

from wagewatch.classifier.normalize import MAX_CHARS, normalize


def test_scripts_widths_links_and_emoji() -> None:
    text = "＃濟南欠薪＃ @包工頭老王 欠我們１２萬元😡 詳見 https://t.cn/abc123 ！"
    assert normalize(text) == "#济南欠薪# 欠我们12万元 详见 !"


def test_hashtags_are_kept_and_spaces_collapsed() -> None:
    assert normalize("#寿光讨薪#\u3000\u3000工地\t\t欠钱") == "#寿光讨薪# 工地 欠钱"


def test_control_characters_surrogates_and_length() -> None:
    assert normalize("a\x00b\x07c\ud800d") == "a b cd"
    assert normalize("") == "" and normalize("   ") == ""
    assert len(normalize("欠" * (MAX_CHARS * 5))) == MAX_CHARS


def test_settings_defaults_equal_the_shipped_file() -> None:
    """An install without config/ must still train the shipped model, so the defaults mirror the YAML."""
    from wagewatch.classifier.settings import ClassifierSettings, load_settings

    assert ClassifierSettings() == load_settings()
