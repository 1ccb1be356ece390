"""What every output format provides: a name, the files it writes, and one render function."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Leaflet
from ..settings import Settings

RenderFunction = Callable[[Leaflet, Settings, Mapping[str, Path]], None]


@dataclass(frozen=True)
class Renderer:
    """One output format.

    ``outputs`` maps each manifest key this format fills (``print``, ``audio_script``…)
    to the file-name suffix it is written under; ``render`` writes exactly those files.
    ``reads`` names the formats whose files it is made from when they are there (the web page
    lists the MP3's chapters): they are built before it, and rebuilding them rebuilds it.
    ``needs`` names those it cannot be made without (the read-along EPUB holds the audio): asking
    for it asks for them too.
    """

    name: str
    outputs: Mapping[str, str]
    render: RenderFunction
    reads: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


def sibling(target: Path, leaflet: Leaflet, suffix: str) -> Path:
    """The file another format wrote beside ``target`` for the same leaflet (``suffix``: ``.mp3``)."""
    return target.with_name(f"{leaflet.stem}{suffix}")


def release_at_exit(release: Callable[[], None]) -> None:
    """Call ``release`` (which drops a per-process cache) when this process ends, then collect
    garbage, so the engines' own finalisers run while Python is still whole: WeasyPrint's font
    configuration deletes its temporary font folder then, pyttsx3 closes its driver.

    atexit alone is not enough: a worker of a process pool leaves through os._exit, which skips
    it, and runs multiprocessing's finalisers instead. Both may run; ``release`` must not mind.
    """
    import atexit
    import gc
    import multiprocessing
    import multiprocessing.util

    def run() -> None:
        release()
        gc.collect()

    atexit.register(run)
    if multiprocessing.parent_process() is not None:
        multiprocessing.util.Finalize(None, run, exitpriority=10)


class ProcessCache:
    """Engine objects that are costly to make, kept for the life of one process and freed when
    it ends (see release_at_exit), at most ``limit`` of them.

    A child forked from a process that had already filled the cache starts with an empty one
    and never frees the parent's objects: freeing them would run their finalisers (WeasyPrint's
    deletes its font folder) under the parent's feet.
    """

    def __init__(self, limit: int = 8):
        self.limit = limit
        self._pid: int | None = None
        self._items: dict[Hashable, Any] = {}
        self._inherited: list[dict] = []

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if self._pid != os.getpid():
            if self._items:
                self._inherited.append(self._items)
            self._items = {}
            self._pid = os.getpid()
            release_at_exit(self.clear)
        if key not in self._items:
            if len(self._items) >= self.limit:  # settings edited under a long-lived process
                self._items.clear()
            self._items[key] = make()
        return self._items[key]

    def clear(self) -> None:
        if self._pid == os.getpid():
            self._items.clear()
