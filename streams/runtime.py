"""Process-wide settings of the long-running commands (workers, replays)."""

from __future__ import annotations

import gc

# A worker allocates a few hundred short-lived objects per transaction (decoded legs, snapshots,
# events). With CPython's default thresholds (700, 10, 10) the cyclic collector ran 1,272 young
# and 10 full collections in a replay of 20,000 legs: a quarter of its CPU, and each full
# collection (~100 ms, the whole heap: modules, the standard, caches) a pause in every batch in
# flight. Objects that live from start-up on are frozen out of collections; young collections run
# after 50,000 net new container objects instead of 700. Memory stays bounded: cycles are still
# collected, less often.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Freeze what start-up allocated and raise the collection thresholds (see GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
