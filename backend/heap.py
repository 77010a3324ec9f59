"""Long-running processes: keep the garbage collector's full passes short."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Put what start-up built (modules, mappers, routes: ~190,000 objects) out of the collector's reach.

    A full collection walks every tracked object; with these it took 100-190 ms on our 2-core
    machines, and it stops the whole process: the first SMS of an event created at that moment
    waited for it (most of the dispatch p99). They live as long as the process, so there is
    nothing to collect in them anyway. Called by `vigie serve` (once started) and `vigie worker`,
    not by `create_app` itself: tests build many apps in one process.
    """
    gc.collect()
    gc.freeze()

