"""The main courante of a period in a form an archivist keeps: every entry with its hashes, and each
event's chain re-verified at export time."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.events.models import Event
from backend.orgs.models import Organization
from backend.trace import service as trace_service

EVENT_FIELDS = ("id", "number", "category", "severity", "title", "place", "source", "status", "received_at",
                "closed_at", "closure_reason", "in_coverage")
CSV_COLUMNS = ("commune", "evenement", "seq", "horodatage_utc", "horodatage_local", "acteur_type", "acteur",
               "nature", "donnees", "corrige", "hash_precedent", "hash", "chaine_intacte")


def export(*, db_session: Session, org_ids: frozenset[int], start: datetime, end: datetime, now: datetime) -> dict:
    organizations = {o.id: o for o in db_session.scalars(select(Organization).where(Organization.id.in_(org_ids)))}
    events = db_session.scalars(select(Event).where(Event.organization_id.in_(org_ids), Event.received_at >= start,
                                                    Event.received_at < end).order_by(Event.received_at, Event.id))
    out = []
    for event in events:
        check = trace_service.verify(db_session=db_session, event=event)
        entries = trace_service.list_entries(db_session=db_session, event_id=event.id)
        out.append({
            "commune": organizations[event.organization_id].name,
            **{name: getattr(event, name) for name in EVENT_FIELDS},
            "verification": {"intact": check.intact, "entries": check.entries,
                             "first_broken_seq": check.first_broken_seq, "reason": check.reason,
                             "head": event.trace_head},
            "entries": [{"seq": e.seq, "at": e.at, "actor_type": e.actor_type, "actor_id": e.actor_id,
                         "actor": e.actor_label, "kind": e.kind, "data": e.data, "corrects_id": e.corrects_id,
                         "prev_hash": e.prev_hash, "hash": e.hash, "salt": e.salt, "sealed": e.sealed}
                        for e in entries],
        })
    return {"generated_at": now, "period": {"start": start, "end": end},
            "hash_rule": "SHA-256 of the canonical JSON (sorted keys, no spaces) of {prev, event, seq, at, "
                         "actor: [type, id, label], kind, data, corrects, v: 2}, where the label and every string "
                         "of data stand as SHA-256 of 'salt|path|string' (path: 'actor', 'data.key[n]…'), or as "
                         "the commitment kept in `sealed` where a pseudonymisation replaced the string by ⟦…⟧; "
                         "an entry without salt (version 1) hashes the label and data themselves, without v",
            "events": out}


def to_json(archive: dict) -> str:
    return json.dumps(archive, ensure_ascii=False, indent=1, default=str)


def to_csv(archive: dict, tz: str) -> str:
    zone = ZoneInfo(tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in archive["events"]:
        for e in event["entries"]:
            writer.writerow([event["commune"], event["number"], e["seq"], e["at"].isoformat(),
                             e["at"].astimezone(zone).strftime("%d/%m/%Y %H:%M:%S"), e["actor_type"], e["actor"],
                             e["kind"], json.dumps(e["data"], ensure_ascii=False, sort_keys=True),
                             e["corrects_id"] or "", e["prev_hash"], e["hash"],
                             "oui" if event["verification"]["intact"] else "NON"])
    return "\ufeff" + buffer.getvalue()
