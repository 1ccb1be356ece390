"""Building a library across machines: each leaflet a task on a dask.distributed cluster.

The coordinator (``generate.py build --scheduler ADDRESS``) keeps what it keeps in a local
build: the output folder's lock, the build state, the manifest and the index page. Each task
builds one leaflet on a worker and writes its files straight into the output folder, which
every worker must share (docs/library.md). Before any task is sent, every worker is asked
what it runs; one whose leafpress, engines, fonts or voices differ from the coordinator's, or
that cannot see the output folder, or that runs tasks in more than one thread, is refused with
a message saying why, and the build runs on the others. Workers that join during the build
(one its nanny restarted after it died, or a new machine) are asked the same when they appear,
and used if they pass. A worker that dies mid-leaflet has that leaflet retried on another (the
scheduler's ``allowed-failures``, 3 by default); a leaflet that keeps killing workers fails alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from ..settings import Settings
from .incremental import Inputs

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT_S = 10
WATCH_S = 0.5  # how often the cluster's workers are looked at during a build
STRANDED_RETRIES = 1  # a leaflet every allowed worker of which died is sent to the new ones this often, then fails
NO_WORKER_S = 120  # a build with leaflets left and no usable worker for this long fails them


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
    """An executor on the cluster's usable workers, and how many of them there are at the start;
    ``warn`` gets one line for each worker refused."""
    try:
        from distributed import Client
    except ImportError:
        raise OutputError("--scheduler needs dask.distributed, which make installs into .venv/: run make") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise OutputError(f"cannot reach the dask scheduler at {address} ({err}); start one: dask scheduler (docs/library.md)") from None
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # "Couldn't gather 1 keys, rescheduling": dask making again a result lost with its worker, which the build follows
        logging.getLogger("distributed.client").setLevel(logging.ERROR)
    with client:
        vetting = Vetting(client, settings, out_dir, warn)
        workers = vetting.check(vetting.listed())
        if not workers:
            where = client.scheduler.address
            raise OutputError(f"no worker of the cluster at {where} can build (see above)" if vetting.seen else
                              f"the cluster at {where} has no workers; start some: dask worker {where} --nthreads 1 (docs/library.md)")
        with ClusterExecutor(client, vetting) as executor:
            yield executor, len(workers)


class Vetting:
    """Which of the cluster's workers may build: each asked, once, what it runs and what it reads
    in a file written for the purpose in the output folder while it is asked."""

    def __init__(self, client, settings: Settings, out_dir: Path, warn: Callable[[str], object]):
        self.client, self.settings, self.out_dir, self.warn = client, settings, out_dir, warn
        self.ours = identity(settings)
        self.seen: set[str] = set()
        self.usable: frozenset[str] = frozenset()

    def listed(self) -> dict[str, int]:
        """The workers the scheduler lists now: their addresses and how many threads each runs."""
        return {address: info.get("nthreads", 1) for address, info in self.client.scheduler_info()["workers"].items()}

    def check(self, listed: dict[str, int]) -> frozenset[str]:
        """Ask the workers of ``listed`` not asked before; the usable ones among those listed."""
        new, passed = sorted(set(listed) - self.seen), set()
        if new:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            secret = uuid.uuid4().hex
            token = self.out_dir.resolve() / f".leafpress-cluster-{secret}.tmp"  # a killed build's is removed by the next
            token.write_text(secret, encoding="utf-8")
            try:
                reports = self.client.run(_report, self.settings, token, workers=new, on_error="return")
            finally:
                token.unlink(missing_ok=True)
            for address in new:
                worker = reports.get(address)
                if worker is None:
                    continue  # gone before it answered
                self.seen.add(address)
                why = (f"it did not answer ({type(worker).__name__}: {worker})" if isinstance(worker, BaseException)
                       else refusal(worker, self.ours, secret, listed[address], self.out_dir))
                if why:
                    host = "" if isinstance(worker, BaseException) else f" ({worker['host']})"
                    self.warn(f"warning: refused the worker at {address}{host}: {why}")
                else:
                    passed.add(address)
        self.usable = frozenset((self.usable | passed) & set(listed))  # a new set: the executor reads it from another thread
        return self.usable


@dataclass(eq=False)
class _Task:
    """One call on the cluster: its future for the caller, and the dask future now running it."""

    call: tuple
    outer: Future = field(default_factory=Future)
    inner: object = None  # the dask future, None while no worker can take it
    workers: frozenset[str] = frozenset()  # where ``inner`` may run
    stranded: int = 0  # times sent again because every worker it may run on died while it ran
    finished: bool = False  # ``inner`` finished (its result may still be lost with its worker)


class ClusterExecutor(Executor):
    """Calls run as dask tasks on vetted workers only, kept vetted as workers come and go.

    A thread looks at the cluster every WATCH_S: a worker that has joined is asked what it runs
    (Vetting) and used for the next tasks if it passes. dask sends a task only to workers it was
    allowed when sent, so one whose every allowed worker has died (each restarted by its nanny
    under a new address, say) would wait forever: it is sent again to the usable workers of now,
    STRANDED_RETRIES times, then fails as dask's KilledWorker would. With no usable worker for
    NO_WORKER_S, the calls left fail with a message saying so.
    """

    def __init__(self, client, vetting: Vetting):
        self.client, self.vetting = client, vetting
        self.tasks: set[_Task] = set()
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.alone_since: float | None = None
        self.collectors = ThreadPoolExecutor(max_workers=4, thread_name_prefix="leafpress-cluster-results")
        # started by the first task, after the build has taken the output folder and removed a
        # killed build's temporary files, which include the file Vetting writes
        self.watcher = threading.Thread(target=self._watch, name="leafpress-cluster-watch", daemon=True)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        task = _Task((fn, args, kwargs))
        with self.lock:
            if not self.watcher.is_alive() and not self.stopping.is_set():
                self.watcher.start()
            self.tasks.add(task)
            self._send(task, self.vetting.usable)
        return task.outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self.lock:
            tasks = list(self.tasks)
        if cancel_futures:
            for task in tasks:
                task.outer.cancel()
        if wait:
            futures.wait([task.outer for task in tasks])
        self.stopping.set()
        if self.watcher.is_alive():
            self.watcher.join()
        with self.lock:
            self._cancel([task.inner for task in self.tasks if task.inner is not None])
            for task in self.tasks:
                task.outer.cancel()
            self.tasks.clear()
        self.collectors.shutdown(wait=True)

    def _send(self, task: _Task, usable: frozenset[str]) -> None:
        """Send ``task`` to ``usable`` workers (under the lock), or keep it until there are some."""
        if not usable or task.outer.done():
            return
        if self.client.status in ("closing", "closed"):
            self._fail(task, self._lost())
            return
        fn, args, kwargs = task.call
        task.workers, task.finished = usable, False
        task.inner = inner = self.client.submit(fn, *args, **kwargs, workers=sorted(usable), allow_other_workers=False, pure=False)
        inner.add_done_callback(lambda future: self._finished(task, future))

    def _finished(self, task: _Task, inner) -> None:
        """dask's callback (its one callback thread: nothing here may wait)."""
        task.finished = inner is task.inner and inner.status == "finished"
        self.collectors.submit(self._collect, task, inner)

    def _collect(self, task: _Task, inner) -> None:
        """Fetch a finished task's result. A result lost with its worker before it was fetched is
        made again by dask, so this can wait: until then, or until the watcher sends it elsewhere."""
        try:
            outcome = inner.result()
        except BaseException as err:  # noqa: BLE001 (dask's cancellation is asyncio's, not an Exception)
            outcome = err
        with self.lock:
            if inner is not task.inner or self.stopping.is_set():
                return  # sent again or failed by the watcher since, or the executor shut down
            self.tasks.discard(task)
        if inner.status == "cancelled":  # not by this executor: dask dropped it (its scheduler lost, say)
            outcome = self._lost()
        if task.outer.set_running_or_notify_cancel():
            if isinstance(outcome, BaseException):
                task.outer.set_exception(outcome)
            else:
                task.outer.set_result(outcome)

    def _watch(self) -> None:
        while not self.stopping.wait(WATCH_S):
            try:
                listed = self.vetting.listed()
                usable = self.vetting.check(listed)
            except Exception:  # the scheduler out of reach: dask tries to reconnect, then closes the client
                if self.client.status in ("closing", "closed"):
                    with self.lock:
                        for task in list(self.tasks):
                            self._fail(task, self._lost())
                continue
            with self.lock:
                self._look_after(set(listed), usable)

    def _lost(self) -> OutputError:
        return OutputError(f"the connection to the dask scheduler at {self.client.scheduler.address} was lost, so it was left unbuilt; "
                           "build again once the scheduler is back")

    def _look_after(self, listed: set[str], usable: frozenset[str]) -> None:
        """Under the lock: send again what cannot run where it was sent; fail what cannot run at all."""
        now = time.monotonic()
        self.alone_since = None if usable else (self.alone_since or now)
        for task in list(self.tasks):
            if task.outer.done():
                self.tasks.discard(task)
            elif task.inner is not None and task.workers & listed:
                continue  # it may still run where it was sent
            elif self.alone_since is not None and now - self.alone_since >= NO_WORKER_S:
                self._fail(task, OutputError(f"no usable worker on the cluster at {self.client.scheduler.address} for "
                                             f"{NO_WORKER_S} s, so it was left unbuilt; start workers (docs/library.md) and build again"))
            elif task.inner is None:
                self._send(task, usable)
            elif usable:
                if not task.finished:  # it died with them (a result lost after it was made is not its doing)
                    if task.stranded >= STRANDED_RETRIES:
                        from distributed.scheduler import KilledWorker

                        self._fail(task, KilledWorker(task.inner.key, None, task.stranded + 1))
                        continue
                    task.stranded += 1
                self._cancel([task.inner])
                task.inner = None
                self._send(task, usable)

    def _fail(self, task: _Task, err: Exception) -> None:
        if task.inner is not None:
            self._cancel([task.inner])
            task.inner = None
        self.tasks.discard(task)
        if task.outer.set_running_or_notify_cancel():
            task.outer.set_exception(err)

    def _cancel(self, inners: list) -> None:
        """Cancel dask futures; nothing to cancel once the connection to the scheduler is lost."""
        if self.client.status not in ("closing", "closed"):
            self.client.cancel(inners)
