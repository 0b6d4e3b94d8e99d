"""Who gets what: every routing case of the notice, holding for digests and quiet hours, and the config
checks that keep severity 3-4 from ever being held."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.alerts.conftest import FRIDAY_10, make_incident
from wagewatch.alerts.holding import release
from wagewatch.alerts.routing import OUT_OF_PROVINCE, route
from wagewatch.core import clock
from wagewatch.core.config import SHANDONG_CITIES, ConfigError, load_config
from wagewatch.core.store.models import AlertDelivery, Lead
from wagewatch.stages.dispatch import plan_alerts

SUNDAY_NIGHT = datetime(2026, 11, 29, 23, 0, tzinfo=clock.LOCAL_TZ)
MONDAY_3AM = datetime(2026, 11, 30, 3, 0, tzinfo=clock.LOCAL_TZ)


def _who(targets) -> list[tuple[str, str]]:
    return [(t.person.id, t.reason) for t in targets]


def test_every_city_has_a_full_lead_list():
    config = load_config()
    assert set(config.cities.cities) == set(SHANDONG_CITIES)
    for city, office in config.cities.cities.items():
        roles = {p.role for p in office.people}
        assert {"duty", "deputy", "leader", "publicity"} <= roles, city
        assert all(p.rota for p in office.with_role("duty")), city
    assert {p.role for p in config.cities.province.people} >= {"triage", "leader", "publicity", "ops"}


def test_real_incident_goes_to_the_on_duty_officer_by_rota():
    cities = load_config().cities
    assert _who(route(cities, "real", "青岛", 1, FRIDAY_10)) == [("qingdao-duty-day", "severity-1")]
    assert _who(route(cities, "real", "青岛", 2, SUNDAY_NIGHT)) == [("qingdao-duty-night", "severity-2")]
    # 03:00 on Monday still belongs to Sunday's night shift.
    assert _who(route(cities, "real", "青岛", 2, MONDAY_3AM)) == [("qingdao-duty-night", "severity-2")]


def test_severity_three_adds_the_leader_and_four_the_province_at_once():
    cities = load_config().cities
    assert _who(route(cities, "real", "烟台", 3, FRIDAY_10)) == [
        ("yantai-duty-day", "severity-3"),
        ("yantai-leader", "severity-3"),
    ]
    assert _who(route(cities, "real", "烟台", 4, FRIDAY_10)) == [
        ("yantai-duty-day", "severity-4"),
        ("yantai-leader", "severity-4"),
        ("sd-triage", "severity-4"),
    ]


def test_unknown_city_goes_to_provincial_triage_and_out_of_province_is_marked_for_transfer():
    cities = load_config().cities
    assert _who(route(cities, "real", None, 3, FRIDAY_10)) == [("sd-triage", "triage")]
    assert _who(route(cities, "real", OUT_OF_PROVINCE, 4, FRIDAY_10)) == [("sd-triage", "transfer")]


def test_false_claim_goes_to_publicity_for_clarification_not_to_inspectors():
    cities = load_config().cities
    assert _who(route(cities, "false", "济南", None, FRIDAY_10)) == [
        ("jinan-publicity", "clarify"),
        ("jinan-propaganda", "clarify"),
    ]
    assert _who(route(cities, "false", None, None, FRIDAY_10)) == [("sd-publicity", "clarify")]


@pytest.mark.parametrize(
    "label,city,severity,owner,kind,days",
    [
        ("real", "临沂", 3, "linyi-duty-day", "new", 3),  # government project: 3 days
        ("real", None, 2, "sd-triage", "new", 7),
        ("real", OUT_OF_PROVINCE, 2, "sd-triage", "transfer", 7),
        ("false", "德州", None, "dezhou-publicity", "clarify", 7),
    ],
)
def test_plan_creates_the_lead_with_owner_and_deadline(store, label, city, severity, owner, kind, days):
    make_incident(
        store.db, label=label, city=city, severity=severity, project_type="government" if city == "临沂" else None
    )
    plan_alerts(store.db, store.config)
    with store.db.session() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.officer_id, lead.kind, lead.status) == (owner, kind, "待签收")
        assert lead.deadline - lead.created_at == timedelta(days=days)
        assert lead.city == (city if city in SHANDONG_CITIES else None)


def test_holding_digest_and_quiet_hours():
    policy = load_config().policy
    # Severity 1 waits for the next digest time (09:00 / 16:30).
    held = release(policy, "real", 1, FRIDAY_10)
    assert (held.status, clock.local(held.at).strftime("%d %H:%M")) == ("digest", "27 16:30")
    # Severity 2 at night waits until quiet hours end at 07:00.
    night = release(policy, "real", 2, SUNDAY_NIGHT)
    assert (night.status, clock.local(night.at).strftime("%d %H:%M")) == ("pending", "30 07:00")
    # Severity 3 and 4, and false claims, are never held.
    for label, severity in (("real", 3), ("real", 4), ("false", None)):
        assert release(policy, label, severity, SUNDAY_NIGHT).at == SUNDAY_NIGHT
    # Follow-ups (escalations, reminders) never join a digest.
    assert release(policy, "real", 1, FRIDAY_10, digest=False).status == "pending"


def test_plan_holds_low_severity_but_never_three_or_four(store):
    clock.freeze(SUNDAY_NIGHT)
    low = make_incident(store.db, city="淄博", severity=2)
    high = make_incident(store.db, city="淄博", severity=3)
    plan_alerts(store.db, store.config)
    with store.db.session() as session:
        deliveries = {
            d.incident_id: d for d in session.scalars(select(AlertDelivery)) if d.recipient_id == "zibo-duty-night"
        }
    assert deliveries[high].next_attempt_at == SUNDAY_NIGHT
    assert clock.local(deliveries[low].next_attempt_at).strftime("%H:%M") == "07:00"


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda p: p["quiet_hours"].update(max_severity=3), "quiet_hours.max_severity"),
        (lambda p: p["digest"].update(max_severity=3), "digest.max_severity"),
        (lambda p: p["digest"].update(times=["23:00"]), "digest time 23:00 falls in quiet hours"),
        (lambda p: p.update(link_valid_hours=0), "link_valid_hours"),
    ],
)
def test_policy_that_would_hold_severe_alerts_is_refused(config_files, change, message):
    config_files.update("policy.yaml", change)
    with pytest.raises(ConfigError, match="policy.yaml") as error:
        load_config(config_files.root)
    assert message in str(error.value)


def test_broken_channel_config_names_file_and_key(config_files):
    def no_template(data):
        data["cities"]["济南"]["people"][0]["channels"][1]["template"] = "no_such_gateway"

    config_files.update("cities.yaml", no_template)
    with pytest.raises(ConfigError, match=r"cities.yaml: key 'cities\.济南\.people\.0\.channels\.1\.template'"):
        load_config(config_files.root)

    def repeated_type(data):
        data["cities"]["济南"]["people"][0]["channels"].append({"type": "email", "to": "x@example.org"})

    config_files.update("cities.yaml", repeated_type)
    with pytest.raises(ConfigError, match="each channel type at most once"):
        load_config(config_files.root)
