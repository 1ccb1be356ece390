"""Review governance: every leaflet and language with its review dates and status, as a table and a CSV.

The CSV (output/reviews.csv) is for spreadsheets, so cells that a spreadsheet would run as a
formula are written as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Leaflet, review_status

CSV_NAME = "reviews.csv"
STATUS_ORDER = {"overdue": 0, "due-soon": 1, "ok": 2}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReviewRow:
    leaflet: Leaflet
    status: str

    @property
    def due_by(self) -> dt.date:
        return self.leaflet.meta.next_review.deadline


def review_rows(leaflets: Sequence[Leaflet], today: dt.date) -> list[ReviewRow]:
    """Most urgent first: overdue, then due soon, then ok; earliest deadline first within each."""
    rows = [ReviewRow(leaflet, review_status(leaflet.meta.next_review, today)) for leaflet in leaflets]
    return sorted(rows, key=lambda r: (STATUS_ORDER[r.status], r.due_by, r.leaflet.slug, str(r.leaflet.source)))


def table_lines(rows: Sequence[ReviewRow]) -> list[str]:
    """The rows as aligned text columns under a header."""
    cells = [("Status", "Next review", "Last reviewed", "Resource", "Language", "Leaflet")]
    for row in rows:
        meta = row.leaflet.meta
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
        meta = row.leaflet.meta
        writer.writerow([_cell(str(v)) for v in (
            row.leaflet.slug, meta.language, meta.title, meta.resource_number, meta.last_reviewed.iso, meta.next_review.iso,
            row.due_by.isoformat(), row.status, today.isoformat(), row.leaflet.source.as_posix(),
        )])
    return buffer.getvalue()
