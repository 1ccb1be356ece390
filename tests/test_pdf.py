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

from leafpress.reader import read_leaflet
from leafpress.renderers.print_pdf import XMP_NAMESPACE, footer_stamp, write_pdf
from leafpress.settings import load_settings

from .conftest import EXAMPLE, FIXTURES, output_file

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
    stamp = read_leaflet(EXAMPLE).meta.stamp
    assert footer_stamp(stamp, "print") == "Resource number: 4853/VER2 ·\nLast reviewed: June 2022 · Next review: June 2025"
    assert footer_stamp(stamp, "large-print").splitlines() == [
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
    for slug in ("poem-achalasia", "knee-replacement"):
        path = output_file(built, slug, key)
        result = subprocess.run([str(Path(sys.executable).parent / "pdfua"), "check", "--min-severity", "error", str(path)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
