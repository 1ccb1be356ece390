"""Print and large-print PDF properties checked from the PDFs: outline, XMP, page sizes,
determinism and the PDF/UA checker."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from leafpress.languages.catalogue import catalogue_for
from leafpress.reader import read_leaflet
from leafpress.renderers.print_pdf import XMP_NAMESPACE, footer_stamp, write_pdf
from leafpress.settings import LAYOUTS_DIR, load_settings

from .conftest import EXAMPLE, FIXTURES, output_file, write_leaflet

KNEE = FIXTURES / "knee-replacement.md"
A5_POINTS = (419.5, 595.3)


def outline_titles(path: Path) -> list[str]:
    titles: list[str] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(PdfReader(path).outline)
    return titles


@pytest.mark.parametrize("key", ["print", "large_print"])
def test_outline_has_an_entry_per_section(built, key):
    titles = outline_titles(output_file(built, "poem-achalasia", key))
    assert titles[0] == "POEM surgery for achalasia"
    for section in ("How POEM surgery can help", "Risks of POEM surgery", "Other treatment options", "Consent", "Contact us"):
        assert section in titles
    assert "Botox injection" in titles  # subsections too, nested under their section


@pytest.mark.parametrize("key", ["print", "large_print"])
def test_xmp_metadata_carries_title_organisation_and_stamp(built, key):
    with pikepdf.open(output_file(built, "poem-achalasia", key)) as pdf:
        xmp = pdf.open_metadata()
        assert xmp["dc:title"] == "POEM surgery for achalasia"
        assert xmp["dc:publisher"] == {"Example Community Health Trust"}
        assert xmp[f"{{{XMP_NAMESPACE}}}resourceNumber"] == "4853/VER2"
        assert xmp[f"{{{XMP_NAMESPACE}}}lastReviewed"] == "2022-06"
        assert xmp[f"{{{XMP_NAMESPACE}}}nextReview"] == "2025-06"
        assert xmp["pdfuaid:part"] == "1"


def test_same_inputs_give_byte_identical_pdfs(tmp_path):
    leaflet, settings = read_leaflet(KNEE), load_settings()
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    write_pdf(leaflet, settings, "print", first)
    write_pdf(leaflet, settings, "print", second)
    assert first.read_bytes() == second.read_bytes()
    # The dates inside come from the source, not the clock.
    assert PdfReader(first).metadata["/CreationDate"].startswith("D:20250101")


def test_a5_is_an_option_for_print_but_large_print_stays_a4(tmp_path):
    settings = load_settings()
    a5 = dataclasses.replace(settings, print=dataclasses.replace(settings.print, page_size="A5"))
    leaflet = read_leaflet(KNEE)
    write_pdf(leaflet, a5, "print", tmp_path / "a5.pdf")
    write_pdf(leaflet, a5, "large-print", tmp_path / "lp.pdf")
    a5_page = PdfReader(tmp_path / "a5.pdf").pages[0].mediabox
    assert (round(float(a5_page.width), 1), round(float(a5_page.height), 1)) == A5_POINTS
    lp_page = PdfReader(tmp_path / "lp.pdf").pages[0].mediabox
    assert round(float(lp_page.width), 1) == 595.3


def test_footer_stamp_breaks_only_between_its_parts():
    parts = catalogue_for("en-GB", LAYOUTS_DIR).stamp_parts(read_leaflet(EXAMPLE).meta)
    assert footer_stamp(parts, "print") == "Resource number: 4853/VER2 ·\nLast reviewed: June 2022 · Next review: June 2025"
    assert footer_stamp(parts, "large-print").splitlines() == [
        "Resource number: 4853/VER2 ·", "Last reviewed: June 2022 ·", "Next review: June 2025"]


def test_the_stamp_is_also_in_the_tagged_body(built):
    """Page margins are artifacts a screen reader skips, so the body carries the stamp too."""
    path = output_file(built, "poem-achalasia", "print")
    text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout
    # The footers are split over two lines; the body copy is the one on a single line.
    assert text.count("Resource number: 4853/VER2 · Last reviewed: June 2022 · Next review: June 2025") == 1


def _struct_types(node) -> list[str]:
    found = []
    if isinstance(node, pikepdf.Dictionary):
        if "/S" in node:
            found.append(str(node.S))
        kids = node.get("/K")
        if isinstance(kids, pikepdf.Array):
            for kid in kids:
                found.extend(_struct_types(kid))
        elif isinstance(kids, pikepdf.Dictionary):
            found.extend(_struct_types(kids))
    return found


def test_structure_has_headings_lists_and_table_headers(built):
    with pikepdf.open(output_file(built, "knee-replacement", "print")) as pdf:
        types = set(_struct_types(pdf.Root.StructTreeRoot))
    assert {"/H1", "/H2", "/H3", "/L", "/LI", "/Table", "/TH", "/TD", "/Figure"} <= types


@pytest.mark.parametrize("key", ["print", "large_print"])
def test_pdfua_checker_finds_no_errors(built, key):
    """In every script and direction: the translations' PDFs carry a text span on every line."""
    for slug in ("poem-achalasia", "knee-replacement", *(f"knee-replacement.{lang}" for lang in ("pl", "ar", "ur", "bn", "zh-Hans"))):
        path = output_file(built, slug, key)
        result = subprocess.run([str(Path(sys.executable).parent / "pdfua"), "check", "--min-severity", "error", str(path)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def _text_lines(path: Path):
    """(page number, font size, baseline y, text) for every text line, top to bottom."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTTextContainer, LTTextLine

    for number, page in enumerate(extract_pages(path), start=1):
        for element in page:
            if not isinstance(element, LTTextContainer):
                continue
            for line in element:
                if isinstance(line, LTTextLine):
                    chars = [c for c in line if isinstance(c, LTChar) and c.get_text().strip()]
                    if chars:
                        yield number, max(c.size for c in chars), line.y0, line.get_text().strip()


@pytest.fixture(scope="module")
def long_leaflet(tmp_path_factory) -> dict:
    """A leaflet long enough to break across pages: many sections and a long table."""
    folder = tmp_path_factory.mktemp("long")
    sections = "\n".join(
        f"## Section {n}\n\n" + " ".join(["This sentence fills the page with ordinary words."] * (3 + n % 7)) + "\n"
        for n in range(1, 31)
    )
    rows = "\n".join(f"| Medicine {n} | {n} mg | {n % 4 + 1} times a day |" for n in range(1, 61))
    source = folder / "long-leaflet.md"
    source.write_text(
        "---\ntitle: A long leaflet\nresource_number: 77/VER1\nlast_reviewed: 2025-01\nnext_review: 2027-01\n---\n\n"
        f"{sections}\n## Medicines\n\n| Name | Dose | When |\n|---|---|---|\n{rows}\n",
        encoding="utf-8",
    )
    leaflet, settings = read_leaflet(source), load_settings()
    paths = {}
    for variant in ("print", "large-print"):
        paths[variant] = folder / f"{variant}.pdf"
        write_pdf(leaflet, settings, variant, paths[variant])
    return paths


@pytest.mark.parametrize("variant", ["print", "large-print"])
def test_table_header_repeats_on_every_page_the_table_spans(long_leaflet, variant):
    lines = list(_text_lines(long_leaflet[variant]))
    pages_with_rows = {page for page, _, _, text in lines if text.startswith("Medicine ")}
    assert len(pages_with_rows) >= 2
    for page in pages_with_rows:
        assert any(text.startswith("Name") for p, _, _, text in lines if p == page), f"page {page} has rows but no header"


@pytest.mark.parametrize("variant", ["print", "large-print"])
def test_no_heading_is_left_alone_at_a_page_foot(long_leaflet, variant):
    by_page: dict[int, list] = {}
    for page, size, y, text in _text_lines(long_leaflet[variant]):
        by_page.setdefault(page, []).append((y, size, text))
    body_size = 18 if variant == "large-print" else 12
    for page, lines in by_page.items():
        content = [line for line in lines if not line[2].startswith(("Resource number", "Last reviewed", "Next review", "Page "))]
        lowest = min(content)  # the last line of body text on the page
        assert lowest[1] <= body_size + 0.5, f"page {page} ends with the heading {lowest[2]!r}"


def test_large_print_line_spacing_is_at_least_one_and_a_half(long_leaflet):
    lines = [line for line in _text_lines(long_leaflet["large-print"]) if line[3].startswith("This sentence") or "ordinary" in line[3]]
    gaps = [a[2] - b[2] for a, b in zip(lines, lines[1:], strict=False) if a[0] == b[0] and 0 < a[2] - b[2] < 40]
    assert gaps
    assert min(gaps) >= 1.5 * 18 - 0.5


def test_a_callout_gets_an_important_label_unless_it_opens_with_important_itself(tmp_path):
    body = "> **Important:** call 999.\n\nSome text.\n\n> Bring your tablets.\n"
    path = tmp_path / "pdf"
    write_pdf(read_leaflet(write_leaflet(tmp_path, "callouts.md", body)), load_settings(), "print", path)
    text = " ".join(PdfReader(path).pages[0].extract_text().split())
    assert text.count("Important") == 2, text  # its own words, and the label of the second callout
    assert "Important Important" not in text and "Important: call 999." in text
    assert "Important Bring your tablets." in text
