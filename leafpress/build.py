"""Build leaflets into output/: read each source, run the chosen renderers, keep the manifest.

Each leaflet is independent: a bad source is reported and skipped while the others build.
Every file is written to a temporary name and renamed into place, so a reader of output/
never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, OutputError, RenderError
from .lock import output_lock
from .model import Leaflet, review_status
from .reader import read_leaflet
from .renderers import RENDERERS
from .settings import Settings

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
OUTPUT_KEYS = ("print", "large_print", "docx", "audio", "audio_script", "translation_brief", "xliff")


class UsageError(Exception):
    """The command was asked for something impossible (a missing path, an unknown format)."""


@dataclass
class LeafletResult:
    source: Path
    leaflet: Leaflet | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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
    if not text:
        return list(RENDERERS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [n for n in names if n not in RENDERERS]
    if unknown or not names:
        raise UsageError(f"unknown format '{','.join(unknown) or text}'; choose from {','.join(RENDERERS)}")
    return list(dict.fromkeys(names))


def review_warnings(leaflet: Leaflet, today: dt.date) -> list[str]:
    meta = leaflet.meta
    status = review_status(meta.next_review, today)
    where = f"{leaflet.source}:{leaflet.line_of('next_review')}"
    if status == "overdue":
        return [f"{where}: warning: review overdue since {meta.next_review.display}; review the leaflet and update last_reviewed and next_review"]
    if status == "due-soon":
        return [f"{where}: warning: review due {meta.next_review.display}; plan the review now"]
    return []


def output_paths(leaflet: Leaflet, out_dir: Path, formats: Iterable[str]) -> dict[str, Path]:
    folder = out_dir / leaflet.slug
    return {
        key: folder / f"{leaflet.stem}{suffix}"
        for name in formats
        for key, suffix in RENDERERS[name].outputs.items()
    }


def build_leaflet(source: Path, out_dir: Path, formats: Sequence[str], settings: Settings, today: dt.date) -> LeafletResult:
    """Read one source and write each chosen format; never raises for bad input."""
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
    result.warnings = review_warnings(leaflet, today)
    for name in formats:
        renderer = RENDERERS[name]
        targets = output_paths(leaflet, out_dir, [name])
        try:
            _render_atomically(renderer.render, leaflet, settings, targets)
        except (RenderError, InputError) as err:
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
    return result


def _render_atomically(render: Callable, leaflet: Leaflet, settings: Settings, targets: dict[str, Path]) -> None:
    """Render into temporary files beside the targets, then rename them all into place."""
    folder = next(iter(targets.values())).parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = {key: Path(tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")[1]) for key, path in targets.items()}
    try:
        render(leaflet, settings, staging)
        for key, path in targets.items():
            os.chmod(staging[key], 0o644)
            os.replace(staging[key], path)
    finally:
        for temp in staging.values():
            temp.unlink(missing_ok=True)


@dataclass
class BuildReport:
    results: list[LeafletResult]
    manifest: Path

    @property
    def failed(self) -> list[LeafletResult]:
        return [r for r in self.results if not r.ok]


def build(
    sources: Sequence[Path],
    out_dir: Path,
    formats: Sequence[str],
    settings: Settings,
    today: dt.date,
    jobs: int = 1,
    on_result: Callable[[LeafletResult], None] = lambda result: None,
    on_wait: Callable[[str], None] = lambda message: None,
) -> BuildReport:
    """Build every source (in parallel when jobs > 1), keeping the manifest current after each one.

    Only one build writes to an output folder at a time; a second one waits.
    Raises OutputError when the output folder cannot be written at all.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with output_lock(out_dir, on_wait):
            _remove_stale_temporaries(out_dir)
            results: list[LeafletResult] = []

            def finished(result: LeafletResult) -> None:
                results.append(result)
                write_manifest(out_dir, [result], today)
                on_result(result)

            if jobs > 1 and len(sources) > 1:
                for result in _in_parallel(build_leaflet, [(s, out_dir, formats, settings, today) for s in sources], jobs):
                    finished(result)
            else:
                for source in sources:
                    finished(build_leaflet(source, out_dir, formats, settings, today))
            manifest = write_manifest(out_dir, [], today)
    except OSError as err:
        raise OutputError(f"{out_dir}: cannot write the output folder ({err.strerror or err}); choose another --out or free some space") from err
    return BuildReport(results, manifest)


def _in_parallel(function: Callable, argument_lists: Sequence[tuple], jobs: int) -> Iterator:
    """Run ``function`` over the argument lists in worker processes, yielding results as they finish.

    At most ``jobs`` calls are handed out at a time, so Ctrl-C lets the running ones
    finish and starts no more (a pool's own queue would already hold further work).
    """
    waiting = list(reversed(argument_lists))
    with ProcessPoolExecutor(max_workers=min(jobs, len(argument_lists)), initializer=_ignore_interrupts) as pool:
        running = set()
        while waiting or running:
            while waiting and len(running) < jobs:
                running.add(pool.submit(function, *waiting.pop()))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which stops the build cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Half-written files left by a build that was killed (they never replaced a real file)."""
    for temp in out_dir.rglob(".*.tmp"):
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


def write_manifest(out_dir: Path, results: Sequence[LeafletResult], today: dt.date) -> Path:
    """Merge this build into the manifest: entries of leaflets built now are replaced, files
    made earlier in other formats are kept while they exist, and leaflets whose source is
    gone are dropped."""
    entries = {(e["source"], e.get("language")): e for e in read_manifest(out_dir)}
    for result in results:
        if result.leaflet is None or not result.outputs:
            continue
        leaflet = result.leaflet
        entry = manifest_entry(leaflet, result.outputs, out_dir, today)
        key = (entry["source"], entry["language"])
        previous = entries.get(key, {}).get("outputs") or {}
        for name, old in previous.items():
            if entry["outputs"].get(name) is None and old and (out_dir / old).is_file():
                entry["outputs"][name] = old
        entries[key] = entry
    kept = []
    for entry in entries.values():
        if (out_dir / entry["source"]).is_file():
            kept.append(entry)
        else:
            _remove_outputs(out_dir, entry)
    kept.sort(key=lambda e: (e["slug"], Path(e["source"]).name != f"{e['slug']}.md", e["language"]))
    path = out_dir / MANIFEST_NAME
    _write_text_atomically(path, json.dumps({"leaflets": kept}, indent=2, ensure_ascii=False) + "\n")
    return path


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


def _write_text_atomically(path: Path, text: str) -> None:
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
