"""Build leaflets into output/: read each source, run the chosen renderers, keep the manifest.

Each leaflet is independent: a bad source is reported and skipped while the others build.
Only formats whose inputs changed are rebuilt (see incremental.py), in parallel across
leaflets on any concurrent.futures executor. Every file is written to a temporary name and
renamed into place, so a reader of output/ never sees half a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError, OutputError, RenderError
from ..model import Image, Leaflet, ReviewDate, review_status, walk
from ..renderers import RENDERERS
from ..settings import Settings
from . import incremental
from .lock import output_lock
from .reviews import ReviewFacts

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
OUTPUT_KEYS = ("print", "large_print", "docx", "audio", "audio_script", "translation_brief", "xliff", "braille", "epub", "html")
# A build writes the manifest and build state this often (and when it ends), so a killed build
# leaves a manifest listing most of what it made and the next one resumes from there.
CHECKPOINT_SECONDS = 2
# Present while a build runs: found at the start of the next one, the last was killed, and the
# whole output folder is searched for its half-written files.
UNFINISHED_NAME = ".build-unfinished"


class UsageError(Exception):
    """The command was asked for something impossible (a missing path, an unknown format)."""


@dataclass
class LeafletResult:
    source: Path
    leaflet: Leaflet | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)  # the formats written by this build
    reasons: dict[str, str] = field(default_factory=dict)  # format -> why it was (re)built
    unchanged: bool = False  # every format asked for was already up to date
    review_status: str | None = None  # "ok", "due-soon" or "overdue" once the source was read
    voice: str | None = None  # "engine:voice" that read the audio, when this build made it

    @property
    def ok(self) -> bool:
        return not self.problems


def find_sources(paths: Sequence[Path]) -> list[Path]:
    """The leaflet files named, and every ``*.md`` under the folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.md") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(os.path.relpath(p)) if p.is_relative_to(Path.cwd()) else p for p in unique]


