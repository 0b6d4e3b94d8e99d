"""Exactly-once alerts under concurrency and faults: four dispatch workers plus the scheduler share a backlog
of 5,000 due email deliveries, on SQLite and on one PostgreSQL, while the SMTP server drops connections at
random protocol stages. The server must never see a Message-ID twice, and every delivery must end sent
(and taken by the server), dead with ops told, or unknown only after a drop that followed its DATA."""

from __future__ import annotations

import pytest

from wagewatch.bench import sends
from wagewatch.core import clock

DELIVERIES = 5000


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_workers_and_the_scheduler_send_each_message_once(backend, tmp_path, request):
    database_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    clock.freeze(None)
    outcome = sends.run(DELIVERIES, 4, tmp_path, database_url, rate=0.1, seed=7)
    print(sends.render(outcome))
    assert outcome.duplicates == 0
    assert outcome.lost == 0 and outcome.false_sent == 0 and outcome.false_unknown == 0 and outcome.untold == 0
    assert sum(outcome.statuses.values()) == DELIVERIES
    # The faults really happened at every stage, and each kind of ending was reached.
    assert set(outcome.server.faults) == set(sends.FAULTS)
    assert {"sent", "dead", "unknown"} <= set(outcome.statuses)
    assert outcome.statuses["unknown"] == len(outcome.server.maybe)
