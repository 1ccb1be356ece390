"""The command line: parse arguments, call the package, decide what the user sees.

Exit status: 0 when everything worked, 1 when any leaflet failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .settings import PROJECT_ROOT, SETTINGS_FILE

DEFAULT_SOURCE = PROJECT_ROOT / "source"
DEFAULT_OUT = PROJECT_ROOT / "output"
# Every renderer, in build order (a test holds it to RENDERERS; not imported here, to keep --help fast).
FORMAT_NAMES = "print,large-print,docx,audio,braille,epub,html"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write YYYY-MM-DD") from None


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate.py",
        description="Publish patient leaflets from one Markdown source each: print PDF, "
        "large-print PDF, Word for translators, an MP3 audio reading, a web page and braille.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show diagnostic messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                         help="leaflet files or folders of them (default: source/)")
        sub.add_argument("--settings", type=Path, default=SETTINGS_FILE,
                         help="brand and output settings (default: layouts/settings.yaml)")
        sub.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                         help="judge review dates as of this day instead of today")

    build = commands.add_parser("build", help="build leaflets into output/")
    common(build)
    build.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="output folder (default: output/)")
    build.add_argument("--formats", default=FORMAT_NAMES, metavar="LIST",
                       help=f"comma-separated formats to build (default: {FORMAT_NAMES})")
    build.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                       help="leaflets built at once (default: the number of CPU cores, or of the cluster's workers)")
    build.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="build on the dask.distributed cluster of this scheduler, like tcp://build-1:8786 (default: "
                            "$DASK_SCHEDULER_ADDRESS, else library.scheduler in settings, else this machine); see docs/library.md")
    build.add_argument("--strict-reviews", action="store_true",
                       help="fail leaflets whose review is overdue (they are still built)")
    build.add_argument("--force", action="store_true",
                       help="rebuild every leaflet, even those whose outputs are up to date")

    check = commands.add_parser("check", help="validate leaflets without building them")
    common(check)
    check.add_argument("--strict-reviews", action="store_true", help="treat an overdue review as an error")
    check.add_argument("--strict", action="store_true", help="treat plain-language warnings as errors")
    check.add_argument("--max-reading-age", type=float, default=None, metavar="AGE",
                       help="warn above this reading age (default: 11, from NHS guidance)")

    reviews = commands.add_parser("reviews", help="print every leaflet's review status and write reviews.csv")
    common(reviews)
    reviews.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                         help="folder for reviews.csv (default: output/)")

    preview = commands.add_parser("preview", help="render PNG thumbnails of every page of the built PDFs, and the braille as Unicode cells")
    common(preview)
    preview.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="output folder (default: output/)")
    preview.add_argument("--dpi", type=int, default=50, help="resolution of the thumbnails (default: 50)")

    translation = commands.add_parser("import-translation", help="turn a translated .docx into source/<slug>.<lang>.md")
    translation.add_argument("docx", type=Path, metavar="FILE.docx", help="the translated Word file")
    translation.add_argument("--lang", default=None, metavar="LANG",
                             help="the translation's language, e.g. pl (default: the language set in the file)")
    translation.add_argument("--sources", type=Path, default=DEFAULT_SOURCE, metavar="DIR",
                             help="where the leaflet's source is (default: source/)")
    translation.add_argument("--accept-changed-source", action="store_true",
                             help="import even though the source changed after the Word file was made")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted: files already written are whole; run the same command again to finish", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    for noisy in ("fontTools", "weasyprint", "markdown_it", "comtypes"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    from .errors import InputError, OutputError
    from .library.build import UsageError, find_sources
    from .settings import load_settings

    if args.command == "import-translation":
        return _import_translation(args)
    today = args.today or dt.date.today()
    try:
        sources = find_sources(args.paths or [DEFAULT_SOURCE])
        settings = load_settings(args.settings)
        if args.command == "build":
            return _build(args, sources, settings, today)
        if args.command == "check":
            return _check(args, sources, settings, today)
        if args.command == "preview":
            return _preview(args, sources)
        return _reviews(args, sources, settings, today)
    except UsageError as err:
        parser.error(str(err))
    except InputError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    except OutputError as err:
        print(err, file=sys.stderr)
        return 1
    return 0  # unreachable: parser.error exits


def voice_warning(settings) -> str:
    """One warning when English audio falls back to espeak-ng because the recommended voice is not installed."""
    from .model import DEFAULT_LANGUAGE
    from .speech.voices import missing_recommendation

    known = missing_recommendation(DEFAULT_LANGUAGE, settings)
    if known is None:
        return ""
    return (f"warning: the voice {known.key} is not installed (Debian package {known.package}), so English audio is read by "
            f"espeak-ng, which listeners understand far less well; run make to install it (see the README's audio section)")


def _build(args, sources, settings, today: dt.date) -> int:
    from .library.build import UsageError, default_jobs, parse_formats
    from .library.cluster import cluster_executor, scheduler_address

    formats = parse_formats(args.formats)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if "audio" in formats and (missing := voice_warning(settings)):
        print(missing, file=sys.stderr)
    with contextlib.ExitStack() as stack:
        executor, jobs = None, default_jobs()
        if address := scheduler_address(args.scheduler, settings):
            executor, jobs = stack.enter_context(cluster_executor(address, settings, args.out, lambda line: print(line, file=sys.stderr)))
            print(f"Building on the cluster at {address}: {jobs} worker{'s' if jobs != 1 else ''}", file=sys.stderr)
        report_ = _run_build(args, sources, settings, today, formats, jobs if args.jobs is None else min(args.jobs, jobs), executor)
    total, failed, unchanged = len(report_.results), report_.failed, report_.unchanged
    overdue = [r for r in report_.results if r.review_status == "overdue"]
    print(f"Built {len(report_.built)} of {total} leaflet{'s' if total != 1 else ''} "
          f"({', '.join(formats)}) into {_shown(args.out)}"
          + (f"; {len(unchanged)} unchanged (--force rebuilds them)" if unchanged else "")
          + f"; manifest: {_shown(report_.manifest)}")
    if failed:
        print(f"{len(failed)} failed: see the messages above", file=sys.stderr)
        for result in failed:
            print(f"  {result.problems[0]}", file=sys.stderr)
    strict_reviews = _strict_reviews(args, settings)
    if overdue and strict_reviews:
        print(f"{len(overdue)} leaflet{'s' if len(overdue) != 1 else ''} overdue for review ({strict_reviews})", file=sys.stderr)
        return 1
    return 1 if failed else 0


def _run_build(args, sources, settings, today: dt.date, formats: list[str], jobs: int, executor):
    """The build with its progress bar, each leaflet's warnings and problems printed as it finishes."""
    from .library.build import build
    from .progress import Progress

    with Progress(total=len(sources), label="Building") as progress:
        def report(result) -> None:
            for line in result.warnings:
                progress.write(line)
            for line in result.problems:
                progress.write(line)
            if result.unchanged:
                progress.advance(f"unchanged {result.source}", quiet=True)
            else:
                progress.advance(f"{'built' if result.ok else 'FAILED'} {result.source}{_why(result.reasons)}")

        return build(sources, args.out, formats, settings, today, jobs=jobs, on_result=report, on_wait=progress.write, force=args.force,
                     executor=executor)


