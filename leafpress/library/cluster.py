"""Building a library across machines: each leaflet a task on a dask.distributed cluster.

The coordinator (``generate.py build --scheduler ADDRESS``) keeps what it keeps in a local
build: the output folder's lock, the build state, the manifest and the index page. Each task
builds one leaflet on a worker and writes its files straight into the output folder, which
every worker must share (docs/library.md). Before any task is sent, every worker is asked
what it runs; one whose leafpress, engines, fonts or voices differ from the coordinator's, or
that cannot see the output folder, or that runs tasks in more than one thread, is refused with
a message saying why, and the build runs on the others. A worker that dies mid-leaflet has
that leaflet retried on another (the scheduler's ``allowed-failures``, 3 by default); a
leaflet that keeps killing workers fails alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from ..errors import OutputError
from ..settings import Settings
from .incremental import Inputs

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT_S = 10


def scheduler_address(option: str | None, settings: Settings) -> str:
    """The scheduler to build on: --scheduler, else $DASK_SCHEDULER_ADDRESS, else library.scheduler in settings ('' builds here)."""
    return option or os.environ.get(SCHEDULER_ENV, "") or settings.library.scheduler


def identity(settings: Settings) -> dict[str, str]:
    """What must be the same on every machine of one build, as hashes."""
    inputs = Inputs(settings)
    return {"leafpress and its Python engines": inputs.tool, "fonts": inputs.fonts,
            "speech engines and voices": inputs.speech_engine, "braille tables": inputs.braille_engine}


def _report(settings: Settings, token: Path) -> dict:
    """Run on each worker: what it runs, and what it reads at the coordinator's token file."""
    try:
        seen = token.read_text(encoding="utf-8")
    except OSError:
        seen = None
    return {"identity": identity(settings), "token": seen, "host": socket.gethostname()}


def refusal(worker: dict, ours: dict[str, str], token: str, threads: int, out_dir: Path) -> str:
    """Why a worker cannot take part in this build ('' if it can)."""
    different = [name for name, value in ours.items() if worker["identity"].get(name) != value]
    if different:
        return f"its {' and '.join(different)} differ from this machine's (run make on every machine, from the same commit: docs/library.md)"
    if worker["token"] != token:
        return f"it does not see the output folder {out_dir} (every worker must share it, at the same path)"
    if threads != 1:
        return f"it runs {threads} threads; start it with --nthreads 1 (and --nworkers N for more processes)"
    return ""


@contextlib.contextmanager
def cluster_executor(address: str, settings: Settings, out_dir: Path, warn: Callable[[str], object]) -> Iterator[tuple[Executor, int]]:
    """An executor on the cluster's usable workers, and how many of them there are; ``warn`` gets
    one line for each worker refused."""
    try:
        from distributed import Client
    except ImportError:
        raise OutputError("--scheduler needs dask.distributed, which make installs into .venv/: run make") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise OutputError(f"cannot reach the dask scheduler at {address} ({err}); start one: dask scheduler (docs/library.md)") from None
    with client:
        workers = usable_workers(client, settings, out_dir, warn)
        with client.get_executor(workers=workers, allow_other_workers=False, pure=False) as executor:
            yield executor, len(workers)


def usable_workers(client, settings: Settings, out_dir: Path, warn: Callable[[str], object]) -> list[str]:
    """The addresses of the workers that may build: each asked what it runs and what it reads
    in a file written for the purpose in the output folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    secret = uuid.uuid4().hex
    token = out_dir.resolve() / f".leafpress-cluster-{secret}.tmp"  # a killed build's is removed by the next
    token.write_text(secret, encoding="utf-8")
    try:
        reports = client.run(_report, settings, token)
    finally:
        token.unlink(missing_ok=True)
    threads = {address: info.get("nthreads", 1) for address, info in client.scheduler_info()["workers"].items()}
    ours = identity(settings)
    usable = []
    for address, worker in sorted(reports.items()):
        why = refusal(worker, ours, secret, threads.get(address, 1), out_dir)
        if why:
            warn(f"warning: refused the worker at {address} ({worker['host']}): {why}")
        else:
            usable.append(address)
    if not usable:
        where = client.scheduler.address
        raise OutputError(f"no worker of the cluster at {where} can build (see above)" if reports else
                          f"the cluster at {where} has no workers; start some: dask worker {where} --nthreads 1 (docs/library.md)")
    return usable
