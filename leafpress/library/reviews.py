"""Review governance: every leaflet and language with its review dates and status, as a table and a CSV.

The CSV (output/reviews.csv) is for spreadsheets, so cells that a spreadsheet would run as a
formula are written as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..model import Leaflet, ReviewDate, review_status
from ..reader import leaflet_from_bytes
from ..settings import Settings

CSV_NAME = "reviews.csv"
STATUS_ORDER = {"overdue": 0, "due-soon": 1, "ok": 2}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReviewFacts:
    """What a review needs to know of a leaflet."""

    slug: str
    source: Path
    title: str
    language: str
    resource_number: str
    last_reviewed: ReviewDate
    next_review: ReviewDate

    @classmethod
    def of(cls, leaflet: Leaflet) -> ReviewFacts:
        meta = leaflet.meta
        return cls(leaflet.slug, leaflet.source, meta.title, meta.language, meta.resource_number, meta.last_reviewed, meta.next_review)

    @classmethod
    def from_record(cls, source: Path, record: dict) -> ReviewFacts | None:
        """The facts a build state record keeps (None if it keeps too little: an older build's)."""
        facts = record.get("review")
        try:
            return cls(facts["slug"], source, facts["title"], record["language"], facts["resource_number"],
                       ReviewDate.from_iso(facts["last_reviewed"]), ReviewDate.from_iso(record["next_review"]))
        except (KeyError, TypeError, ValueError):
            return None

    def record(self) -> dict:
        """What the build state keeps for from_record (beside the language and next review it keeps anyway)."""
        return {"slug": self.slug, "title": self.title, "resource_number": self.resource_number, "last_reviewed": self.last_reviewed.iso}


def read_review_facts(sources: Sequence[Path], out_dir: Path, settings: Settings,
                      on_problem: Callable[[str], object]) -> tuple[list[ReviewFacts], int]:
    """Each source's facts, and how many sources could not be read. A source whose bytes a build into
    ``out_dir`` read with this same leafpress is not read again (nor at all, when its stat is the one
    the build recorded): its facts come from the build state (a library of thousands is reviewed in a
    second); any other is read and checked in full."""
    from .incremental import Inputs, SourceKeys, load_state, source_hash

    with load_state(out_dir) as state:
        reader = Inputs(settings).tool
        locate = SourceKeys(out_dir.resolve())
        found, bad = [], 0
        for source in sources:
            key, seen = locate(source)
            record = state.get(key) or {}
            try:
                if record.get("read_by") == reader and source_hash(source, record, seen)[0] == record.get("sha256"):
                    if (facts := ReviewFacts.from_record(source, record)) is not None:
                        found.append(facts)
                        continue
                found.append(ReviewFacts.of(leaflet_from_bytes(source, source.read_bytes())))
            except OSError as err:
                bad += 1
                on_problem(f"{source}:1: cannot read the file ({err.strerror or err}); check it exists and is readable")
            except InputError as err:
                bad += 1
                for problem in err.problems:
                    on_problem(str(problem))
    return found, bad


@dataclass(frozen=True)
class ReviewRow:
    leaflet: ReviewFacts
    status: str

    @property
    def due_by(self) -> dt.date:
        return self.leaflet.next_review.deadline


def review_rows(leaflets: Sequence[ReviewFacts], today: dt.date) -> list[ReviewRow]:
    """Most urgent first: overdue, then due soon, then ok; earliest deadline first within each."""
    rows = [ReviewRow(leaflet, review_status(leaflet.next_review, today)) for leaflet in leaflets]
    return sorted(rows, key=lambda r: (STATUS_ORDER[r.status], r.due_by, r.leaflet.slug, str(r.leaflet.source)))


def table_lines(rows: Sequence[ReviewRow]) -> list[str]:
    """The rows as aligned text columns under a header."""
    cells = [("Status", "Next review", "Last reviewed", "Resource", "Language", "Leaflet")]
    for row in rows:
        meta = row.leaflet
        cells.append((row.status, meta.next_review.display, meta.last_reviewed.display, meta.resource_number, meta.language, str(row.leaflet.source)))
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells]


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_text(rows: Sequence[ReviewRow], today: dt.date) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["slug", "language", "title", "resource_number", "last_reviewed", "next_review", "due_by", "status", "checked_on", "source"])
    for row in rows:
        meta = row.leaflet
        writer.writerow([_cell(str(v)) for v in (
            row.leaflet.slug, meta.language, meta.title, meta.resource_number, meta.last_reviewed.iso, meta.next_review.iso,
            row.due_by.isoformat(), row.status, today.isoformat(), row.leaflet.source.as_posix(),
        )])
    return buffer.getvalue()
