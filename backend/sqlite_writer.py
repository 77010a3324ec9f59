"""SQLite's single writer, taken in turns: by the threads of a process (`WriteGate`), then by the
processes on the file (`FileTurn`)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections import deque
from pathlib import Path


class Busy(Exception):
    """The database did not give this caller its turn in time (a request answers 503 + Retry-After)."""


class WriteGate:
    """SQLite's single writer, taken in turns by the threads of this process.

    Without it, writers wait in SQLite's busy handler, which sleeps and polls: the lock goes to
    whoever polls at the right moment, so a stream of requests can starve the in-process worker
    and a burst comes out in waves. Here the lock is handed over on release, first come first
    served within each class, and when both the worker and requests wait they alternate: a step
    never waits behind a whole burst of answers, nor an answer behind a whole burst of steps.
    Between processes on the same file, the holder of the gate then takes the file's turn
    (`FileTurn`), so the processes alternate too.
    """

    def __init__(self, file_turn: FileTurn | None = None) -> None:
        self._file_turn = file_turn
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection holding the turn
        self._waiting: list[deque[_Ticket]] = [deque(), deque()]  # [worker, requests]
        self._last_class = 1
        self.handovers = 0

    def acquire(self, holder: int, *, worker: bool, timeout: float) -> None:
        cls = 0 if worker else 1
        self._take_in_process(holder, cls, timeout)
        if self._file_turn is not None:
            try:
                self._file_turn.take()
            except BaseException:
                self._hand_over(holder)
                raise

    def release(self, holder: int) -> None:
        if self._holder != holder:
            return
        if self._file_turn is not None:
            self._file_turn.give()
        self._hand_over(holder)

    def _take_in_process(self, holder: int, cls: int, timeout: float) -> None:
        with self._lock:
            if self._holder is None and not any(self._waiting):
                self._grant(holder, cls)
                return
            ticket = _Ticket(holder, cls)
            self._waiting[cls].append(ticket)
        # Each waiter sleeps on its own event and the releaser wakes only the next one: waking
        # every waiter on each hand-over made a burst of requests fight for the GIL in turn.
        if ticket.granted.wait(timeout):
            return
        with self._lock:
            if ticket.granted.is_set():  # handed over just as the wait ran out
                return
            self._waiting[cls].remove(ticket)
        raise Busy(f"no turn to write within {timeout:g} s")

    def _hand_over(self, holder: int) -> None:
        with self._lock:
            if self._holder != holder:
                return
            self._holder = None
            ticket = self._next()
            if ticket is not None:
                self._waiting[ticket.cls].popleft()
                self._grant(ticket.holder, ticket.cls)
                ticket.granted.set()

    def held_by(self, holder: int) -> bool:
        return self._holder == holder

    def _grant(self, holder: int, cls: int) -> None:
        self._holder = holder
        self._last_class = cls
        self.handovers += 1

    def _next(self) -> _Ticket | None:
        worker, requests = self._waiting
        if worker and requests:  # both wait: the class that did not write last goes
            return requests[0] if self._last_class == 0 else worker[0]
        return (worker or requests or [None])[0]


class _Ticket:
    __slots__ = ("holder", "cls", "granted")

    def __init__(self, holder: int, cls: int) -> None:
        self.holder, self.cls, self.granted = holder, cls, threading.Event()


_GATES: dict[str, WriteGate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(path: str) -> WriteGate:
    """One gate per SQLite file in this process, whatever the number of engines on it."""
    key = str(Path(path).resolve())
    with _GATES_LOCK:
        if key not in _GATES:
            _GATES[key] = WriteGate(FileTurn(key))
        return _GATES[key]


class FileTurn:
    """The write turn between the processes on one SQLite file, taken in alternation.

    Left to SQLite, a process that waits for the write lock sleeps and polls (its busy handler
    backs off to 100 ms between tries): the `vigie worker` beside `vigie serve`, writing in short
    transactions back to back, held the lock at nearly every poll, and requests waited more than
    10 s. Two `flock` locks make a queue of one: a process that wants the turn first takes
    `queue`, then `turn`, then lets `queue` go; so a holder that wants the turn again waits behind
    the process already waiting. The kernel wakes a waiter as soon as the lock is released, and
    releases the locks of a process that dies.
    """

    def __init__(self, database_path: str) -> None:
        self._paths = (f"{database_path}-turn", f"{database_path}-turn-queue")
        self._fds: tuple[int, int] | None = None
        self._pid = 0

    def take(self) -> None:
        turn, queue = self._open()
        fcntl.flock(queue, fcntl.LOCK_EX)
        try:
            fcntl.flock(turn, fcntl.LOCK_EX)
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)

    def give(self) -> None:
        if self._fds is not None:
            fcntl.flock(self._fds[0], fcntl.LOCK_UN)

    def _open(self) -> tuple[int, int]:
        # Opened once per process (the gate lets one thread at a time here). flock locks belong
        # to the open file, so a fork's copy would share them: a child opens its own.
        if self._fds is None or self._pid != os.getpid():
            turn, queue = (os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._paths)
            self._fds = (turn, queue)
            self._pid = os.getpid()
        return self._fds