def parse_formats(text: str | None) -> list[str]:
    """The formats named (all when none is), with the formats they need, in build order."""
    if not text:
        return list(RENDERERS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [n for n in names if n not in RENDERERS]
    if unknown or not names:
        raise UsageError(f"unknown format '{','.join(unknown) or text}'; choose from {','.join(RENDERERS)}")
    wanted = set(names) | {needed for name in names for needed in RENDERERS[name].needs}
    return [name for name in RENDERERS if name in wanted]


def review_warnings(leaflet: Leaflet, today: dt.date) -> list[str]:
    return _review_warnings(leaflet.source, leaflet.line_of("next_review"), leaflet.meta.next_review, today)


def _review_warnings(source: Path, line: int, next_review: ReviewDate, today: dt.date) -> list[str]:
    status = review_status(next_review, today)
    where = f"{source}:{line}"
    if status == "overdue":
        return [f"{where}: warning: review overdue since {next_review.display}; review the leaflet and update last_reviewed and next_review"]
    if status == "due-soon":
        return [f"{where}: warning: review due {next_review.display}; plan the review now"]
    return []


def catalogue_warnings(leaflet: Leaflet, settings: Settings) -> list[str]:
    """One warning when the leaflet's language has no catalogue, so its fixed text is English."""
    from ..languages.catalogue import FOLDER, has_catalogue

    language = leaflet.meta.language
    if has_catalogue(language, settings.layouts_dir):
        return []
    return [f"{leaflet.source}:{leaflet.line_of('language')}: warning: there is no fixed text for language '{language}', so its labels, "
            f"stamp and spoken introduction are in English; add layouts/{FOLDER}/{language}.yaml (copy en.yaml and translate it)"]


def output_paths(leaflet: Leaflet, out_dir: Path, formats: Iterable[str]) -> dict[str, Path]:
    folder = out_dir / leaflet.slug
    return {
        key: folder / f"{leaflet.stem}{suffix}"
        for name in formats
        for key, suffix in RENDERERS[name].outputs.items()
    }


def build_leaflet(source: Path, out_dir: Path, formats: Sequence[str], settings: Settings, today: dt.date) -> LeafletResult:
    """Read one source and write each chosen format; never raises for bad input."""
    from ..reader import read_leaflet  # parsed only when something is built

    result = LeafletResult(source)
    try:
        leaflet = read_leaflet(source)
    except InputError as err:
        result.problems = [str(p) for p in err.problems]
        return result
    except OSError as err:
        result.problems = [f"{source}:1: cannot read the file ({err.strerror}); check it exists and is readable"]
        return result
    result.leaflet = leaflet
    result.review_status = review_status(leaflet.meta.next_review, today)
    result.warnings = review_warnings(leaflet, today) + catalogue_warnings(leaflet, settings)
    for name in formats:
        try:
            targets = render_format(leaflet, name, out_dir, settings)
        except InputError as err:  # a problem of the source (a character no font has), said once for all formats
            result.problems.extend(line for line in map(str, err.problems) if line not in result.problems)
            continue
        except RenderError as err:
            result.problems.append(f"{source}: {name}: {err}")
            continue
        except OSError as err:
            result.problems.append(f"{source}: {name}: cannot write to {out_dir} ({err.strerror or err}); free some space or choose another --out")
            continue
        except Exception as err:  # a bug of ours must not stop the other leaflets and formats
            log.debug("unexpected error rendering %s as %s", source, name, exc_info=True)
            result.problems.append(f"{source}: {name}: unexpected error ({type(err).__name__}: {err}); please report it, with -v output")
            continue
        result.outputs.update(targets)
        result.built.append(name)
        if name == "audio":
            from ..renderers.audio import voice_for

            result.voice = voice_for(leaflet, settings).key  # chosen once per process: the voice that just spoke
    return result


def render_format(leaflet: Leaflet, name: str, out_dir: Path, settings: Settings) -> dict[str, Path]:
    """Write one format of a read leaflet into place (every file whole or untouched); its output paths.
    Raises the renderer's errors: InputError, RenderError, OSError."""
    targets = output_paths(leaflet, out_dir, [name])
    _render_atomically(RENDERERS[name].render, leaflet, settings, targets)
    return targets


def _render_atomically(render: Callable, leaflet: Leaflet, settings: Settings, targets: dict[str, Path]) -> None:
    """Render into temporary files beside the targets, then rename them all into place."""
    folder = next(iter(targets.values())).parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = {key: _staging_file(path) for key, path in targets.items()}
    try:
        render(leaflet, settings, staging)
        for key, path in targets.items():
            os.chmod(staging[key], 0o644)
            os.replace(staging[key], path)
    finally:
        for temp in staging.values():
            temp.unlink(missing_ok=True)


def _staging_file(path: Path) -> Path:
    """A new empty file beside ``path`` for its next version (closed: renderers open it by name)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(temp)


@dataclass
class BuildReport:
    results: list[LeafletResult]
    manifest: Path
    index: Path | None = None

    @property
    def failed(self) -> list[LeafletResult]:
        return [r for r in self.results if not r.ok]

    @property
    def unchanged(self) -> list[LeafletResult]:
        return [r for r in self.results if r.ok and r.unchanged]

    @property
    def built(self) -> list[LeafletResult]:
        return [r for r in self.results if r.ok and not r.unchanged]


def build(
    sources: Sequence[Path],
    out_dir: Path,
    formats: Sequence[str],
    settings: Settings,
    today: dt.date,
    jobs: int = 1,
    on_result: Callable[[LeafletResult], None] = lambda result: None,
    on_wait: Callable[[str], None] = lambda message: None,
    force: bool = False,
    executor: Executor | None = None,
) -> BuildReport:
    """Build every source whose outputs are out of date (all of them with ``force``) and update
    the manifest, the build state and the index page.

    Leaflets are built on ``executor`` when one is given (any concurrent.futures Executor, such
    as a cluster's), else in a pool of ``jobs`` processes, else one after another. The manifest
    lists only files on disk and is written every CHECKPOINT_SECONDS. Only one build writes
    to an output folder at a time; a second one waits. Raises OutputError when the output folder
    cannot be written at all.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with output_lock(out_dir, on_wait):
            unfinished = out_dir / UNFINISHED_NAME
            if unfinished.exists() or not (out_dir / incremental.STATE_NAME).exists():
                _remove_stale_temporaries(out_dir.rglob(".*.tmp"))  # the last build was killed, or is not known
            unfinished.touch()
            report = _build_locked(sources, out_dir, formats, settings, today, jobs, on_result, force, executor)
            unfinished.unlink()
            return report
    except OSError as err:
        raise OutputError(f"{out_dir}: cannot write the output folder ({err.strerror or err}); choose another --out or free some space") from err


def _build_locked(sources, out_dir, formats, settings, today, jobs, on_result, force, executor) -> BuildReport:
    formats = [name for name in RENDERERS if name in formats]  # build order: a format after those it is made from
    state = incremental.load_state(out_dir)
    manifest = Manifest(out_dir, today)
    if manifest.pruned:
        _save(manifest, state)
    in_manifest = manifest.sources
    inputs = incremental.Inputs(settings)
    results: list[LeafletResult] = []
    todo: list[tuple[Path, str, dict[str, str], dict[str, dict[str, str]]]] = []
    root = out_dir.resolve()
    for source in sources:
        key = incremental.state_key(source, root)
        record = state.get(key)
        reasons, hashes = incremental.stale_formats(source, record, formats, inputs, out_dir, force)
        unchanged = None if reasons else _unchanged_result(source, record, today)
        if unchanged is not None and key in in_manifest:
            results.append(unchanged)
            on_result(unchanged)
        else:
            todo.append((source, key, reasons or dict.fromkeys(formats, "its manifest entry or build record is missing"), hashes))

    saved = time.monotonic()
    try:
        for (_source, key, reasons, hashes), result in _run(todo, out_dir, settings, today, jobs, executor):
            result.reasons = reasons
            if result.leaflet is not None and result.built:
                state[key] = _state_record(state.get(key), result, hashes, inputs, out_dir)
            results.append(result)
            manifest.add(result)
            on_result(result)
            if time.monotonic() - saved > CHECKPOINT_SECONDS:
                _save(manifest, state)
                saved = time.monotonic()
    finally:  # even when interrupted, so what was built is listed and not built again
        _save(manifest, state, written=bool(todo))
    # A worker that died mid-leaflet (its leaflet built again elsewhere) left its files half-written
    # in that leaflet's folder: every task has ended now, so whatever is left there is stale.
    from ..reader import slug_and_language

    for folder in {slug_and_language(source)[0] for source, *_ in todo}:
        _remove_stale_temporaries((out_dir / folder).glob(".*.tmp"))
    from .index import INDEX_NAME, index_html, index_is_current, template_path

    index = out_dir / INDEX_NAME  # rewritten when the manifest was, or on a new day, or when what shapes the page changed
    stamp = incremental.digest(today.isoformat(), inputs.file(template_path(settings)), inputs.templates, inputs.settings_hash, inputs.tool)
    if manifest.rewritten or not index_is_current(index, stamp):
        write_text_atomically(index, index_html(manifest.listed(), out_dir, settings, today, stamp))
    return BuildReport(results, out_dir / MANIFEST_NAME, index)


def _save(manifest: Manifest, state: incremental.BuildState, written: bool = True) -> None:
    """Write the manifest, then the build state that vouches for it (never ahead of it); neither
    when no leaflet was ``written`` and both on disk already say it all (a no-op build)."""
    listed = manifest.sources
    gone = [key for key in state if key not in listed]  # its source was deleted (the manifest removed its files), or it never built
    if not (written or gone or manifest.changed or not (manifest.out_dir / MANIFEST_NAME).is_file()):
        return
    manifest.write()
    for key in gone:
        del state[key]
    write_text_atomically(manifest.out_dir / incremental.STATE_NAME, state.text())
    (manifest.out_dir / incremental.OLD_STATE_NAME).unlink(missing_ok=True)  # an earlier version's, replaced by this one


def _run(todo, out_dir: Path, settings: Settings, today: dt.date, jobs: int, executor: Executor | None) -> Iterator:
    """Build each leaflet of ``todo``, yielding (its todo entry, its result) as each finishes. An
    executor given may run on other machines, in other folders: it gets absolute paths, and its
    results name each source as it was given here."""
    elsewhere = executor is not None

    def arguments(item: tuple) -> tuple:
        if elsewhere:
            return item[0].resolve(), out_dir.resolve(), list(item[2]), settings, today
        return item[0], out_dir, list(item[2]), settings, today

    if executor is None and (jobs <= 1 or len(todo) <= 1):
        for item in todo:
            yield item, build_leaflet(*arguments(item))
        return
    with contextlib.ExitStack() as stack:
        if executor is None:
            pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), initializer=_start_worker, initargs=(os.getpid(),))
            executor = stack.enter_context(pool)
        for item, future in _in_parallel(executor, build_leaflet, todo, arguments, max(jobs, 1)):
            try:
                result = future.result()
            except Exception as err:  # a worker that died (killed, out of memory) fails its leaflet only
                log.debug("worker failed on %s", item[0], exc_info=True)
                result = LeafletResult(item[0], problems=[f"{item[0]}: {_worker_failure(err)}"])
            yield item, _as_given(result, item[0]) if elsewhere else result


