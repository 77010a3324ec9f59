"""Live sockets whose credential stops holding are closed within seconds.

A socket is authenticated once, when it opens; afterwards its token (and the role and
organization its feed was scoped by) is re-checked for every open socket in one read, on a timer
and at once when any process revokes a credential (logout, a device revoked, a user or a person
deactivated, a role changed: the `access` notice of `backend.signals`).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from backend.auth import service as auth_service
from backend.live.hub import Subscriber
from backend.signals import ACCESS_TOPIC

log = logging.getLogger("vigie.live")

RESCOPED = 4001  # close code: still allowed, with another scope; the client reconnects


class AccessWatch:
    def __init__(self, read_factory: sessionmaker[Session], *, every_s: float):
        self.read_factory = read_factory
        self.every_s = every_s
        # The subscriber -> its token's digest, and the role and organization it was scoped by.
        self.watched: dict[Subscriber, tuple[str, tuple[str, int]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poke = asyncio.Event()  # bound to the running loop at its first wait (Python ≥ 3.10)
        self._task: asyncio.Task | None = None

    def watch(self, subscriber: Subscriber, digest: str, scope: tuple[str, int]) -> None:
        self.watched[subscriber] = (digest, scope)

    def forget(self, subscriber: Subscriber) -> None:
        self.watched.pop(subscriber, None)

    def on_changed(self, items: list[tuple[str, int]]) -> None:
        """A signals listener (any thread): a revocation anywhere makes every socket re-check now."""
        if self._loop is not None and any(topic == ACCESS_TOPIC for topic, _ in items):
            self._loop.call_soon_threadsafe(self._poke.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def check_now(self) -> None:
        watched = dict(self.watched)
        if not watched:
            return
        usable = await asyncio.to_thread(self._usable, {digest for digest, _ in watched.values()})
        for subscriber, (digest, scope) in watched.items():
            if digest not in usable:
                subscriber.revoke()
            elif usable[digest] != scope:  # a role or organization changed: the feed's scope is stale
                subscriber.revoke(RESCOPED, "your access changed: reconnect")

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), timeout=self.every_s)
            except TimeoutError:
                pass
            self._poke.clear()
            try:
                await self.check_now()
            except Exception:  # noqa: BLE001 - a database hiccup: the next turn tries again
                log.exception("live access check failed")

    def _usable(self, digests: set[str]) -> dict[str, tuple[str, int]]:
        with self.read_factory() as session:
            return auth_service.usable_digests(db_session=session, digests=digests)
