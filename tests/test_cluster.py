"""Builds on a real dask.distributed cluster: a scheduler and worker processes on the loopback.

The cluster is started as a user would (docs/library.md): ``dask scheduler`` and ``dask worker
--nthreads 1``, each its own process; the build runs through the command line with --scheduler.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, run_cli
from .test_faults import assert_output_consistent, make_library

pytestmark = pytest.mark.slow
DASK = Path(sys.executable).parent / "dask"
TODAY = "2026-11-24"
FORMATS = "print,large-print,docx,braille"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A scheduler and its workers, each a process, stopped at the end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[subprocess.Popen] = []
        self._start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", self.address.rpartition(":")[2],
                                  "--no-dashboard"], ROOT)
        self.workers: list[subprocess.Popen] = []

    def _start(self, name: str, command: list[str], pythonpath: Path) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        env = dict(os.environ, PYTHONPATH=str(pythonpath))
        process = subprocess.Popen(command, cwd=pythonpath, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.processes.append(process)
        return process

    def add_worker(self, pythonpath: Path = ROOT, *options: str) -> subprocess.Popen:
        """One worker process, with no nanny unless ``options`` ask for workers under one (--nworkers N)."""
        name = f"worker-{len(self.workers)}"
        nanny = ["--no-nanny"] if "--nworkers" not in options else []
        worker = self._start(name, [str(DASK), "worker", self.address, "--nthreads", "1", *nanny, "--no-dashboard",
                                    "--name", name, *options], pythonpath)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)

    def wait_for_exactly(self, count: int, timeout: float = 60) -> None:
        """Until the scheduler lists ``count`` workers: it drops a killed one once it sees the connection go."""
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            deadline = time.monotonic() + timeout
            while len(client.scheduler_info()["workers"]) != count:
                assert time.monotonic() < deadline, f"the scheduler never listed {count} workers"
                time.sleep(0.05)

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = Cluster(folder)
    try:
        yield cluster
    finally:
        cluster.stop()


def digests(out: Path) -> dict[str, str]:
    """Every output file's bytes, by its path in the output folder (not the build's own state)."""
    return {path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(out.rglob("*")) if path.is_file() and not path.name.startswith(".") and path.name != "build-state.jsonl"}


def local_build(library: Path, out: Path) -> dict[str, str]:
    result = run_cli("build", library, "--out", out, "--formats", FORMATS, "--today", TODAY, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    return digests(out)


def test_a_cluster_build_makes_what_a_local_build_makes(cluster, tmp_path):
    library = make_library(tmp_path / "src", 4)
    cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    result = run_cli("build", library, "--out", tmp_path / "out", "--formats", FORMATS, "--today", TODAY, "--scheduler", cluster.address)
    assert result.returncode == 0, result.stderr
    assert f"Building on the cluster at {cluster.address}: 2 workers" in result.stderr
    assert "Traceback" not in result.stderr
    built = digests(tmp_path / "out")
    assert built == local_build(library, tmp_path / "local")
    assert len([name for name in built if name.endswith(".pdf")]) == 8
    # the environment names the scheduler too, and a no-op rebuild sends nothing
    again = subprocess.run([sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(tmp_path / "out"),
                            "--formats", FORMATS, "--today", TODAY], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, DASK_SCHEDULER_ADDRESS=cluster.address))
    assert again.returncode == 0, again.stderr
    assert "Built 0 of 4 leaflets" in again.stdout and cluster.address in again.stderr


def test_a_worker_killed_mid_build_has_its_leaflets_built_elsewhere(cluster, tmp_path):
    library = make_library(tmp_path / "src", 8)
    out = tmp_path / "out"
    victim = cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(out), "--formats", FORMATS,
               "--today", TODAY, "--scheduler", cluster.address]
    from distributed import Client

    with Client(cluster.address, timeout=30) as client:
        address = next(address for address, info in client.scheduler_info()["workers"].items() if info["name"] == "worker-0")
        build = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (list(out.glob("*/*.pdf")) and client.processing([address])[address]):
            time.sleep(0.02)
        assert client.processing([address])[address], "the worker was never seen building after the first files"
        os.killpg(victim.pid, signal.SIGKILL)  # mid-leaflet: it is building one, others are written
    stdout, stderr = build.communicate(timeout=300)
    assert build.returncode == 0, stderr
    assert len(list(out.glob("*/*.pdf"))) == 16, "a leaflet of the killed worker was not built elsewhere"
    assert digests(out) == local_build(library, tmp_path / "local")


def test_a_leaflet_that_kills_every_worker_fails_alone_and_restarted_workers_build_the_rest(cluster, tmp_path):
    """Workers under their nanny, as ``dask worker`` starts them by default (docs/library.md): a
    leaflet that kills each worker it is sent to fails alone with what to do, and the workers
    their nanny restarted, under new addresses, are checked and build the other leaflets (a build
    once waited for ever for the dead workers' addresses)."""
    library = make_library(tmp_path / "src", 4)
    poison = library / "a-poison.md"  # first in the library: sent out first
    poison.write_text((library / "leaflet-0.md").read_text().replace("0/VER1", "99/VER1"))
    out = tmp_path / "out"
    cluster.add_worker(ROOT, "--nworkers", "2", "--preload", str(ROOT / "tests" / "cluster_poison.py"))
    cluster.wait_for_workers(2)
    result = run_cli("build", library, "--out", out, "--formats", "print", "--today", TODAY, "--scheduler", cluster.address)
    assert result.returncode == 1, result.stderr
    assert (f"{poison}: every build worker that tried this leaflet died while building it, so it was left unbuilt; "
            "build it alone on this machine (--jobs 1) to see why") in result.stderr.splitlines()
    assert "1 failed" in result.stderr and "refused" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "Couldn't gather" not in result.stderr  # dask's own recovery is not the user's business
    assert sorted(path.parent.name for path in out.glob("*/*.pdf")) == [f"leaflet-{number}" for number in range(4)]
    assert_output_consistent(out)


def test_leaflets_left_with_no_usable_worker_fail_with_what_to_do(cluster, tmp_path, monkeypatch):
    from leafpress.errors import OutputError
    from leafpress.library import cluster as on_cluster
    from leafpress.settings import load_settings

    monkeypatch.setattr(on_cluster, "NO_WORKER_S", 1)
    worker = cluster.add_worker()
    cluster.wait_for_workers(1)
    warnings: list[str] = []
    with on_cluster.cluster_executor(cluster.address, load_settings(), tmp_path / "out", warnings.append) as (executor, count):
        assert count == 1
        future = executor.submit(time.sleep, 120)
        time.sleep(1)  # sent and running
        os.killpg(worker.pid, signal.SIGKILL)
        err = future.exception(timeout=60)
    assert isinstance(err, OutputError), err
    assert str(err) == (f"no usable worker on the cluster at {cluster.address} for 1 s, so it was left unbuilt; "
                        "start workers (docs/library.md) and build again")
    assert warnings == []


def test_a_scheduler_lost_mid_build_fails_the_leaflets_left_with_what_to_do(cluster, tmp_path):
    library = make_library(tmp_path / "src", 8)
    out = tmp_path / "out"
    cluster.add_worker()
    cluster.wait_for_workers(1)
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(out), "--formats", FORMATS,
               "--today", TODAY, "--scheduler", cluster.address]
    build = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("*/*.pdf")):
        time.sleep(0.02)
    os.killpg(cluster.processes[0].pid, signal.SIGKILL)  # the scheduler
    _, stderr = build.communicate(timeout=300)
    assert build.returncode == 1, stderr
    lost = [line for line in stderr.splitlines() if line.endswith(
        f": the connection to the dask scheduler at {cluster.address} was lost, so it was left unbuilt; build again once the scheduler is back")]
    assert lost and "Traceback" not in stderr, stderr
    assert_output_consistent(out)