def _as_given(result: LeafletResult, source: Path) -> LeafletResult:
    """A result made from the source's absolute path, its messages naming the source as given."""
    built_as = f"{source.resolve()}:"

    def given(line: str) -> str:
        return f"{source}:{line.removeprefix(built_as)}" if line.startswith(built_as) else line

    return replace(result, source=source, problems=[given(line) for line in result.problems], warnings=[given(line) for line in result.warnings])


def _worker_failure(err: Exception) -> str:
    if type(err).__name__ == "KilledWorker":  # dask.distributed: each worker that tried the leaflet died
        return ("every build worker that tried this leaflet died while building it, so it was left unbuilt; "
                "build it alone on this machine (--jobs 1) to see why")
    return f"the build worker failed ({type(err).__name__}: {err}); build it again"


def _in_parallel(executor: Executor, function: Callable, items: Sequence, arguments: Callable, jobs: int) -> Iterator[tuple]:
    """Run ``function(*arguments(item))`` for each item on the executor, yielding (item, future) as each finishes.

    At most ``jobs`` calls are handed out at a time, so Ctrl-C lets the running ones
    finish and starts no more (an executor's own queue would already hold further work).
    """
    waiting = list(reversed(items))
    running: dict[Future, object] = {}
    while waiting or running:
        while waiting and len(running) < jobs:
            item = waiting.pop()
            running[executor.submit(function, *arguments(item))] = item
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            yield running.pop(future), future


