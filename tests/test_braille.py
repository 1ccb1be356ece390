"""The braille file read back: page size, page numbers, the BRF character set, and liblouis'
back-translation giving the leaflet's words and its stamp; settings; languages without a table."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path

import louis
import pytest

from leafpress.languages.catalogue import catalogue_for
from leafpress.reader import read_leaflet
from leafpress.renderers.braille import DISPLAY_TABLE, BrailleWriter, unicode_braille
from leafpress.segments import segments
from leafpress.settings import LAYOUTS_DIR, load_settings

from .conftest import EXAMPLE, FIXTURES, NO_BRAILLE_TABLE, output_file, run_cli, write_leaflet

BRAILLED = {"poem-achalasia": ("en-ueb-g2.ctb", EXAMPLE), "knee-replacement": ("en-ueb-g2.ctb", FIXTURES / "knee-replacement.md"),
            "knee-replacement.pl": ("pl.tbl", FIXTURES / "knee-replacement.pl.md")}
BRF = re.compile(r"[\x20-\x5f]*")


def pages(path: Path) -> list[list[str]]:
    raw = path.read_bytes().decode("ascii")
    assert raw.endswith("\r\n\f") and "\n" not in raw.replace("\r\n", "")  # CR LF line ends, a form feed after each page
    return [page.split("\r\n")[:-1] for page in raw.split("\f")[:-1]]


def words(text: str) -> list[str]:
    """Lower-case words, digits in any script as 0-9 (Arabic braille reads back ١٢ for 12), without vowel and
    other combining marks (Arabic braille writes the shadda before its letter, and reads it back there)."""
    plain = "".join(str(unicodedata.decimal(char)) if unicodedata.decimal(char, None) is not None else char
                    for char in text if unicodedata.category(char) != "Mn")
    return re.findall(r"\d+|[^\W\d_]+", plain.lower())  # "500mg" is 500 and mg: some tables space a unit from its number


def in_order(wanted: list[str], found: list[str]) -> bool:
    """Whether ``wanted`` appears in ``found`` in the same order, other words between allowed."""
    stream = iter(found)
    return all(word in stream for word in wanted)


@pytest.mark.parametrize("stem", BRAILLED)
def test_pages_fit_the_embosser_and_are_numbered_in_sequence(built, stem):
    table, _ = BRAILLED[stem]
    brf_pages = pages(output_file(built, stem, "braille"))
    assert len(brf_pages) >= 1
    for number, page in enumerate(brf_pages, start=1):
        assert len(page) <= 25, f"page {number} has {len(page)} lines"
        for line in page:
            assert len(line) <= 40 and BRF.fullmatch(line), line
        info = page[0]
        assert info.startswith(" " * 3) and words(louis.backTranslateString([DISPLAY_TABLE, table], info.strip())) == [str(number)]
        assert len(info) == 40  # the number ends in the last cell


@pytest.mark.parametrize("stem", BRAILLED)
def test_back_translation_gives_the_leaflet_s_words_in_order_and_the_stamp_on_page_one(built, stem):
    table, source = BRAILLED[stem]
    brf_pages = pages(output_file(built, stem, "braille"))
    back = [louis.backTranslateString([DISPLAY_TABLE, table], " ".join(line.strip() for line in page[1:])) for page in brf_pages]
    found = words(" ".join(back))
    leaflet = read_leaflet(source)
    text_segments = [s for s in segments(leaflet) if s.style not in ("Table Heading", "Table Text")]
    for segment in text_segments:  # each paragraph, heading, list item and callout whole, and all of them in order
        assert in_order(words(segment.text), found), f"{segment.style} on line {segment.line}: {segment.text!r}"
    assert in_order([w for s in text_segments for w in words(s.text)], found)
    squashed = "".join(found)
    for segment in segments(leaflet):  # tables are read row by row after their headers: every cell's words are there
        if segment.style in ("Table Heading", "Table Text"):
            assert "".join(words(segment.text)) in squashed, segment.text
    labels = catalogue_for(leaflet.meta.language, LAYOUTS_DIR)
    for part in labels.stamp_parts(leaflet.meta):
        assert in_order(words(part), words(back[0])), part


def test_a_picture_is_a_transcriber_s_note(built):
    text = output_file(built, "knee-replacement", "braille").read_bytes().decode("ascii")
    note = text.split("@.<", 1)[1].split("@.>", 1)[0]  # UEB's transcriber's note indicators, from en.yaml
    back = louis.backTranslateString([DISPLAY_TABLE, "en-ueb-g2.ctb"], " ".join(note.split()))
    assert back == "Picture: A diagram of the knee joint after surgery"


def test_bold_is_marked_and_a_language_without_a_table_gets_its_other_formats(tmp_path):
    settings = load_settings()
    bold = read_leaflet(write_leaflet(tmp_path, "bold.md", "If it hurts, **call 999** now.\n"))
    plain = read_leaflet(write_leaflet(tmp_path, "plain.md", "If it hurts, call 999 now.\n"))
    assert "^" in BrailleWriter(bold, settings).brf() and "^" not in BrailleWriter(plain, settings).brf()  # UEB bold indicators
    path = write_leaflet(tmp_path / "src", "leaflet.bn.md", "কল করুন 999।\n")
    result = run_cli("build", path, "--out", tmp_path / "out", "--formats", "print,docx,braille", "--today", "2026-11-24")
    assert result.returncode == 1
    assert f"{path}: {NO_BRAILLE_TABLE} 'bn'" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "leaflet").iterdir()) == [
        "leaflet.bn.docx", "leaflet.bn.print.pdf", "leaflet.bn.translation-brief.txt", "leaflet.bn.xlf"]


def test_page_size_and_table_are_settings(tmp_path):
    settings = load_settings()
    small = dataclasses.replace(settings, braille=dataclasses.replace(settings.braille, cells_per_line=32, lines_per_page=12))
    leaflet = read_leaflet(EXAMPLE)
    text = BrailleWriter(leaflet, small).brf()
    brf_pages = [page.split("\r\n")[:-1] for page in text.split("\f")[:-1]]
    assert len(brf_pages) > 6
    assert all(len(page) <= 12 and all(len(line) <= 32 for line in page) for page in brf_pages)
    grade1 = dataclasses.replace(settings, braille=dataclasses.replace(settings.braille, table="en-ueb-g1.ctb"))
    assert len(BrailleWriter(leaflet, grade1).brf()) > len(BrailleWriter(leaflet, settings).brf())  # uncontracted is longer


def test_contents_list_on_page_one_names_each_section_with_its_page(built):
    brf_pages = pages(output_file(built, "poem-achalasia", "braille"))
    table = [DISPLAY_TABLE, "en-ueb-g2.ctb"]
    first = [louis.backTranslateString(table, line.strip()) for line in brf_pages[0]]
    assert "Contents" in first
    entries = first[first.index("Contents") + 1:]
    for heading in ("How POEM surgery can help", "Risks of POEM surgery", "Contact us"):
        entry = next(line for line in entries if line.startswith(heading))
        page = int(entry.rsplit(" ", 1)[1])
        body = " ".join(louis.backTranslateString(table, line.strip()) for line in brf_pages[page - 1][1:])
        assert heading in body


def test_unicode_preview_is_the_same_cells_as_liblouis_unicode_output():
    text = "Phone 020 7188 2673, Monday to Friday (9am-5pm): ask for Dr Smith's team!"
    tables = ["en-ueb-g2.ctb"]
    assert unicode_braille(louis.translateString([DISPLAY_TABLE, *tables], text)) == louis.translateString(["unicode.dis", *tables], text)