def _why(reasons: dict[str, str]) -> str:
    """``(print, docx: the layouts changed)``: which formats were built and why."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in reasons.items():
        by_reason.setdefault(reason, []).append(name)
    parts = ["{}: {}".format(", ".join(names), reason) for reason, names in by_reason.items()]
    return f" ({'; '.join(parts)})" if parts else ""


def _read_all(sources) -> tuple[list, int]:
    """Read every source, printing each problem; returns the valid leaflets and the count of bad ones."""
    from .errors import InputError
    from .reader import read_leaflet

    leaflets, bad = [], 0
    for source in sources:
        try:
            leaflets.append(read_leaflet(source))
        except InputError as err:
            bad += 1
            for problem in err.problems:
                print(problem, file=sys.stderr)
    return leaflets, bad


def _check(args, sources, settings, today: dt.date) -> int:
    from .errors import InputError
    from .languages.catalogue import check_catalogues
    from .library.build import catalogue_warnings, review_warnings
    from .lint import MAX_READING_AGE, lint
    from .model import review_status
    from .renderers.print_pdf import printable_fonts

    limit = MAX_READING_AGE if args.max_reading_age is None else args.max_reading_age
    leaflets, bad = _read_all(sources)
    catalogue_problems = check_catalogues(settings.layouts_dir)
    for problem in catalogue_problems:
        print(problem, file=sys.stderr)
    overdue = plain_language = 0
    for leaflet in leaflets:
        overdue += review_status(leaflet.meta.next_review, today) == "overdue"
        for warning in review_warnings(leaflet, today) + catalogue_warnings(leaflet, settings):
            print(warning, file=sys.stderr)
        try:
            printable_fonts(leaflet, settings)
        except InputError as err:
            bad += 1
            for problem in err.problems:
                print(problem, file=sys.stderr)
        for finding in lint(leaflet, limit):
            plain_language += 1
            print(finding, file=sys.stderr)
    summary = f"Checked {len(sources)} leaflet{'s' if len(sources) != 1 else ''}: {bad} with errors, {len(leaflets)} valid"
    if catalogue_problems:
        summary += f"; {len(catalogue_problems)} problem{'s' if len(catalogue_problems) != 1 else ''} in the fixed-text catalogues"
    if plain_language:
        summary += f"; {plain_language} plain-language warning{'s' if plain_language != 1 else ''}" + (" (--strict)" if args.strict else "")
    print(summary)
    strict_reviews = _strict_reviews(args, settings)
    if overdue and strict_reviews:
        print(f"{overdue} leaflet{'s' if overdue != 1 else ''} overdue for review ({strict_reviews})", file=sys.stderr)
    return 1 if bad or catalogue_problems or (overdue and strict_reviews) or (args.strict and plain_language) else 0


def _strict_reviews(args, settings) -> str:
    """What makes an overdue review a failure, for the message; empty when nothing does."""
    if args.strict_reviews:
        return "--strict-reviews"
    return "reviews.overdue_fails in the settings" if settings.reviews.overdue_fails else ""


def _reviews(args, sources, settings, today: dt.date) -> int:
    from .files import write_text_atomically
    from .library.reviews import CSV_NAME, csv_text, read_review_facts, review_rows, table_lines

    leaflets, bad = read_review_facts(sources, args.out, settings, lambda line: print(line, file=sys.stderr))
    rows = review_rows(leaflets, today)
    for line in table_lines(rows):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / CSV_NAME
    write_text_atomically(target, csv_text(rows, today))
    counts = {status: sum(row.status == status for row in rows) for status in ("overdue", "due-soon", "ok")}
    print(f"{len(rows)} leaflet{'s' if len(rows) != 1 else ''}: {counts['overdue']} overdue, {counts['due-soon']} due soon, "
          f"{counts['ok']} ok; written to {_shown(target)}")
    return 1 if bad else 0


def _preview(args, sources) -> int:
    from .errors import RenderError
    from .preview import render_previews

    leaflets, failed = _read_all(sources)
    for leaflet in leaflets:
        try:
            images = render_previews(leaflet, args.out, args.dpi)
        except RenderError as err:
            failed += 1
            print(f"{leaflet.source}: preview: {err}", file=sys.stderr)
            continue
        print(f"{leaflet.source}: {sum(p.suffix == '.png' for p in images)} page images"
              f"{' and its braille as Unicode cells' if any(p.suffix == '.txt' for p in images) else ''} in {_shown(images[0].parent)}")
    return 1 if failed else 0


def _import_translation(args) -> int:
    from .errors import InputError
    from .translation import TranslationError, import_translation

    try:
        result = import_translation(args.docx, args.sources, args.lang, args.accept_changed_source)
    except TranslationError as err:
        print(err, file=sys.stderr)
        return 1
    except InputError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    print(f"{'Replaced' if result.replaced else 'Wrote'} {_shown(result.path)} ({result.language}), the translation of {_shown(result.source)}; "
          f"build it with: generate.py build {_shown(result.path)}")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
