"""A phone in use keeps its access: its device token's lifetime restarts, written a second later.

The renewal is not on the request's path: a storm's first requests of the day, one per phone, each
took a write transaction of their own before their answer could. Here they wait a second in memory
and are written together, in one UPDATE. A renewal lost with the process costs nothing: the token
is good for weeks yet, and the phone's next request asks again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.models import ApiToken
from backend.db import db_now, transaction
from backend.sqlite_writer import Busy

log = logging.getLogger("vigie.auth")


class TokenRenewals:
    def __init__(self, session_factory: sessionmaker[Session], *, lifetime: timedelta, every_s: float = 1.0):
        self.session_factory = session_factory
        self.lifetime = lifetime
        self.every_s = every_s
        self._pending: set[int] = set()
        self._lock = threading.Lock()  # request threads add, the loop's thread takes
        self._task: asyncio.Task | None = None

    def add(self, token_id: int) -> None:
        with self._lock:
            self._pending.add(token_id)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.to_thread(self.flush)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            if self._pending:
                await asyncio.to_thread(self.flush)

    def flush(self) -> int:
        """Renew what is pending now (not a token revoked meanwhile); what fails waits for the next round.
        Returns how many were renewed."""
        with self._lock:
            ids, self._pending = self._pending, set()
        if not ids:
            return 0
        try:
            with transaction(self.session_factory) as session:
                renewed = cast(CursorResult, session.execute(
                    update(ApiToken).where(ApiToken.id.in_(sorted(ids)), ApiToken.revoked_at.is_(None))
                    .values(expires_at=db_now(session) + self.lifetime))).rowcount
        except (Busy, OperationalError):
            log.warning("%d device tokens not renewed this time", len(ids))
            with self._lock:
                self._pending |= ids
            return 0
        return renewed
