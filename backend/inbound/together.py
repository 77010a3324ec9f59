"""The SMS providers' callbacks written together: those that arrive while one group is being written
share the next write transaction.

A storm's delivery receipts (up to two per SMS) and SMS replies each took a write transaction of
their own, on SQLite in alternation with the worker's: 2,000 receipts waited up to 12.7 s for
theirs (Twilio gives up after 15 s and does not send a receipt again). Now one thread writes them
by groups: each callback is still answered only once its own write is committed, each is taken
once (its receipt key, kept in `inbound_receipts`), and one that fails (a copy taken meanwhile by another
process, an error of its own) is undone alone, in its savepoint, without undoing the others.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import db_now, transaction
from backend.inbound.models import InboundReceipt

log = logging.getLogger("vigie.inbound")

MOST = 64  # callbacks in one transaction: a group holds the write turn for tens of ms at most


@dataclass(eq=False)
class _Take:
    key: str
    action: Callable[[Session, datetime], object]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    outcome: bool | BaseException | None = None


class TakenTogether:
    def __init__(self, factory: sessionmaker[Session], *, most: int = MOST):
        self.factory = factory
        self.most = most
        self._queue: list[_Take] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigie-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    async def take(self, key: str, action: Callable[[Session, datetime], object]) -> bool:
        """`action(session, now)` once for `key`, committed when this returns True; False: taken before."""
        loop = asyncio.get_running_loop()
        take = _Take(key, action, loop.create_future(), loop)
        with self._lock:
            if self._stopping:
                raise RuntimeError("the callbacks' writer is stopping")
            self._queue.append(take)
        self._wake.set()
        return await take.future

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                group, self._queue = self._queue[:self.most], self._queue[self.most:]
                if not self._queue:
                    self._wake.clear()
            if group:
                self._write(group)
            elif self._stopping:
                return

    def _write(self, group: list[_Take]) -> None:
        try:
            with transaction(self.factory) as session:
                now = db_now(session)
                taken = set(session.scalars(select(InboundReceipt.key).where(
                    InboundReceipt.key.in_({take.key for take in group}))))
                for take in group:
                    take.outcome = self._apply(session, take, now, taken)
        except BaseException as exc:  # the commit (or the write turn) failed: nothing of the group is written
            for take in group:
                if take.outcome is True or take.outcome is None:
                    take.outcome = exc
            if not isinstance(exc, Exception):
                raise
        for take in group:
            take.loop.call_soon_threadsafe(_settle, take.future, take.outcome)

    @staticmethod
    def _apply(session: Session, take: _Take, now: datetime, taken: set[str]) -> bool | Exception:
        if take.key in taken:
            log.info("inbound SMS callback %s already taken", take.key[:16])
            return False
        taken.add(take.key)  # a copy further in this group
        try:
            with session.begin_nested():
                session.add(InboundReceipt(key=take.key, received_at=now))
                session.flush()
                take.action(session, now)
        except IntegrityError:
            log.info("inbound SMS callback %s taken by a concurrent copy", take.key[:16])
            return False
        except Exception as exc:  # this callback's own error: the others are written
            return exc
        return True


def _settle(future: asyncio.Future, outcome) -> None:
    if future.done():  # the caller went away (its client hung up): the write stands
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(bool(outcome))
