"""SQLite's write turn inside one process: handed to exactly the next waiter, requests and the
worker alternating, and a wait that runs out leaves the queue as it was; between processes on one
file, a process that wants the turn again waits behind the one already waiting."""

import fcntl
import os
import threading
import time

import pytest

from backend.sqlite_writer import Busy, FileTurn, WriteGate


def _waiter(gate: WriteGate, holder: int, order: list[int], *, worker: bool = False) -> threading.Thread:
    def run() -> None:
        gate.acquire(holder, worker=worker, timeout=5)
        order.append(holder)
        gate.release(holder)

    thread = threading.Thread(target=run)
    thread.start()
    while not any(t.holder == holder for queue in gate._waiting for t in queue):
        time.sleep(0.001)
    return thread


def test_the_turn_goes_to_waiters_first_come_first_served():
    gate, order = WriteGate(), []
    gate.acquire(1, worker=False, timeout=1)
    threads = [_waiter(gate, holder, order) for holder in (2, 3, 4)]
    gate.release(1)
    for thread in threads:
        thread.join(5)
    assert order == [2, 3, 4]


def test_worker_and_requests_alternate_when_both_wait():
    gate, order = WriteGate(), []
    gate.acquire(1, worker=False, timeout=1)
    threads = [_waiter(gate, 10 + k, order) for k in range(3)]
    threads += [_waiter(gate, 20 + k, order, worker=True) for k in range(2)]
    gate.release(1)
    for thread in threads:
        thread.join(5)
    # A request wrote last: the worker goes next, then requests and worker in turns.
    assert order == [20, 10, 21, 11, 12]


def test_a_wait_that_runs_out_is_busy_and_the_next_waiter_still_gets_the_turn():
    gate, order = WriteGate(), []
    gate.acquire(1, worker=False, timeout=1)
    with pytest.raises(Busy):
        gate.acquire(2, worker=False, timeout=0.05)
    late = _waiter(gate, 3, order)
    gate.release(1)
    late.join(5)
    assert order == [3]
    gate.acquire(4, worker=True, timeout=0.05)  # free again: no ghost of the waiter that gave up
    assert gate.held_by(4)


def _held(path: str) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_processes_on_one_file_take_the_write_turn_in_alternation(tmp_path):
    """Each FileTurn opens its own locks, as another process would: the serve and its worker."""
    database = str(tmp_path / "vigie.db")
    serve, worker, order = FileTurn(database), FileTurn(database), []
    worker.take()

    def serve_writes() -> None:
        serve.take()
        order.append("serve")
        serve.give()

    waiting = threading.Thread(target=serve_writes)
    waiting.start()
    deadline = time.monotonic() + 5
    while not _held(f"{database}-turn-queue"):  # the serve is queued behind the worker
        assert time.monotonic() < deadline, "the waiting process never queued"
        time.sleep(0.001)
    worker.give()
    worker.take()  # straight back, as the worker does between two groups of steps
    order.append("worker")
    worker.give()
    waiting.join(5)
    assert order == ["serve", "worker"]
