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
import secrets
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from ..errors import InputError, OutputError, RenderError
from ..files import write_atomically
from ..model import Image, Leaflet, ReviewDate, judged, review_status, walk
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


@dataclass(slots=True)  # a library of thousands keeps one each
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
    source_stat: list[int] | None = None  # the source's stat as it was read, when settled (incremental.read_source)

    @property
    def ok(self) -> bool:
        return not self.problems


def find_sources(paths: Sequence[Path]) -> list[Path]:
    """The leaflet files named, and every ``*.md`` under the folders named, in a stable order:
    each resolved, from the current folder when inside it."""
    found: list[str] = []
    for path in paths:
        if path.is_dir():
            found.extend(_markdown_files(path))
        elif path.is_file():
            found.append(os.path.realpath(path))
        else:
            raise UsageError(f"{path}: no such file or folder")
    inside = os.getcwd().rstrip("/") + "/"
    folders: dict[str, Path] = {}  # each folder once: a library of thousands is made paths of in milliseconds
    unique = []
    for path in dict.fromkeys(found):
        folder, _, name = path.rpartition("/")
        if (parent := folders.get(folder)) is None:
            parent = folders[folder] = Path(f"{folder}/".removeprefix(inside) or ".")
        unique.append(parent / name)
    return unique


def _markdown_files(folder: Path) -> list[str]:
    """Every ``*.md`` file under folder, resolved, in the order of ``sorted(folder.rglob("*.md"))``
    (symbolic links to folders not followed). Only a file that is a symbolic link is resolved on
    its own: a library of thousands is listed in milliseconds."""
    root = os.path.join(os.path.realpath(folder), "")
    found: list[tuple[tuple[str, ...], str]] = []  # (its path's parts under folder, the file resolved)

    def walk(directory: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except PermissionError:
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, (*parts, entry.name))
            elif entry.name.endswith(".md") and entry.is_file():
                relative = "/".join((*parts, entry.name))
                found.append(((*parts, entry.name), os.path.realpath(entry.path) if entry.is_symlink() else root + relative))

    walk(os.fspath(folder), ())
    return [path for _parts, path in sorted(found)]


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
    next_review = leaflet.meta.next_review
    return _review_warnings(leaflet.source, leaflet.line_of("next_review"), next_review, review_status(next_review, today))


def _review_warnings(source: Path, line: int, next_review: ReviewDate, status: str) -> list[str]:
    if status == "ok":
        return []
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
    from ..reader import leaflet_from_bytes, slug_and_language  # parsed only when something is built

    result = LeafletResult(source)
    try:
        slug_and_language(source)  # a file name that gives no slug is said before the file is read
        raw, result.source_stat = incremental.read_source(source)
        leaflet = leaflet_from_bytes(source, raw)
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
    if not os.path.isdir(folder):
        folder.mkdir(parents=True, exist_ok=True)
    staging = {key: _staging_file(path) for key, path in targets.items()}
    try:
        render(leaflet, settings, staging)
        for key, path in targets.items():
            os.chmod(staging[key], 0o644)
            os.replace(staging[key], path)
            del staging[key]
    finally:
        for temp in staging.values():  # those not renamed into place
            temp.unlink(missing_ok=True)


