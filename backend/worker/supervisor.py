"""`vigie serve`'s worker as a child process (`vigie worker`), started again if it dies.

A process of its own gives the escalation its own core: in one process the requests and the
worker share one interpreter lock, and on a storm night the steps queued behind the answers.
The child leaves when its parent is gone (it watches its parent's pid), so a killed `vigie serve`
leaves no orphan sending messages.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

log = logging.getLogger("vigie.supervisor")

RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0)  # a child that keeps failing is not restarted in a loop
STABLE_AFTER_S = 30.0  # a child that ran this long failed for a new reason: back to the first delay
STOP_GRACE_S = 15.0


class WorkerSupervisor:
    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="vigie-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()  # the worker finishes what it holds, then leaves
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(2)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            command = [sys.executable, "-m", "backend.cli", "worker", "--parent", str(os.getpid())]
            with self._lock:
                if self._stop.is_set():
                    return
                self.process = subprocess.Popen(command)
            began = time.monotonic()
            code = self.process.wait()
            if self._stop.is_set():
                return
            failures = 0 if time.monotonic() - began > STABLE_AFTER_S else failures + 1
            delay = RESTART_DELAYS_S[min(max(failures - 1, 0), len(RESTART_DELAYS_S) - 1)]
            log.error("the worker process ended (exit code %s); starting it again in %.1f s", code, delay)
            self._stop.wait(delay)