def _unchanged_result(source: Path, record: dict, today: dt.date) -> LeafletResult | None:
    """The result of a leaflet left as it was, its review warnings from the build state; None if
    the state doesn't say enough."""
    try:
        next_review = ReviewDate.from_iso(record["next_review"])
        line = int(record["next_review_line"])
    except (KeyError, TypeError, ValueError):
        return None
    return LeafletResult(source, warnings=_review_warnings(source, line, next_review, today), unchanged=True,
                         review_status=review_status(next_review, today))


def _state_record(previous: dict | None, result: LeafletResult, hashes: dict[str, dict[str, str]],
                  inputs: incremental.Inputs, out_dir: Path) -> dict:
    """What the build state keeps about one leaflet after some of its formats were built."""
    leaflet = result.leaflet
    assert leaflet is not None
    root = leaflet.source.parent.resolve()
    images = sorted({Path(os.path.relpath(image.path, root)).as_posix() for image in walk(leaflet.blocks) if isinstance(image, Image)})
    record = {
        "sha256": leaflet.checksum,
        "images": images,
        "next_review": leaflet.meta.next_review.iso,
        "next_review_line": leaflet.line_of("next_review"),
        "language": leaflet.meta.language,
        "review": ReviewFacts.of(leaflet).record(),  # for generate.py reviews, which need not read the source again
        "read_by": inputs.tool,
        "formats": dict((previous or {}).get("formats") or {}),
    }
    for name in result.built:
        built_hashes = dict(hashes[name], source=leaflet.checksum)
        if "images" in built_hashes:
            built_hashes["images"] = inputs.images(leaflet.source, record)
        if "catalogue" in built_hashes:  # the language is known once the source is read
            built_hashes["catalogue"] = inputs.catalogue(leaflet.meta.language)
        for read in RENDERERS[name].reads:  # made from files built just before it, in this build or an earlier one
            built_hashes[f"{incremental.READ_PREFIX}{read}"] = incremental.files_made_by(record, read)
        files = {key: incremental.file_record(out_dir, result.outputs[key]) for key in RENDERERS[name].outputs}
        record["formats"][name] = {"inputs": built_hashes, "files": files}
    return record


