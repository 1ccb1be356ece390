"""`generate.py reviews`: the table of every leaflet and language, most urgent first, and reviews.csv."""

from __future__ import annotations

import csv

from .conftest import run_cli, write_leaflet

TODAY = "2026-03-01"


def front(title: str, next_review: str, resource: str = "10/VER1", language: str = "") -> str:
    return (f"title: '{title}'\nresource_number: {resource}\nlast_reviewed: 2023-01\nnext_review: {next_review}\n"
            + (f"language: {language}\n" if language else ""))


def library(src):
    write_leaflet(src, "fine.md", front=front("Fine", "2029-01", "30/VER3"))
    write_leaflet(src, "late.md", front=front("Late", "2025-12", "20/VER2"))
    write_leaflet(src, "late.pl.md", front=front("Późno", "2026-02-15", "20/VER2", "pl"))
    write_leaflet(src, "soon.md", front=front("Soon", "2026-04", "40/VER1"))


def test_table_lists_every_leaflet_and_language_most_urgent_first(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    library(src)
    result = run_cli("reviews", src, "--today", TODAY, "--out", out)
    assert result.returncode == 0, result.stderr
    header, *rows, summary = result.stdout.splitlines()
    assert header.split() == ["Status", "Next", "review", "Last", "reviewed", "Resource", "Language", "Leaflet"]
    assert [row.split()[:4] for row in rows] == [
        ["overdue", "December", "2025", "January"],
        ["overdue", "February", "2026", "January"],
        ["due-soon", "April", "2026", "January"],
        ["ok", "January", "2029", "January"],
    ]
    assert [row.split()[-2:] for row in rows] == [
        ["en-GB", str(src / "late.md")], ["pl", str(src / "late.pl.md")], ["en-GB", str(src / "soon.md")], ["en-GB", str(src / "fine.md")],
    ]
    assert summary == f"4 leaflets: 2 overdue, 1 due soon, 1 ok; written to {out / 'reviews.csv'}"


def test_csv_has_one_row_per_leaflet_and_language(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    library(src)
    assert run_cli("reviews", src, "--today", TODAY, "--out", out).returncode == 0
    with (out / "reviews.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["slug"], r["language"], r["status"]) for r in rows] == [
        ("late", "en-GB", "overdue"), ("late", "pl", "overdue"), ("soon", "en-GB", "due-soon"), ("fine", "en-GB", "ok"),
    ]
    assert rows[1] == {
        "slug": "late", "language": "pl", "title": "Późno", "resource_number": "20/VER2", "last_reviewed": "2023-01",
        "next_review": "2026-02-15", "due_by": "2026-02-15", "status": "overdue", "checked_on": TODAY,
        "source": (src / "late.pl.md").as_posix(),
    }
    assert rows[2]["due_by"] == "2026-04-30"  # a month means its last day


def test_csv_cells_are_never_spreadsheet_formulas(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_leaflet(src, "sneaky.md", front=front('=HYPERLINK("http://example.com","Click")', "2029-01", "'@SUM(1)'"))
    assert run_cli("reviews", src, "--today", TODAY, "--out", out).returncode == 0
    with (out / "reviews.csv").open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert row["title"] == "'=HYPERLINK(\"http://example.com\",\"Click\")"
    assert row["resource_number"] == "'@SUM(1)"


def test_a_bad_leaflet_is_reported_and_the_others_still_listed(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    library(src)
    bad = write_leaflet(src, "bad.md", body="Some *italic* text.\n", front=front("Bad", "2029-01")).resolve()
    result = run_cli("reviews", src, "--today", TODAY, "--out", out)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{bad}:7: italics are hard to read for people with low vision; use **bold** for emphasis"]
    assert (out / "reviews.csv").read_text(encoding="utf-8").count("\n") == 5  # header and the 4 good leaflets
