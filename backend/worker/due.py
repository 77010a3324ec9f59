"""When is the next row due: what a worker's loop sleeps until."""

from __future__ import annotations

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from backend.db import db_clock, keep_clock


def seconds_until_due(session: Session, model, pending, max_sleep: float) -> float:
    """How long until a row of `model` is due and free to lease (at most `max_sleep`), by the
    database's clock (read in the same statement when the session has not read it yet: a worker
    looks after every commit that may make work, so each round trip counts)."""
    earliest_due = select(func.min(model.due_at)).where(pending)
    now = session.info.get("db_now")
    if now is None:
        earliest, clock = session.execute(earliest_due.add_columns(type_coerce(db_clock(), String))).one()
        now = keep_clock(session, clock)
    else:
        earliest = session.scalar(earliest_due)
    if earliest is None:
        return max_sleep
    if earliest > now:
        return min((earliest - now).total_seconds(), max_sleep)
    # Due already: free (lease it now), or leased by a worker, which may have died (wake when its lease ends).
    free = (model.claim_until.is_(None)) | (model.claim_until < now)
    nxt, taken = session.execute(select(func.min(model.due_at).filter(free),
                                        func.min(model.claim_until).filter(~free)).where(pending)).one()
    waits = [(c - now).total_seconds() for c in (nxt, taken) if c is not None]
    return min([max_sleep, *[max(w, 0.0) for w in waits]])