def _start_worker(coordinator: int) -> None:
    """Each pool worker leaves Ctrl-C to the coordinator, which stops the build cleanly, and ends
    when the coordinator ends, even by kill -9 (it would otherwise build on, parented to init)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with(coordinator)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _end_with(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies (Linux), else watch it once a second."""
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):  # not Linux
        import threading

        threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    if os.getppid() != parent:  # it died before the kernel was asked
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _remove_stale_temporaries(temporaries: Iterable[Path]) -> None:
    """Half-written files left by a build or a worker that was killed (they never replaced a real file)."""
    for temp in temporaries:
        temp.unlink(missing_ok=True)


def manifest_entry(leaflet: Leaflet, outputs: dict[str, Path], out_dir: Path, today: dt.date) -> dict:
    meta = leaflet.meta
    return {
        "slug": leaflet.slug,
        "source": _relative(leaflet.source, out_dir),
        "title": meta.title,
        "language": meta.language,
        "resource_number": meta.resource_number,
        "last_reviewed": meta.last_reviewed.iso,
        "next_review": meta.next_review.iso,
        "review_status": review_status(meta.next_review, today),
        "outputs": {key: (_relative(outputs[key], out_dir) if key in outputs else None) for key in OUTPUT_KEYS},
    }


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def read_manifest(out_dir: Path) -> list[dict]:
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        leaflets = data["leaflets"]
        return [entry for entry in leaflets if isinstance(entry, dict) and "source" in entry]
    except (OSError, ValueError, KeyError, TypeError):
        return []


class Manifest:
    """output/manifest.json during a build: read once, with the files of leaflets whose source is
    gone deleted and every entry judged on today's date; then each result merged in memory, and
    written whenever the build checkpoints. Entries of leaflets built now are replaced; files
    made earlier in other formats are kept while they exist."""

    def __init__(self, out_dir: Path, today: dt.date):
        self.out_dir, self.today = out_dir, today
        self.entries: dict[tuple, dict] = {}
        self.pruned = False  # files of deleted sources were removed: the manifest on disk lists them
        self.changed = False  # the manifest on disk is not what this one would write
        self.rewritten = False  # this build wrote it
        for entry in read_manifest(out_dir):
            if (out_dir / entry["source"]).is_file():
                status = entry.get("review_status")
                _refresh_review_status(entry, today)
                self.changed |= entry.get("review_status") != status
                self.entries[(entry["source"], entry.get("language"))] = entry
            else:
                _remove_outputs(out_dir, entry)
                self.pruned = self.changed = True

    @property
    def sources(self) -> set[str]:
        return {source for source, _language in self.entries}

    def add(self, result: LeafletResult) -> None:
        if result.leaflet is None or not result.outputs:
            return
        entry = manifest_entry(result.leaflet, result.outputs, self.out_dir, self.today)
        key = (entry["source"], entry["language"])
        before = self.entries.get(key, {})
        for name, old in (before.get("outputs") or {}).items():
            if entry["outputs"].get(name) is None and old and (self.out_dir / old).is_file():
                entry["outputs"][name] = old
        voice = result.voice or before.get("voice")
        if voice and entry["outputs"].get("audio"):
            entry["voice"] = voice  # the engine and voice that read the audio
        self.changed |= entry != before
        self.entries[key] = entry

    def listed(self) -> list[dict]:
        """The entries in the manifest's order: by slug, the original before its translations."""
        return sorted(self.entries.values(), key=lambda e: (e["slug"], Path(e["source"]).name != f"{e['slug']}.md", e["language"]))

    def write(self) -> Path:
        path = self.out_dir / MANIFEST_NAME
        write_text_atomically(path, json.dumps({"leaflets": self.listed()}, indent=2, ensure_ascii=False) + "\n")
        self.changed, self.rewritten = False, True
        return path


def _refresh_review_status(entry: dict, today: dt.date) -> None:
    """Judge an entry kept from an earlier build on the day of this one."""
    try:
        entry["review_status"] = review_status(ReviewDate.from_iso(str(entry["next_review"])), today)
    except (KeyError, ValueError):
        pass  # an entry this version didn't write: leave it as it was


def _remove_outputs(out_dir: Path, entry: dict) -> None:
    """Delete the files of a leaflet whose source was deleted (only files inside out_dir)."""
    root = out_dir.resolve()
    for relative in (entry.get("outputs") or {}).values():
        if not relative:
            continue
        path = (out_dir / relative).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
            log.info("removed %s: its source is gone", path)


def write_text_atomically(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