def _staging_file(path: Path) -> Path:
    """A name beside ``path`` for its next version, which the renderer creates: unique to this
    process and call (pid and 64 random bits), not created here, as a file made empty beforehand
    and opened again with truncation is flushed to disk when it is closed (ext4's auto_da_alloc:
    50 us for every file of a build). A build killed before the rename leaves it to the next one
    (_remove_stale_temporaries)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(8)}.tmp")


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
            finished = not unfinished.exists() and (out_dir / incremental.STATE_NAME).exists()
            if not finished:
                _remove_stale_temporaries(out_dir.rglob(".*.tmp"))  # the last build was killed, or is not known
            unfinished.touch()
            with incremental.load_state(out_dir) as state:
                report = _build_locked(sources, out_dir, formats, settings, today, jobs, on_result, force, executor, finished, state)
            unfinished.unlink()
            return report
    except OSError as err:
        raise OutputError(f"{out_dir}: cannot write the output folder ({err.strerror or err}); choose another --out or free some space") from err


def _build_locked(sources, out_dir, formats, settings, today, jobs, on_result, force, executor, last_finished: bool,
                  state: incremental.BuildState) -> BuildReport:
    """The build, in the output folder's lock; ``last_finished``: the build before it finished."""
    from .index import INDEX_NAME, PageOnDisk, index_is_current, index_page, own_template, template_path

    formats = [name for name in RENDERERS if name in formats]  # build order: a format after those it is made from
    index = out_dir / INDEX_NAME
    # A build that finished wrote the page after the manifest, from it: when neither was changed
    # since, the rows of leaflets left as they were can be copied from the page.
    page_of_manifest = last_finished and _written_in_order(out_dir / MANIFEST_NAME, index)
    inputs = incremental.Inputs(settings)
    manifest = Manifest(out_dir, today)  # read once the sources changed since the last build are building
    # The page is rewritten when the manifest was, or on a new day, or when what shapes the page changed.
    stamp = incremental.digest(today.isoformat(), inputs.file(template_path(settings)), inputs.templates, inputs.settings_hash, inputs.tool)
    current = index_is_current(index, stamp)
    results: list[LeafletResult] = []
    todo: list[tuple[Path, str, dict[str, str], incremental.Stale]] = []
    verified: set[str] = set()  # sources whose leaflet is up to date, its files as written
    settled_stats: dict[str, list[int] | None] = {}  # the stats to record of sources left as they were, when the state is written
    page_plan: list[tuple[set[str], PageOnDisk | None]] = []  # worked out while the last leaflets build

    def plan_page() -> tuple[set[str], PageOnDisk | None]:
        """The leaflets (slugs) whose rows can be copied from the page on disk, and the page."""
        if not (current and page_of_manifest and own_template(settings)):
            return set(), None
        return manifest.kept_slugs(verified, {key for name in formats for key in RENDERERS[name].outputs}), PageOnDisk(index)

    locate = incremental.SourceKeys(out_dir.resolve())
    settled = incremental.settled_before()

    def assess(source: Path, key: str, found: list[int] | None, outputs: incremental.OutputFolder) -> tuple[dict | None, incremental.Stale]:
        record = state.get(key)
        hashed = incremental.source_hash(source, record, found, settled)
        return record, incremental.stale_formats(source, record, formats, inputs, outputs, force, hashed)

    def decide(source: Path, key: str, record: dict | None, stale: incremental.Stale, listed: set[str]) -> LeafletResult | tuple:
        """The result of a leaflet left as it was, or what to build of it."""
        if stale.reasons:
            return source, key, stale.reasons, stale
        unchanged = _unchanged_result(source, record, today)
        if unchanged is None or key not in listed:
            return source, key, dict.fromkeys(formats, "its manifest entry or build record is missing"), stale
        if stale.source_stat != record.get("source_stat"):  # its stat has settled since it was built: the next build need not read it
            settled_stats[key] = stale.source_stat
        verified.add(key)
        return unchanged

    def stale_leaflets() -> Iterator[tuple[Path, str, dict[str, str], incremental.Stale]]:
        """Each leaflet to build, as it is found (a pool builds the first while the rest are
        checked); each left as it was is reported in the order of ``sources``. The sources changed
        since the last build wrote its state are checked first, before the manifest is read: in a
        large library, the leaflets edited start building at once."""
        since = incremental.state_written(out_dir)
        located: list[tuple[str, list[int] | None]] = []
        checked: dict[int, tuple[dict | None, incremental.Stale] | None] = {}  # by place in sources; None once building
        with incremental.OutputFolder(out_dir) as outputs:
            for number, source in enumerate(sources):
                located.append(locate(source))
                key, found = located[-1]
                if since is not None and (found is None or incremental.changed_since(found, since)):
                    record, stale = assess(source, key, found, outputs)
                    checked[number] = None if stale.reasons else (record, stale)
                    if stale.reasons:  # built now: the manifest says nothing of what needs building
                        todo.append((source, key, stale.reasons, stale))
                        yield todo[-1]
            manifest.read({key: found is not None for key, found in located})
            listed = manifest.sources
            for number, source in enumerate(sources):
                key, found = located[number]
                if number in checked:
                    if checked[number] is None:
                        continue
                    record, stale = checked.pop(number)
                else:
                    record, stale = assess(source, key, found, outputs)
                outcome = decide(source, key, record, stale, listed)
                if isinstance(outcome, LeafletResult):
                    results.append(outcome)
                    on_result(outcome)
                else:
                    todo.append(outcome)
                    yield outcome
        if todo:
            page_plan.append(plan_page())

    saved = time.monotonic()
    try:
        for (_source, key, reasons, stale), result in _run(stale_leaflets(), len(sources), out_dir, settings, today, jobs, executor):
            result.reasons = reasons
            if result.leaflet is not None and result.built:
                state[key] = _state_record(state.get(key), result, stale, inputs, out_dir)
            results.append(result)
            manifest.add(result)
            on_result(result)
            if time.monotonic() - saved > CHECKPOINT_SECONDS:
                _save(manifest, state, settled_stats)
                saved = time.monotonic()
    finally:  # even when interrupted, so what was built is listed and not built again
        manifest.read()
        manifest.remove_gone()
        _save(manifest, state, settled_stats, written=bool(todo))
    # A worker that died mid-leaflet (its leaflet built again elsewhere) left its files half-written
    # in that leaflet's folder: every task has ended now, so whatever is left there is stale.
    for folder in {slug for source, *_ in todo if (slug := _slug(source))}:
        _remove_stale_temporaries((out_dir / folder).glob(".*.tmp"))
    if manifest.rewritten or not current:
        kept, page = page_plan[0] if page_plan else plan_page()
        write_atomically(index, *index_page(manifest.listed(), out_dir, settings, today, stamp, kept - manifest.touched, page))
    return BuildReport(results, out_dir / MANIFEST_NAME, index)


