"""Faults: a killed build, two builds at once, an output folder that can't be written, a full disk.

After any of them, every file in output/ is complete or absent, the manifest lists only
files that exist, and the next build repairs everything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gc
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import docx
import pytest
from mutagen.mp3 import MP3
from pypdf import PdfReader

from leafpress.library import build as build_module
from leafpress.library.build import build_leaflet
from leafpress.renderers.base import ProcessCache
from leafpress.settings import load_settings

from .conftest import FIXTURES, ROOT, run_cli

pytestmark = pytest.mark.slow
TODAY = dt.date(2026, 11, 24)


def make_library(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    shutil.copytree(FIXTURES / "images", folder / "images")
    text = (FIXTURES / "knee-replacement.md").read_text()
    for number in range(count):
        (folder / f"leaflet-{number}.md").write_text(text.replace("1234/VER1", f"{number}/VER1"))
    return folder


def assert_output_consistent(out: Path) -> None:
    """Every visible file is whole and valid; the manifest lists only files that exist."""
    for path in out.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".pdf":
            assert len(PdfReader(path).pages) >= 1, path
        elif path.suffix == ".docx":
            assert docx.Document(path).paragraphs, path
        elif path.suffix == ".mp3":
            assert MP3(path).info.length > 1, path
    manifest = out / "manifest.json"
    if manifest.exists():
        for entry in json.loads(manifest.read_text())["leaflets"]:
            for relative in entry["outputs"].values():
                assert relative is None or (out / relative).is_file(), relative


def test_a_build_killed_midway_leaves_whole_files_and_the_next_build_repairs_it(tmp_path):
    library = make_library(tmp_path / "src", 6)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("*/*.mp3")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the workers too, as Ctrl-C or the OOM killer would
    process.wait()
    assert list(out.glob("*/*.mp3")), "the build finished before it could be killed"
    assert len(list(out.glob("*/*.mp3"))) < 6, "the build finished before it could be killed"
    assert_output_consistent(out)

    result = run_cli("build", library, "--out", out)
    assert result.returncode == 0, result.stderr
    assert_output_consistent(out)
    assert not list(out.rglob(".*.tmp"))
    entries = json.loads((out / "manifest.json").read_text())["leaflets"]
    assert len(entries) == 6 and all(all(entry["outputs"].values()) for entry in entries)


def _default_sigint() -> None:
    """A build started from a background job inherits an ignored SIGINT; a terminal's build does not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_the_build_cleanly(tmp_path):
    library = make_library(tmp_path / "src", 4)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("*/*.pdf")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "interrupted: files already written are whole; run the same command again to finish" in stderr
    assert "Traceback" not in stderr
    assert len(list(out.glob("*/*.mp3"))) < 4, "the build went on after Ctrl-C"
    assert_output_consistent(out)


def test_two_builds_at_once_take_turns(tmp_path):
    library = make_library(tmp_path / "src", 3)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(out), "--formats", "print,docx"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (out / ".build.lock").exists() or not (out / ".build.lock").read_text():
        time.sleep(0.01)
    second = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    (_, first_err), (_, second_err) = first.communicate(timeout=300), second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, first_err + second_err
    assert f"{out}: another build (pid {first.pid}) is writing here; waiting for it to finish" in second_err
    assert_output_consistent(out)
    assert len(json.loads((out / "manifest.json").read_text())["leaflets"]) == 3


def test_an_output_folder_that_cannot_be_made_is_one_clear_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = run_cli("build", FIXTURES, "--out", blocker / "out", "--formats", "docx")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"{blocker / 'out'}: cannot write the output folder (Not a directory); choose another --out or free some space"
    )
    assert "Traceback" not in result.stderr


def test_a_full_disk_fails_that_format_and_leaves_no_half_file(tmp_path, monkeypatch):
    real_replace = os.replace

    def disk_full(src, dst):
        if str(dst).endswith(".docx"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(build_module.os, "replace", disk_full)
    source = FIXTURES / "knee-replacement.md"
    result = build_leaflet(source, tmp_path, ["docx", "print"], load_settings(), TODAY)
    assert result.problems == [f"{source}: docx: cannot write to {tmp_path} (No space left on device); free some space or choose another --out"]
    assert (tmp_path / "knee-replacement" / "knee-replacement.print.pdf").is_file()
    assert sorted(p.name for p in (tmp_path / "knee-replacement").iterdir()) == ["knee-replacement.print.pdf"]


def test_leftover_temporary_files_are_cleaned_by_the_next_build(tmp_path):
    out = tmp_path / "out"
    (out / "knee-replacement").mkdir(parents=True)
    stale = out / "knee-replacement" / ".knee-replacement.docx.abc123.tmp"
    stale.write_bytes(b"half a file")
    result = run_cli("build", FIXTURES, "--out", out, "--formats", "docx")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_build_leaves_no_temporary_files_behind(tmp_path, jobs):
    """WeasyPrint keeps the fonts it loads in a temporary folder until its font configuration
    is freed; the build frees it when each process ends, pool workers included."""
    library = make_library(tmp_path / "src", 3)
    temp = tmp_path / "temp"
    temp.mkdir()
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(tmp_path / "out"),
               "--formats", "print,audio", "--jobs", jobs]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ, TMPDIR=str(temp)))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(temp.iterdir()) == []


def test_building_leaves_no_file_open(tmp_path):
    """A worker builds hundreds of leaflets: each output's staging file must be closed, not only renamed."""
    source = FIXTURES / "knee-replacement.md"
    open_before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        result = build_leaflet(source, tmp_path, ["docx", "braille"], load_settings(), TODAY)
        assert result.ok, result.problems
    assert len(os.listdir("/proc/self/fd")) <= open_before


class _Noted:
    """Leaves a file behind when it is freed, and in which process."""

    def __init__(self, folder: Path, name: str):
        self.folder, self.name = folder, name

    def __del__(self):
        (self.folder / f"{self.name} freed in {os.getpid()}").touch()


_CACHE = ProcessCache()


def _fill_cache_in_a_worker(folder: Path) -> int:
    _CACHE.get("worker", lambda: _Noted(folder, "worker"))
    return os.getpid()


def test_a_process_cache_frees_its_own_objects_in_workers_and_never_the_parents(tmp_path):
    _CACHE.get("parent", lambda: _Noted(tmp_path, "parent"))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        worker = pool.submit(_fill_cache_in_a_worker, tmp_path).result()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"worker freed in {worker}"]
    _CACHE.clear()
    gc.collect()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"parent freed in {os.getpid()}", f"worker freed in {worker}"]


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()]


def _running(pid: int) -> bool:
    """Still running: not gone and not a zombie (a container's init may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_workers_end_when_their_coordinator_is_killed(tmp_path):
    """kill -9 of the build alone, not its process group: its two pool workers end within seconds,
    none left building on, parented to init (issue 15)."""
    library = make_library(tmp_path / "src", 6)
    command = [sys.executable, str(ROOT / "generate.py"), "build", str(library), "--out", str(tmp_path / "out"), "--jobs", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        workers: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.05)
            workers = _children(process.pid)
        assert len(workers) == 2, "the build's pool did not start"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(map(_running, workers)):
            time.sleep(0.1)
        assert not [pid for pid in workers if _running(pid)], "pool workers outlived their coordinator"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
