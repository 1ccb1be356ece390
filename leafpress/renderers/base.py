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