def _slug(source: Path) -> str | None:
    """The slug a source's file name gives, None if it gives none (the leaflet failed for it)."""
    from ..reader import slug_and_language

    try:
        return slug_and_language(source)[0]
    except InputError:
        return None


def _written_in_order(first: Path, then: Path) -> bool:
    """Whether both files are there, ``then`` written no earlier than ``first``."""
    try:
        return os.stat(then).st_mtime_ns >= os.stat(first).st_mtime_ns
    except OSError:
        return False


def _save(manifest: Manifest, state: incremental.BuildState, settled_stats: dict[str, list[int] | None], written: bool = True) -> None:
    """Write the manifest, then the build state that vouches for it (never ahead of it), with the
    ``settled_stats`` of sources (then forgotten); neither when no leaflet was ``written`` and both
    on disk already say it all (a no-op build: the stats wait for a build that writes)."""
    listed = manifest.sources
    gone = [key for key in state if key not in listed]  # its source was deleted (the manifest removed its files), or it never built
    if not (written or gone or manifest.changed or not (manifest.out_dir / MANIFEST_NAME).is_file()):
        return
    manifest.write()
    for key in gone:
        del state[key]
    for key, found in settled_stats.items():
        if (record := state.get(key)) is not None:
            state[key] = {**record, "source_stat": found}
    settled_stats.clear()
    state.save(manifest.out_dir / incremental.STATE_NAME)
    (manifest.out_dir / incremental.OLD_STATE_NAME).unlink(missing_ok=True)  # an earlier version's, replaced by this one


def _run(todo: Iterable[tuple], count: int, out_dir: Path, settings: Settings, today: dt.date, jobs: int,
         executor: Executor | None) -> Iterator:
    """Build each leaflet of ``todo`` (of at most ``count``), yielding (its todo entry, its result)
    as each finishes. An executor given may run on other machines, in other folders: it gets
    absolute paths, and its results name each source as it was given here."""
    elsewhere = executor is not None

    def arguments(item: tuple) -> tuple:
        if elsewhere:
            return item[0].resolve(), out_dir.resolve(), list(item[2]), settings, today
        return item[0], out_dir, list(item[2]), settings, today

    if executor is None and (jobs <= 1 or count <= 1):
        for item in list(todo):
            yield item, build_leaflet(*arguments(item))
        return
    pool: ProcessPoolExecutor | None = None
    with contextlib.ExitStack() as stack:

        def started() -> Executor:  # a pool only once there is a leaflet to build
            nonlocal executor, pool
            if executor is None:
                pool = ProcessPoolExecutor(max_workers=min(jobs, count), initializer=_start_worker, initargs=(os.getpid(),))
                executor = stack.enter_context(pool)
            return executor

        for item, future in _in_parallel(started, build_leaflet, todo, arguments, max(jobs, 1)):
            try:
                result = future.result()
            except Exception as err:  # a worker that died (killed, out of memory) fails its leaflet only
                log.debug("worker failed on %s", item[0], exc_info=True)
                result = LeafletResult(item[0], problems=[f"{item[0]}: {_worker_failure(err)}"])
            yield item, _as_given(result, item[0]) if elsewhere else result
        if pool is not None:  # every task has ended: the workers end while the manifest is written, not before
            stack.pop_all()
            pool.shutdown(wait=False)


