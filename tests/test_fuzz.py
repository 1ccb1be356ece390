"""Property-based fuzzing: any text either reads (and builds) or gets clean file:line errors.

Never an exception of another kind, never a hang. The budget is bounded so it runs in
CI on every change; `make test` prints hypothesis' statistics for these tests.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leafpress.errors import InputError
from leafpress.library.build import build_leaflet
from leafpress.reader import read_leaflet
from leafpress.settings import load_settings

from .conftest import FIXTURES, VALID_FRONT

FRAGMENTS = [
    "## ", "### ", "# ", "#### ", "- ", "  - ", "1. ", "3) ", "> ", "**", "*", "_", "`", "```\n", "    ", "---\n",
    "[link](https://www.nhs.uk/)", "[bad](page.html)", "![A diagram](images/diagram.png)", "![](images/diagram.png)",
    "![x](../secret.png)", "| a | b |\n|---|---|\n| 1 | 2 |\n", "<b>", "</div>", "<!-- c -->", "{{ x }}", "{% if %}",
    "&amp;", "\\", "  \n", "\n", "\n\n", "\t", "999", "020 7188 2673", "9.30am", "500mg", "A&E", "é", "ﬁ", "\u200b", "\x00",
]
LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): \S")

text_pieces = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12))
bodies = st.lists(text_pieces, max_size=40).map("".join)
front_values = st.one_of(st.text(max_size=20), st.sampled_from(["2025-06", "June 2025", "2025-02-30", "[a, b]", "{x: 1}", "|", "!!binary x"]))
SAFE_FRAGMENTS = [
    "## Section\n\n", "### Part\n\n", "- item\n", "  - nested\n", "1. step\n", "> **Call** 999\n", "**bold** ",
    "[link](https://www.nhs.uk/) ", "\n![A diagram](images/diagram.png)\n\n", "\n| a | b |\n|---|---|\n| 1 | 2 |\n\n",
    "{{ x }} ", "&amp; ", "020 7188 2673 ", "9.30am ", "\n\n", "é ", "ﬁ ", "Ω ", "Ж ", "\u200b",
]
safe_bodies = st.lists(st.one_of(st.sampled_from(SAFE_FRAGMENTS), st.text(st.characters(categories=["L", "N", "Zs"]), max_size=12)),
                       max_size=40).map("".join)
keys = st.sampled_from(["title", "subtitle", "resource_number", "last_reviewed", "next_review", "language", "department", "tite"])


def _fresh_folder(base: Path) -> Path:
    folder = base / "leaflets"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(FIXTURES / "images", folder / "images")
    return folder


def _check_problem_lines(error: InputError, path: Path, text: str) -> None:
    assert error.problems
    for problem in error.problems:
        line = str(problem)
        match = LINE.match(line)
        assert match and match["path"] == str(path), line
        assert 1 <= int(match["line"]) <= text.count("\n") + 2, line
        assert "\n" not in line


def _reads_or_fails_cleanly(tmp_path: Path, raw: bytes) -> None:
    """A source of these bytes either reads, or raises InputError whose every problem is one clean line."""
    path = _fresh_folder(tmp_path) / "fuzz.md"
    path.write_bytes(raw)
    try:
        read_leaflet(path)
    except InputError as error:
        _check_problem_lines(error, path, raw.decode("utf-8", "replace"))


@settings(max_examples=300, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_reads_or_gets_clean_errors(tmp_path, body):
    _reads_or_fails_cleanly(tmp_path, f"---\n{VALID_FRONT}---\n{body}".encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(keys, front_values), max_size=8), body=bodies)
def test_any_front_matter_reads_or_gets_clean_errors(tmp_path, pairs, body):
    front = "".join(f"{key}: {value}\n" for key, value in pairs)
    _reads_or_fails_cleanly(tmp_path, f"---\n{front}---\n{body}".encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400))
def test_any_bytes_read_or_get_clean_errors(tmp_path, raw):
    _reads_or_fails_cleanly(tmp_path, b"---\n" + VALID_FRONT.encode() + b"---\n" + raw)


@settings(max_examples=15, deadline=timedelta(seconds=30), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(safe_bodies, bodies))
def test_any_valid_source_builds_every_format_but_audio(tmp_path, body):
    """What reads also builds: print, large print and Word never fail on content that passed the reader."""
    folder = _fresh_folder(tmp_path)
    path = folder / "fuzz.md"
    path.write_text(f"---\n{VALID_FRONT}---\nOpening text.\n\n{body}", encoding="utf-8", errors="surrogatepass")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)  # hypothesis runs every example in the same folder
    result = build_leaflet(path, out, ["print", "large-print", "docx"], load_settings(), dt.date(2026, 11, 24))
    if result.leaflet is None:
        assert result.problems and all(LINE.match(p) for p in result.problems)
    else:  # a character none of the fonts has fails the PDFs alone, with its file and line
        assert all(LINE.match(p) and "is in none of the fonts" in p for p in result.problems)
        pdfs = [] if result.problems else ["fuzz.large-print.pdf", "fuzz.print.pdf"]
        assert sorted(p.name for p in (out / "fuzz").iterdir()) == sorted(["fuzz.docx", *pdfs, "fuzz.translation-brief.txt", "fuzz.xlf"])
