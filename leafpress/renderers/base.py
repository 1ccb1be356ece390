"""What every output format provides: a name, the files it writes, and one render function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..model import Leaflet
from ..settings import Settings

RenderFunction = Callable[[Leaflet, Settings, Mapping[str, Path]], None]


@dataclass(frozen=True)
class Renderer:
    """One output format.

    ``outputs`` maps each manifest key this format fills (``print``, ``audio_script``…)
    to the file-name suffix it is written under; ``render`` writes exactly those files.
    """

    name: str
    outputs: Mapping[str, str]
    render: RenderFunction


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
