"""Broken configuration is reported with the file, the key and what was expected."""

from __future__ import annotations

import pytest

from tests.helpers import wagewatch
from wagewatch.core.config import SHANDONG_CITIES, ConfigError, load_config


def test_shipped_config_is_valid_and_covers_all_cities():
    config = load_config()
    assert set(config.cities.cities) == set(SHANDONG_CITIES)
    for office in config.cities.cities.values():
        roles = {p.role for p in office.people}
        assert {"duty", "deputy", "leader", "publicity"} <= roles


def test_wrong_type_names_file_and_key(config_files):
    config_files.update("policy.yaml", lambda p: p["deadlines"].update(government_or_soe_days="three"))
    with pytest.raises(ConfigError) as err:
        load_config(config_files.root)
    assert "policy.yaml" in str(err.value) and "deadlines.government_or_soe_days" in str(err.value)


def test_unknown_key_and_bad_rota(config_files):
    def break_cities(data):
        data["cities"]["临沂"]["people"][0]["rota"]["hours"] = "8点到18点"
        data["cities"]["临沂"]["people"][0]["phone"] = "123"

    config_files.update("cities.yaml", break_cities)
    with pytest.raises(ConfigError) as err:
        load_config(config_files.root)
    message = str(err.value)
    assert "cities.yaml" in message and "cities.临沂.people.0.rota.hours" in message
    assert "cities.临沂.people.0.phone" in message


def test_missing_city_and_invalid_yaml(config_files):
    config_files.update("cities.yaml", lambda d: d["cities"].pop("菏泽"))
    with pytest.raises(ConfigError, match="菏泽"):
        load_config(config_files.root)
    (config_files.root / "sources.yaml").write_text("keywords: [欠薪\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sources.yaml: not valid YAML"):
        load_config(config_files.root)


def test_cli_reports_config_errors_in_one_place(config_files):
    config_files.update("settings.yaml", lambda s: s["scheduler"].update(misfire_grace_seconds="soon"))
    result = wagewatch(config_files.root, "doctor")
    assert result.returncode == 1
    assert "✗ 配置 config" in result.stdout and "scheduler.misfire_grace_seconds" in result.stdout
    result = wagewatch(config_files.root, "analyze")
    assert result.returncode == 2 and "settings.yaml" in result.stderr


def test_intervals_keep_their_defaults_per_key_and_reject_unknown_stages(config_files):
    config_files.update("settings.yaml", lambda s: s["scheduler"].update(intervals_seconds={"crawl": 120}))
    intervals = load_config(config_files.root).settings.scheduler.intervals_seconds
    assert (intervals.crawl, intervals.analyze, intervals.dispatch, intervals.report) == (120, 60, 30, 3600)
    config_files.update(
        "settings.yaml", lambda s: s["scheduler"].update(intervals_seconds={"crawl": 120, "analyse": 5})
    )
    with pytest.raises(ConfigError) as err:
        load_config(config_files.root)
    assert "settings.yaml" in str(err.value) and "scheduler.intervals_seconds.analyse" in str(err.value)


def test_an_empty_config_file_is_an_error_naming_it(config_files):
    (config_files.root / "policy.yaml").write_text("# nothing here yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy\.yaml: the file is empty"):
        load_config(config_files.root)