def _as_given(result: LeafletResult, source: Path) -> LeafletResult:
    """A result made from the source's absolute path, its messages naming the source as given."""
    built_as = f"{source.resolve()}:"

    def given(line: str) -> str:
        return f"{source}:{line.removeprefix(built_as)}" if line.startswith(built_as) else line

    return replace(result, source=source, problems=[given(line) for line in result.problems], warnings=[given(line) for line in result.warnings])


def _worker_failure(err: Exception) -> str:
    if isinstance(err, OutputError):  # the cluster executor's own reason: no usable worker left, its scheduler lost
        return str(err)
    kind = type(err)
    # dask.distributed's KilledWorker (each worker that tried the leaflet died), known by name so a
    # local build never imports dask
    if kind.__name__ == "KilledWorker" and kind.__module__.split(".")[0] == "distributed":
        return ("every build worker that tried this leaflet died while building it, so it was left unbuilt; "
                "build it alone on this machine (--jobs 1) to see why")
    return f"the build worker failed ({type(err).__name__}: {err}); build it again"


def _in_parallel(executor: Callable[[], Executor], function: Callable, items: Iterable, arguments: Callable, jobs: int) -> Iterator[tuple]:
    """Run ``function(*arguments(item))`` for each item on the executor, yielding (item, future) as each finishes.

    Items are handed out as they are drawn, while the rest are still being found; the first is
    yielded once all are found. At most ``jobs`` calls are handed out at a time, so Ctrl-C lets
    the running ones finish and starts no more (an executor's own queue would already hold further work).
    """
    waiting: deque = deque()
    running: dict[Future, object] = {}
    finished: list[tuple] = []

    def hand_out() -> None:
        while waiting and len(running) < jobs:
            item = waiting.popleft()
            running[executor().submit(function, *arguments(item))] = item

    for item in items:
        waiting.append(item)
        finished.extend((running.pop(future), future) for future in [future for future in running if future.done()])
        hand_out()
    yield from finished
    while waiting or running:
        hand_out()
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            yield running.pop(future), future


def _unchanged_result(source: Path, record: dict, today: dt.date) -> LeafletResult | None:
    """The result of a leaflet left as it was, its review warnings from the build state; None if
    the state doesn't say enough."""
    try:
        next_review, status = judged(record["next_review"], today)
        line = int(record["next_review_line"])
    except (KeyError, TypeError, ValueError):
        return None
    return LeafletResult(source, warnings=_review_warnings(source, line, next_review, status), unchanged=True, review_status=status)


def _state_record(previous: dict | None, result: LeafletResult, stale: incremental.Stale,
                  inputs: incremental.Inputs, out_dir: Path) -> dict:
    """What the build state keeps about one leaflet after some of its formats were built."""
    leaflet = result.leaflet
    assert leaflet is not None
    root = leaflet.source.parent.resolve()
    images = sorted({Path(os.path.relpath(image.path, root)).as_posix() for image in walk(leaflet.blocks) if isinstance(image, Image)})
    record = {
        "sha256": leaflet.checksum,
        "source_stat": result.source_stat,
        "images": images,
        "next_review": leaflet.meta.next_review.iso,
        "next_review_line": leaflet.line_of("next_review"),
        "language": leaflet.meta.language,
        "review": ReviewFacts.of(leaflet).record(),  # for generate.py reviews, which need not read the source again
        "read_by": inputs.tool,
        "formats": dict((previous or {}).get("formats") or {}),
    }
    for name in result.built:
        built_hashes = dict(stale.hashes[name], source=leaflet.checksum)
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


def read_manifest(out_dir: Path) -> tuple[list[dict], bool]:
    """The manifest's entries, and whether it holds a real number (NaN and Infinity too), which
    manifest_bytes can't write with orjson. Read by the json module: orjson takes a third more
    memory here, where the coordinator of a large library is at its largest."""
    reals: list[str] = []

    def real(text: str) -> float:
        reals.append(text)
        return float(text)

    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"), parse_float=real, parse_constant=real)
        leaflets = data["leaflets"]
        return [entry for entry in leaflets if isinstance(entry, dict) and "source" in entry], bool(reals)
    except (OSError, ValueError, KeyError, TypeError):
        return [], False


