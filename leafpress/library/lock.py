"""One build at a time per output folder: a second build waits for the first to finish.

The lock is an advisory ``flock`` on ``<out>/.build.lock``; the kernel releases it when
the holder exits, even after ``kill -9``, so a crashed build never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = ".build.lock"


@contextlib.contextmanager
def output_lock(out_dir: Path, on_wait: Callable[[str], None] = lambda message: None) -> Iterator[None]:
    """Hold the output folder's build lock, calling ``on_wait`` once if another build has it."""
    path = out_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip()
            holder = f"another build (pid {pid})" if pid else "another build"
            on_wait(f"{out_dir}: {holder} is writing here; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
