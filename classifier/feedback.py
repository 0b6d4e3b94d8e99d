"""Officers' verdicts as training data: each judged lead's posts become labelled examples.

A verdict in the ledger (`leads.verdict`: real / false / irrelevant) is the best label the project will
ever get — it was checked on the ground — so `wagewatch feedback export` writes the incident's post texts
with that label, and `wagewatch train` reads the exported files after the corpus (later files win on the
same text).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wagewatch.classifier.labels import LABELS
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, Lead

DEFAULT_FEEDBACK_DIR = Path("var") / "feedback"


def export_verdicts(db: Database, out_path: Path) -> int:
    """Write one JSONL line per post of every lead with a verdict; returns the number of lines written."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    seen: set[str] = set()
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    with db.session() as session, tmp.open("w", encoding="utf-8") as out:
        leads = session.scalars(
            select(Lead)
            .where(Lead.verdict.is_not(None))
            .order_by(Lead.id)
            .options(selectinload(Lead.incident).selectinload(Incident.analyses).selectinload(Analysis.post))
        ).all()
        for lead in leads:
            if lead.verdict not in LABELS:
                continue
            incident = lead.incident
            for analysis in sorted(incident.analyses, key=lambda a: a.post_id):
                post = analysis.post
                text = f"{post.title}\n{post.text}" if post.title else post.text
                if not text or not text.strip() or text in seen:
                    continue
                seen.add(text)
                real = lead.verdict == "real"
                out.write(
                    json.dumps(
                        {
                            "id": f"feedback-lead{lead.id}-post{post.id}",
                            "text": text,
                            "label": lead.verdict,
                            # the officer confirms the label, not the level; the alert's level is the best we have
                            "severity": incident.severity if real else None,
                            "city": incident.city if real else None,
                            "amount_yuan": None,
                            "workers": None,
                            "platform": post.source,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                written += 1
    tmp.replace(out_path)
    return written
