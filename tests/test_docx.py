"""The Word file for translators, read back from the file: the style of every paragraph, no
direct formatting, do-not-translate runs, properties, language; the brief and the XLIFF file;
and LibreOffice opening it."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import docx
import pytest

from leafpress.library.build import output_paths
from leafpress.reader import read_leaflet
from leafpress.renderers import RENDERERS
from leafpress.segments import segments
from leafpress.settings import load_settings

from .conftest import EXAMPLE, FIXTURES, stamp, write_leaflet

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
KNEE = FIXTURES / "knee-replacement.md"
TERMS_FRONT = """\
title: Heart scan
subtitle: An echo test
resource_number: 77/VER2
last_reviewed: 2024-06
next_review: 2027-06
do_not_translate:
  - POEM
  - Echo Clinic
"""
TERMS_BODY = """\
The Echo Clinic does POEM checks. Quote 77/VER2 when you call 020 7946 0000.

## Contact

Email [echo@example.org](mailto:echo@example.org) or visit www.example.org/echo today.

**Phone: 0114 271 1900**, or [call us](tel:01142711900).
"""
ALLOWED_STYLES = {
    "Title", "Subtitle", "Normal", "Heading 1", "Heading 2", "List Bullet", "List Bullet 2", "List Bullet 3",
    "List Number", "List Number 2", "List Number 3", "List Continue", "List Continue 2", "List Continue 3",
    "Callout", "Table Heading", "Table Text", "Figure", "Image Description",
}


def render_docx(source: Path, folder: Path, settings=None) -> dict[str, Path]:
    """The Word file, brief and XLIFF of one source, rendered straight through the renderer."""
    leaflet = read_leaflet(source)
    targets = output_paths(leaflet, folder, ["docx"])
    targets["docx"].parent.mkdir(parents=True, exist_ok=True)
    RENDERERS["docx"].render(leaflet, settings or load_settings(), targets)
    return targets


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("docx")
    terms = write_leaflet(out / "src", "heart-scan.md", body=TERMS_BODY, front=TERMS_FRONT)
    return {name: render_docx(path, out) for name, path in (("knee", KNEE), ("example", EXAMPLE), ("terms", terms))}


def body_paragraphs(document) -> list:
    """Every paragraph in document order, table cells included."""
    found = []
    for element in document.element.body:
        if element.tag == f"{W}p":
            found.append(docx.text.paragraph.Paragraph(element, document))
        elif element.tag == f"{W}tbl":
            found.extend(p for row in docx.table.Table(element, document).rows for cell in row.cells for p in cell.paragraphs)
    return found


def source_of(name: str, rendered) -> Path:
    return {"knee": KNEE, "example": EXAMPLE}.get(name) or rendered["terms"]["docx"].parent.parent / "src" / "heart-scan.md"


# -- styles ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["knee", "example", "terms"])
def test_every_paragraph_has_the_style_of_its_segment(rendered, name):
    document = docx.Document(rendered[name]["docx"])
    paragraphs = [p for p in body_paragraphs(document) if p.style.name != "Figure"]
    expected = segments(read_leaflet(source_of(name, rendered)))
    assert [(p.style.name, p.text) for p in paragraphs] == [(s.style, s.text) for s in expected]
    assert {p.style.name for p in body_paragraphs(document)} <= ALLOWED_STYLES


def test_docx_uses_word_styles_for_structure(rendered):
    document = docx.Document(rendered["knee"]["docx"])
    styled = [(p.style.name, p.text) for p in body_paragraphs(document)]
    assert styled[:2] == [("Title", "Knee replacement & recovery"), ("Subtitle", "What to expect after your operation")]
    for pair in [
        ("Heading 1", "Going home"), ("Heading 1", "Your medicines"), ("Heading 2", "If you feel unwell"),
        ("List Bullet", "a physiotherapist shows you exercises"), ("List Bullet 2", "bend your knee 10 times"),
        ("List Number 2", "paracetamol 500mg"), ("List Number", "Walk a little every hour."),
        ("Callout", "If you have chest pain or difficulty breathing, call 999 at once."),
        ("Figure", ""), ("Image Description", "A diagram of the knee joint after surgery"),
        ("Table Heading", "Medicine"), ("Table Text", "5000 units"),
    ]:
        assert pair in styled


def test_picture_stands_alone_with_its_description_after_it(rendered):
    document = docx.Document(rendered["knee"]["docx"])
    paragraphs = body_paragraphs(document)
    index = next(i for i, p in enumerate(paragraphs) if p.style.name == "Figure")
    assert paragraphs[index]._p.xpath(".//w:drawing") and paragraphs[index].text == ""
    assert paragraphs[index]._p.xpath(".//wp:docPr/@descr") == ["A diagram of the knee joint after surgery"]
    assert paragraphs[index + 1].style.name == "Image Description"


def test_tables_are_word_tables_with_a_repeating_header(rendered):
    document = docx.Document(rendered["knee"]["docx"])
    (table,) = document.tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows == [["Medicine", "Dose", "When"], ["Paracetamol", "1g", "4 times a day"], ["Dalteparin", "5000 units", "6pm"]]
    assert table.rows[0]._tr.trPr.xpath("./w:tblHeader")
    assert table.style.name == "Table Grid"


def test_numbered_lists_restart_at_their_own_start(rendered):
    document = docx.Document(rendered["knee"]["docx"])
    numbering = document.part.numbering_part.element

    def start(text: str) -> tuple[int, int]:
        paragraph = next(p for p in document.paragraphs if p.text == text)
        num_id = paragraph._p.pPr.numPr.numId.val
        return num_id, int(numbering.num_having_numId(num_id).xpath("./w:lvlOverride/w:startOverride/@w:val")[0])

    walk, keep, first = start("Walk a little every hour."), start("Keep your leg raised when you sit."), start("paracetamol 500mg")
    assert walk == keep and walk[1] == 5
    assert first[1] == 1 and first[0] != walk[0]


def test_sections_follow_the_source_order(rendered):
    document = docx.Document(rendered["example"]["docx"])
    levels = {"Heading 1": 2, "Heading 2": 3}
    found = [(levels[p.style.name], p.text) for p in document.paragraphs if p.style.name in levels]
    blocks = read_leaflet(EXAMPLE).blocks
    assert found == [(b.level, b.text) for b in blocks if b.kind == "heading"]


# -- no direct formatting ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["knee", "example", "terms"])
def test_no_direct_formatting_text_boxes_tabs_or_line_breaks(rendered, name):
    path = rendered[name]["docx"]
    root = ET.fromstring(zipfile.ZipFile(path).read("word/document.xml"))
    runs = root.iter(f"{W}r")
    for run in runs:
        properties = run.find(f"{W}rPr")
        assert properties is None or [child.tag for child in properties] == [f"{W}rStyle"], ET.tostring(run)
        for text in run.iter(f"{W}t"):
            assert "  " not in (text.text or "") and "\t" not in (text.text or "")
    for paragraph_properties in root.iter(f"{W}pPr"):
        assert {child.tag for child in paragraph_properties} <= {f"{W}pStyle", f"{W}numPr"}, ET.tostring(paragraph_properties)
    xml = zipfile.ZipFile(path).read("word/document.xml").decode()
    for forbidden in ("txbxContent", "<w:tab/>", "<w:br", "<w:cr", "v:textbox", "w:highlight"):
        assert forbidden not in xml
    assert xml.count("<w:sectPr") == 1


def test_bold_is_the_strong_character_style(rendered):
    runs = [r for p in docx.Document(rendered["knee"]["docx"]).paragraphs for r in p.runs]
    assert any(run.style.name == "Strong" and run.text == "after" for run in runs)
    assert all(run.bold is None and run.italic is None and run.font.size is None for run in runs)


# -- do not translate --------------------------------------------------------------------


def protected_runs(path: Path, style: str = "DoNotTranslate") -> list[str]:
    document = docx.Document(path)
    style_id = document.styles[style].style_id
    root = document.element.body
    return [
        "".join(run.xpath("./w:t/text()"))
        for run in root.xpath(".//w:r")
        if run.xpath(f"./w:rPr/w:rStyle[@w:val='{style_id}']")
    ]


def test_phone_numbers_addresses_resource_number_and_terms_are_protected(rendered):
    assert protected_runs(rendered["terms"]["docx"]) == [
        "Echo Clinic", "POEM", "77/VER2", "020 7946 0000",
        "echo@example.org", "www.example.org/echo",
        "0114 271 1900",
    ]
    assert protected_runs(rendered["knee"]["docx"]) == ["999", "111", "0114 271 1900", "ortho@example.org"]
    assert protected_runs(rendered["example"]["docx"]) == ["020 7188 2673", "020 7188 6475", "020 7188 7188"]


def test_link_text_keeps_the_hyperlink_style_unless_it_is_protected(rendered):
    document = docx.Document(rendered["terms"]["docx"])
    links = [
        [(run.xpath("string(./w:t)"), run.xpath("string(./w:rPr/w:rStyle/@w:val)")) for run in link.xpath("./w:r")]
        for link in document.element.body.xpath(".//w:hyperlink")
    ]
    assert links == [[("echo@example.org", "DoNotTranslate")], [("call us", "Hyperlink")]]


def test_footer_stamp_is_protected_and_properties_carry_the_resource_number(rendered):
    document = docx.Document(rendered["example"]["docx"])
    (footer,) = document.sections[0].footer.paragraphs
    assert [(r.text, r.style.name) for r in footer.runs] == [
        ("Resource number: 4853/VER2 · Last reviewed: June 2022 · Next review: June 2025", "DoNotTranslate")
    ]
    props = document.core_properties
    assert props.title == "POEM surgery for achalasia"
    assert props.subject == "POEM surgery for achalasia (resource number 4853/VER2)"
    assert props.keywords == "4853/VER2; patient information; Upper gastrointestinal (GI) surgery"
    assert props.language == "en-GB"


def test_do_not_translate_style_name_comes_from_the_settings(tmp_path):
    settings = load_settings()
    settings = dataclasses.replace(settings, docx=dataclasses.replace(settings.docx, do_not_translate_style="tw4winInternal"))
    path = render_docx(KNEE, tmp_path, settings)["docx"]
    assert protected_runs(path, "tw4winInternal") == ["999", "111", "0114 271 1900", "ortho@example.org"]
    assert "DoNotTranslate" not in zipfile.ZipFile(path).read("word/styles.xml").decode()


def test_a_style_name_tools_cannot_match_is_refused(tmp_path):
    from leafpress.errors import InputError

    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("organisation:\n  name: Trust\ndocx:\n  do_not_translate_style: Do not translate\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_settings(settings_file)
    assert [str(p) for p in caught.value.problems] == [
        f"{settings_file}:4: docx.do_not_translate_style must be one word of letters, digits and '_', "
        "as translation tools match it exactly: DoNotTranslate, tw4winInternal or NOTRANSLATE"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("do_not_translate: POEM", "'do_not_translate' must be a list of terms, one '  - term' line each"),
        ("do_not_translate:\n  - POEM\n  - ''", "'do_not_translate' has an empty term; delete the empty '-' line"),
    ],
)
def test_bad_do_not_translate_lists_are_refused_at_their_line(tmp_path, value, message):
    from leafpress.errors import InputError

    path = write_leaflet(tmp_path, "leaflet.md", front=TERMS_FRONT.split("do_not_translate")[0] + value + "\n")
    with pytest.raises(InputError) as caught:
        read_leaflet(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:7: {message}"]


def test_do_not_translate_terms_reach_the_model(rendered):
    assert read_leaflet(source_of("terms", rendered)).meta.do_not_translate == ("POEM", "Echo Clinic")


# -- properties and language -------------------------------------------------------------


def custom_properties(path: Path) -> dict[str, str]:
    archive = zipfile.ZipFile(path)
    assert 'PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"' in (
        archive.read("[Content_Types].xml").decode()
    )
    assert 'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"' in archive.read("_rels/.rels").decode()
    root = ET.fromstring(archive.read("docProps/custom.xml"))
    return {prop.get("name"): "".join(prop.itertext()) for prop in root}


def test_custom_properties_tie_the_file_to_its_source(rendered):
    leaflet = read_leaflet(EXAMPLE)
    assert custom_properties(rendered["example"]["docx"]) == {
        "resource_number": "4853/VER2",
        "last_reviewed": "2022-06",
        "next_review": "2025-06",
        "source_language": "en-GB",
        "source_file": "poem-achalasia.md",
        "source_checksum": f"sha256:{leaflet.checksum}",
    }
    root = ET.fromstring(zipfile.ZipFile(rendered["example"]["docx"]).read("docProps/custom.xml"))
    assert [prop.get("pid") for prop in root] == ["2", "3", "4", "5", "6", "7"]
    assert {prop.get("fmtid") for prop in root} == {"{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"}


@pytest.mark.parametrize(("file_name", "language"), [("leaflet.md", "en-GB"), ("leaflet.pl.md", "pl"), ("leaflet.ar.md", "ar")])
def test_language_is_set_on_the_document_defaults_and_normal_style(tmp_path, file_name, language):
    path = render_docx(write_leaflet(tmp_path / "src", file_name), tmp_path)["docx"]
    styles = ET.fromstring(zipfile.ZipFile(path).read("word/styles.xml"))
    default = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    normal = next(s for s in styles.iter(f"{W}style") if s.get(f"{W}styleId") == "Normal").find(f"{W}rPr/{W}lang")
    for lang in (default, normal):
        assert lang.get(f"{W}val") == language
    assert (default.get(f"{W}bidi") == "ar") == (language == "ar")


# -- brief and XLIFF ---------------------------------------------------------------------


def test_brief_counts_only_translatable_words_and_lists_what_to_keep(rendered):
    brief = rendered["terms"]["translation_brief"].read_text(encoding="utf-8")
    # Heart scan (2) + An echo test (3) + The … does … checks. Quote … when you call (7)
    # + Contact (1) + Email … or visit … today (4) + Phone: (1) + or call us (3)
    assert "Words to translate:   21 (text in the DoNotTranslate style is not counted)" in brief
    for line in [
        "Translation brief: Heart scan",
        "File to translate:    heart-scan.docx (the same text as XLIFF 2.0: heart-scan.xlf)",
        "Source language:      en-GB",
        "Resource number:      77/VER2",
        "Last reviewed:        June 2024",
        "Next review:          June 2027",
        "The rule: keep the styles, translate the text.",
        "  - POEM\n  - Echo Clinic\n",
    ]:
        assert line in brief
    assert "(none listed for this leaflet)" in rendered["knee"]["translation_brief"].read_text(encoding="utf-8")


def test_xliff_has_one_unit_per_segment_with_protected_text_marked(rendered):
    ns = {"x": "urn:oasis:names:tc:xliff:document:2.0"}
    root = ET.parse(rendered["terms"]["xliff"]).getroot()
    assert (root.get("version"), root.get("srcLang")) == ("2.0", "en-GB")
    assert root.find("x:file", ns).get("original") == "heart-scan.docx"
    units = root.findall("x:file/x:unit", ns)
    expected = segments(read_leaflet(source_of("terms", rendered)))
    assert [(u.get("name"), "".join(u.find("x:segment/x:source", ns).itertext())) for u in units] == [(s.style, s.text) for s in expected]
    locked = [m.text for m in root.iter("{urn:oasis:names:tc:xliff:document:2.0}mrk") if m.get("translate") == "no"]
    assert locked == protected_runs(rendered["terms"]["docx"])
    phone = units[-1].find("x:segment/x:source", ns)
    assert [(el.tag.split("}")[1], el.get("type")) for el in phone.iter() if el is not phone] == [
        ("pc", "fmt"), ("mrk", None), ("pc", "link")
    ]


# -- LibreOffice -------------------------------------------------------------------------

SOFFICE_NOISE = re.compile(r"^Warning: failed to launch javaldx - java may not function correctly$")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["knee", "example"])
def test_libreoffice_opens_it_without_complaint_and_reads_every_segment(rendered, name, tmp_path):
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is not installed: run make (it installs libreoffice-writer-nogui)"
    path = rendered[name]["docx"]
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if line.strip() and not SOFFICE_NOISE.match(line)]
    assert complaints == []
    pdf = tmp_path / f"{path.stem}.pdf"
    text = re.sub(r"\s+", " ", subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout)
    leaflet = read_leaflet(source_of(name, rendered))
    assert stamp(leaflet) in text
    text = text.replace(stamp(leaflet), " ")  # the footer of each page, which may fall inside a paragraph
    position = 0
    for segment in segments(leaflet):
        found = text.find(segment.text, position)
        assert found >= 0, f"{segment.text!r} missing or out of order in LibreOffice's rendering"
        position = found + len(segment.text)


def test_the_same_source_gives_a_byte_identical_word_file(rendered, tmp_path, monkeypatch):
    import time

    with zipfile.ZipFile(rendered["example"]["docx"]) as package:
        assert {member.date_time for member in package.infolist()} == {(2022, 6, 1, 0, 0, 0)}  # last_reviewed: June 2022
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # a build on another day
    again = render_docx(EXAMPLE, tmp_path)
    assert again["docx"].read_bytes() == rendered["example"]["docx"].read_bytes()
