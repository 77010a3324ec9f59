"""When is the next row due: what a worker's loop sleeps until."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, func, select, type_coerce
from sqlalchemy.orm import Session

from backend.db import db_clock, keep_clock


def seconds_until_due(session: Session, model, pending, max_sleep: float) -> float:
    """How long until a row of `model` is due and free to lease (at most `max_sleep`), by the
    database's clock (read in the same statement when the session has not read it yet: a worker
    looks after every commit that may make work, so each round trip counts)."""
    return seconds_until_each_due(session, [(model, pending)], max_sleep)[0]


def seconds_until_each_due(session: Session, kinds: list[tuple[Any, ColumnElement[bool]]], max_sleep: float) -> list[float]:
    """`seconds_until_due` for several kinds of row (model, pending) at once: their earliest due
    times in one statement (the steps loop looks for pages and watch turns after each wake-up)."""
    earliest_each = [select(func.min(model.due_at)).where(pending).scalar_subquery() for model, pending in kinds]
    now = session.info.get("db_now")
    if now is None:
        *earliest, clock = session.execute(select(*earliest_each, type_coerce(db_clock(), String))).one()
        now = keep_clock(session, clock)
    else:
        earliest = list(session.execute(select(*earliest_each)).one())
    return [_wait(session, model, pending, first, now, max_sleep)
            for (model, pending), first in zip(kinds, earliest, strict=True)]


def _wait(session: Session, model, pending, earliest: datetime | None, now: datetime, max_sleep: float) -> float:
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