def manifest_bytes(data: dict, reals: bool) -> bytes:
    """``json.dumps(data, indent=2, ensure_ascii=False)`` and a newline, as UTF-8: made by orjson,
    a hundred times faster, when its bytes are the same: for every string (each character tested),
    integer, null, true, false, list and object; not for ``reals`` (1e-05 is 0.00001 there, NaN null)."""
    if not reals:
        try:
            return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # a lone surrogate, an integer of more than 64 bits: left to the json module
            pass
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class Manifest:
    """output/manifest.json during a build: read once, every entry judged on today's date, with
    the entries of sources deleted since set apart; then each result merged in memory, and written
    whenever the build checkpoints. Entries of leaflets built now are replaced; files made earlier
    in other formats are kept while they exist. The files of deleted sources are removed once the
    build is over (remove_gone), but those it wrote: a leaflet moved to another folder keeps the
    files it was just built into."""

    def __init__(self, out_dir: Path, today: dt.date):
        self.out_dir, self.today = out_dir, today
        self.entries: dict[tuple, dict] = {}
        self.gone: list[dict] | None = None  # entries of deleted sources, listed until their files are removed; None: not read yet
        self.changed = False  # the manifest on disk is not what this one would write
        self.rewritten = False  # this build wrote it
        self.touched: set[str] = set()  # the leaflets (slugs) with an entry added, changed or removed since the manifest was read
        self.written: set[str] = set()  # the files this build wrote (paths from out_dir)
        self.reals = False  # the manifest read holds a real number: written by the json module (manifest_bytes)

    def read(self, found: Mapping[str, bool] | None = None) -> None:
        """Read the manifest on disk, once; ``found``: whether sources are there (by path from
        out_dir), known already: the others are looked for."""
        if self.gone is not None:
            return
        self.gone = []
        found = found or {}
        entries, self.reals = read_manifest(self.out_dir)  # the entries of this build hold no real number
        with incremental.OutputFolder(self.out_dir) as folder:
            for entry in entries:
                source = str(entry["source"])
                if found[source] if source in found else folder.is_file(source):
                    status = entry.get("review_status")
                    _refresh_review_status(entry, self.today)
                    if entry.get("review_status") != status:
                        self.changed = True
                        self.touched.add(entry.get("slug", ""))
                    self.entries[(entry["source"], entry.get("language"))] = entry
                else:
                    self.gone.append(entry)
                    self.changed = True
                    self.touched.add(entry.get("slug", ""))

    def remove_gone(self) -> None:
        """Delete the files of the deleted sources, but those this build wrote, and forget their entries."""
        for entry in self.gone or []:
            _remove_outputs(self.out_dir, entry, self.written)
        self.gone = []

    @property
    def sources(self) -> set[str]:
        return {source for source, _language in self.entries} | {entry["source"] for entry in self.gone or []}

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
        self.touched.add(entry["slug"])
        self.written.update(_relative(path, self.out_dir) for path in result.outputs.values())

    def kept_slugs(self, verified: set[str], output_keys: set[str]) -> set[str]:
        """The leaflets (slugs) whose every entry is as it was read, of a source in ``verified``,
        and lists only files of ``output_keys`` (which the build verified)."""
        kept, dropped = set(), set(self.touched)
        for (source, _language), entry in self.entries.items():
            outputs = entry.get("outputs") or {}
            if source in verified and all(key in output_keys for key, path in outputs.items() if path):
                kept.add(entry.get("slug", ""))
            else:
                dropped.add(entry.get("slug", ""))
        return kept - dropped

    def listed(self) -> list[dict]:
        """The entries in the manifest's order: by slug, the original before its translations."""
        return sorted([*self.entries.values(), *(self.gone or [])],
                      key=lambda e: (e["slug"], e["source"].rpartition("/")[2] != f"{e['slug']}.md", e["language"]))

    def write(self) -> Path:
        path = self.out_dir / MANIFEST_NAME
        write_atomically(path, manifest_bytes({"leaflets": self.listed()}, self.reals))
        self.changed, self.rewritten = False, True
        return path


def _refresh_review_status(entry: dict, today: dt.date) -> None:
    """Judge an entry kept from an earlier build on the day of this one."""
    try:
        entry["review_status"] = judged(str(entry["next_review"]), today)[1]
    except (KeyError, ValueError):
        pass  # an entry this version didn't write: leave it as it was


def _remove_outputs(out_dir: Path, entry: dict, kept: set[str]) -> None:
    """Delete the files of a leaflet whose source was deleted (only files inside out_dir), but those ``kept``."""
    root = out_dir.resolve()
    for relative in (entry.get("outputs") or {}).values():
        if not relative or relative in kept:
            continue
        path = (out_dir / relative).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
            log.info("removed %s: its source is gone", path)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
