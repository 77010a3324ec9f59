"""When is the next row due: what a worker's loop sleeps until."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def seconds_until_due(session: Session, model, pending, now: datetime, max_sleep: float) -> float:
    """How long until a row of `model` is due and free to lease (at most `max_sleep`)."""
    # The earliest due time, first entry of the (status, due_at) index: in the future, done.
    earliest = session.scalar(select(func.min(model.due_at)).where(pending))
    if earliest is None:
        return max_sleep
    if earliest > now:
        return min((earliest - now).total_seconds(), max_sleep)
    # Due already: free (lease it now), or leased by a worker, which may have died (wake when its lease ends).
    free = (model.claim_until.is_(None)) | (model.claim_until < now)
    nxt = session.scalar(select(func.min(model.due_at)).where(pending, free))
    taken = session.scalar(select(func.min(model.claim_until)).where(pending, ~free))
    waits = [(c - now).total_seconds() for c in (nxt, taken) if c is not None]
    return min([max_sleep, *[max(w, 0.0) for w in waits]])