def test_a_worker_that_differs_is_refused(cluster, tmp_path):
    """A worker running another leafpress (one comment changed) is refused by name; the others build."""
    other = tmp_path / "other"
    shutil.copytree(ROOT / "leafpress", other / "leafpress", ignore=shutil.ignore_patterns("__pycache__"))
    with (other / "leafpress" / "model.py").open("a") as file:
        file.write("# a local change\n")
    library = make_library(tmp_path / "src", 2)
    cluster.add_worker()
    cluster.add_worker(pythonpath=other)
    cluster.wait_for_workers(2)
    result = run_cli("build", library, "--out", tmp_path / "out", "--formats", "print", "--today", TODAY, "--scheduler", cluster.address)
    assert result.returncode == 0, result.stderr
    refused = [line for line in result.stderr.splitlines() if line.startswith("warning: refused the worker")]
    assert len(refused) == 1 and "its leafpress and its Python engines differ from this machine's" in refused[0], result.stderr
    assert "2 leaflets" in result.stdout and ": 1 worker" in result.stderr

    cluster.workers[0].kill()
    cluster.workers[0].wait()
    cluster.wait_for_exactly(1)
    alone = run_cli("build", library, "--out", tmp_path / "out", "--formats", "print", "--today", TODAY, "--force", "--scheduler", cluster.address)
    assert alone.returncode == 1
    assert alone.stderr.strip().splitlines()[-1] == f"no worker of the cluster at {cluster.address} can build (see above)"


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    library = make_library(tmp_path / "src", 1)
    result = run_cli("build", library, "--out", tmp_path / "out", "--scheduler", address)
    assert result.returncode == 1
    assert result.stderr.startswith(f"cannot reach the dask scheduler at {address}") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_coordinator_killed_mid_build_leaves_what_a_local_build_would(cluster, tmp_path):
    """kill -9 of the coordinator: the scheduler drops its leaflets not yet started, each file in the
    output folder is whole or absent, and the next build repairs the rest."""
    library = make_library(tmp_path / "src", 8)
    out = tmp_path / "out"
    cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(out), "--formats", FORMATS,
               "--today", TODAY, "--scheduler", cluster.address]
    build = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("*/*.pdf")):
        time.sleep(0.02)
    build.kill()
    build.wait()
    time.sleep(2)  # what the workers were building when it died, they finish
    assert 0 < len(list(out.glob("*/*.pdf"))) < 16, "the build finished before it could be killed"
    assert_output_consistent(out)
    again = run_cli("build", library, "--out", out, "--formats", FORMATS, "--today", TODAY, "--scheduler", cluster.address)
    assert again.returncode == 0, again.stderr
    assert not list(out.rglob(".*.tmp")) and not list(out.glob(".leafpress-cluster-*"))
    assert digests(out) == local_build(library, tmp_path / "local")


def test_a_leaflet_every_worker_died_on_fails_alone_with_what_to_do():
    from distributed.scheduler import KilledWorker

    from leafpress.library.build import _worker_failure

    assert _worker_failure(KilledWorker("build_leaflet-1", None, 3)) == (
        "every build worker that tried this leaflet died while building it, so it was left unbuilt; "
        "build it alone on this machine (--jobs 1) to see why")

    class KilledWorker(Exception):  # noqa: N818 (the same name, not dask's)
        pass

    assert _worker_failure(KilledWorker("no")) == "the build worker failed (KilledWorker: no); build it again"

