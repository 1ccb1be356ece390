"""Timing shared by the benchmarks: ours and the floor measured in turns, the fastest kept."""

from __future__ import annotations

import time
from collections.abc import Callable


def paired_times(ours: Callable[[], object], floor: Callable[[], object], repeat: int,
                 before: Callable[[], object] = lambda: None) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of each, run in turns after a warm-up so both see the same
    conditions; the minimum is the least disturbed by other work on the machine. ``before`` runs,
    untimed, before each of them (to remove what the last one wrote, say)."""
    before(), ours(), before(), floor()
    ours_times, floor_times = [], []
    for _ in range(repeat):
        for action, times in ((ours, ours_times), (floor, floor_times)):
            before()
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
    return min(ours_times), min(floor_times)
