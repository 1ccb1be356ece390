"""Translated leaflets in every script, checked from the outputs themselves: glyphs drawn, the PDF
text layer, /Lang and right-to-left layout, bidi in the Word file, the audio script in the
leaflet's language; and the catalogues, fonts and language tags behind them."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pymupdf
import pytest
from mutagen.id3 import ID3

from leafpress.languages.catalogue import catalogue_for, check_catalogues, folder, load
from leafpress.languages.tags import language_info
from leafpress.reader import read_leaflet
from leafpress.segments import segments
from leafpress.settings import LAYOUTS_DIR
from leafpress.templates import printable_url

from .conftest import FIXTURES, ROOT, output_file, run_cli, write_leaflet

TRANSLATIONS = {"pl": "pl", "ar": "ar", "ur": "ur", "bn": "bn", "zh-Hans": "zh-Hans"}  # fixture suffix -> language
RIGHT_TO_LEFT = {"ar", "ur"}
SHIPPED = ("en", "pl", "ro", "lt", "pt", "es", "fr", "tr", "so", "ar", "ur", "fa", "bn", "pa", "gu", "ta", "zh-Hans", "zh-Hant")
NOT_TEXT = re.compile(r"[\s()\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # spaces, brackets (mirrored in RTL), direction marks


def squash(text: str) -> str:
    return NOT_TEXT.sub("", text)


def stem(suffix: str) -> str:
    return f"knee-replacement.{suffix}"


def source(suffix: str) -> Path:
    return FIXTURES / f"{stem(suffix)}.md"


# -- catalogues ------------------------------------------------------------------------------


def test_every_shipped_catalogue_is_complete_and_says_whether_it_was_reviewed():
    shipped = {path.stem for path in folder(LAYOUTS_DIR).glob("*.yaml")}
    assert set(SHIPPED) <= shipped
    assert check_catalogues(LAYOUTS_DIR) == []
    for path in folder(LAYOUTS_DIR).glob("*.yaml"):
        assert "reviewed_by_native_speaker" in load(path).entries, path
        assert load(path).reviewed == (path.stem == "en"), path  # no native speaker has checked a translation yet


@pytest.mark.parametrize(("tag", "catalogue"), [
    ("pl", "pl"), ("pl-PL", "pl"), ("pt-BR", "pt"), ("zh", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"),
    ("zh-HK", "zh-Hant"), ("ur-PK", "ur"), ("pa", "pa"), ("en-GB", "en"),
])
def test_a_language_takes_the_catalogue_of_its_language_and_script(tag, catalogue):
    found = catalogue_for(tag, LAYOUTS_DIR)
    assert found.found and found.path.stem == catalogue


def test_a_language_in_another_script_does_not_take_a_catalogue_written_in_the_wrong_one():
    assert not catalogue_for("pa-Arab", LAYOUTS_DIR).found  # Shahmukhi Punjabi, not the Gurmukhi catalogue
    assert not catalogue_for("de", LAYOUTS_DIR).found


@pytest.mark.parametrize("tag", ["ar", "ur", "fa", "ps", "pa-Arab", "pa-PK", "he", "yi", "ckb", "sd"])
def test_right_to_left_is_decided_from_the_tag(tag):
    assert language_info(tag).rtl


@pytest.mark.parametrize("tag", ["en-GB", "pl", "pa", "bn", "zh-Hant", "so", "tr", "uz-Latn"])
def test_left_to_right_is_decided_from_the_tag(tag):
    assert not language_info(tag).rtl


def test_fixed_text_has_the_language_s_word_order_plurals_and_month_names():
    from leafpress.model import ReviewDate

    polish, chinese = catalogue_for("pl", LAYOUTS_DIR), catalogue_for("zh-Hans", LAYOUTS_DIR)
    assert chinese.text("print.page", page=2, pages=5) == "第 2 页，共 5 页"
    assert polish.month_year(ReviewDate(2022, 6)) == "czerwiec 2022"
    assert chinese.month_year(ReviewDate(2025, 3)) == "2025年3月"
    assert catalogue_for("lt", LAYOUTS_DIR).month_year(ReviewDate(2025, 3)) == "2025 m. kovas"
    assert len({polish.plural("audio.duration", n, minutes=n) for n in (1, 3, 5)}) >= 2  # one and few differ in Polish


def test_a_language_without_a_catalogue_builds_in_english_with_one_warning(tmp_path):
    path = write_leaflet(tmp_path / "src", "leaflet.de.md", "Rufen Sie 020 7188 2673 an.\n")
    out = tmp_path / "out"
    result = run_cli("build", path, "--out", out, "--formats", "print,docx", "--today", "2026-11-24")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "fixed text" in line]
    assert warnings == [f"{path}:1: warning: there is no fixed text for language 'de', so its labels, stamp and spoken introduction are "
                        "in English; add layouts/languages/de.yaml (copy en.yaml and translate it)"]
    text = subprocess.run(["pdftotext", str(out / "leaflet" / "leaflet.de.print.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Resource number: 9999/VER1" in text and "Last reviewed: March 2025" in text


def test_check_reports_a_catalogue_that_lacks_keys_or_plural_forms(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS_DIR, layouts)
    polish = layouts / "languages" / "pl.yaml"
    text = polish.read_text(encoding="utf-8")
    text = re.sub(r"\n  important: .*", "", text, count=1)  # print.important
    text = re.sub(r"\n    few: .*", "", text, count=1)  # audio.duration's "few"
    polish.write_text(text.replace("Strona {page} z {pages}", "Strona {page}"), encoding="utf-8")
    leaflet = write_leaflet(tmp_path / "src", "leaflet.md")
    result = run_cli("check", leaflet, "--settings", layouts / "settings.yaml", "--today", "2026-11-24")
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(polish))]
    assert any("lacks 1 of the keys of en.yaml (print.important)" in line for line in problems), problems
    assert any("'audio.duration' lacks the plural form few" in line for line in problems), problems
    assert any("'print.page' must use the placeholders {page}, {pages}" in line for line in problems), problems
    assert "Traceback" not in result.stderr


# -- fonts -----------------------------------------------------------------------------------


def test_a_character_no_font_has_is_an_error_naming_it_and_its_line(tmp_path):
    path = write_leaflet(tmp_path / "src", "leaflet.md", "Some text.\n\nA Linear B sign: \U00010000.\n")
    out = tmp_path / "out"
    result = run_cli("build", path, "--out", out, "--formats", "print,large-print,docx", "--today", "2026-11-24")
    assert result.returncode == 1
    problem = f"{path}:9: the character '\U00010000' (U+10000, Linear B script) is in none of the fonts this leaflet is set in"
    assert sum(line.startswith(problem) for line in result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (out / "leaflet").iterdir()) == ["leaflet.docx", "leaflet.translation-brief.txt", "leaflet.xlf"]
    check = run_cli("check", path)
    assert check.returncode == 1 and problem in check.stderr


def test_a_leaflet_is_set_in_the_first_face_that_has_all_its_letters(tmp_path):
    from leafpress.renderers.print_pdf import printable_fonts
    from leafpress.settings import load_settings

    settings = load_settings()
    english = read_leaflet(write_leaflet(tmp_path, "english.md", "Plain English text.\n"))
    vietnamese = read_leaflet(write_leaflet(tmp_path, "viet.vi.md", "Tiếng Việt: ơ ư ạ.\n"))
    urdu = read_leaflet(source("ur"))
    assert printable_fonts(english, settings).families[0] == "Atkinson Hyperlegible"
    assert printable_fonts(vietnamese, settings).families[0] == "Noto Sans"  # Atkinson lacks ơ and ư
    assert printable_fonts(urdu, settings).families[0] == "Noto Nastaliq Urdu"
    assert printable_fonts(urdu, settings).line_height == 2.2


# -- every format of a translation, read back ------------------------------------------------


@pytest.mark.parametrize("stem_", ["poem-achalasia", "knee-replacement", *(stem(suffix) for suffix in TRANSLATIONS)])
def test_pdfs_embed_only_the_faces_the_settings_name(built, stem_):
    """Nothing is drawn in a font the machine happens to have (a nested list's marker once was, in DejaVu)."""
    from leafpress.settings import load_settings

    configured = {face.family.replace(" ", "") for face in load_settings().fonts.faces}
    for key in ("print", "large_print"):
        listing = subprocess.run(["pdffonts", str(output_file(built, stem_, key))], capture_output=True, text=True, check=True).stdout
        names = {line.split()[0].partition("+")[2] for line in listing.splitlines()[2:]}
        families = {re.sub(r"-(Bold|Regular)$", "", name).replace("-", "") for name in names}
        assert families and families <= configured, families - configured


@pytest.mark.parametrize("key", ["print", "large_print"])
@pytest.mark.parametrize("suffix", TRANSLATIONS)
def test_pdf_draws_every_character_and_its_text_layer_is_the_source_text(built, suffix, key):
    pdf = output_file(built, stem(suffix), key)
    with pymupdf.open(pdf) as document:
        for page in document:
            drawn = [char for span in page.get_texttrace() for char in span["chars"]]
            assert drawn and all(glyph != 0 for _, glyph, *_ in drawn), f"a .notdef box on page {page.number + 1}"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    leaflet = read_leaflet(source(suffix))
    addresses = [printable_url(link) for link in re.findall(r"\]\((https?://[^)]*)\)", source(suffix).read_text(encoding="utf-8"))]

    def printed_address(match: re.Match[str]) -> str:  # a link's address is printed after its text, maybe over two lines
        return "" if any(match.group() in address or match.group() in address.replace("-", "") for address in addresses) else match.group()

    text = squash(re.sub(r"[A-Za-z0-9./:-]{5,}", printed_address, text))
    labels = catalogue_for(leaflet.meta.language, LAYOUTS_DIR)
    for furniture in labels.stamp_parts(leaflet.meta):  # the footer, which falls inside a paragraph split over two pages
        text = text.replace(squash(furniture), "")
    literals = re.split(r"\{pages?\}", labels.template("print.page"))
    text = re.sub(r"\d+".join(re.escape(squash(literal)) for literal in literals), "", text)
    if suffix in RIGHT_TO_LEFT:  # pdftotext puts a full stop after an address or time at a line's end on its other side
        text = text.replace(".", "")
    for segment in segments(leaflet):
        expected = squash(segment.text).replace(".", "") if suffix in RIGHT_TO_LEFT else squash(segment.text)
        if segment.style != "Image Description":  # alt text describes the image; it is not drawn
            assert expected in text, f"{segment.style} on line {segment.line}: {segment.text!r}"
    with pikepdf.open(pdf) as document:
        assert str(document.Root.Lang) == TRANSLATIONS[suffix]


def ink_edges(pdf: Path) -> list[tuple[int, int]]:
    """The leftmost and rightmost inked pixel of each line of print on page 1 (at 50 dpi), header and footer left out."""
    import numpy as np

    with pymupdf.open(pdf) as document:
        pixmap = document[0].get_pixmap(dpi=50, colorspace=pymupdf.csGRAY)
    ink = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width) < 128
    rows = np.flatnonzero(ink.any(axis=1))
    lines = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    body = [line for line in lines if pixmap.height * 0.2 < line[0] < pixmap.height * 0.8]
    return [(int(np.flatnonzero(ink[line].any(axis=0))[0]), int(np.flatnonzero(ink[line].any(axis=0))[-1])) for line in body]


@pytest.mark.parametrize(("suffix", "rtl"), [("ar", True), ("ur", True), ("pl", False), ("bn", False)])
def test_lines_align_to_the_margin_their_language_starts_at(built, suffix, rtl):
    """Looked at as a reader would: right-to-left lines all end at the right margin and start anywhere."""
    edges = ink_edges(output_file(built, stem(suffix), "print"))
    lefts, rights = sorted(left for left, _ in edges), sorted(right for _, right in edges)
    left_margin, right_margin = lefts[len(lefts) // 10], rights[-1 - len(rights) // 10]  # a swash or a bullet may stick out
    at_left = sum(abs(left - left_margin) <= 6 for left in lefts)
    at_right = sum(abs(right - right_margin) <= 6 for right in rights)
    assert len(edges) > 8
    # Full lines touch both margins; the last line of a paragraph, a heading or a short item only the one it starts from.
    assert (at_right - at_left if rtl else at_left - at_right) >= 0.25 * len(edges), (at_left, at_right, len(edges))


@pytest.mark.parametrize("suffix", TRANSLATIONS)
def test_word_file_sets_the_language_and_reads_right_to_left_where_the_language_does(built, suffix):
    with zipfile.ZipFile(output_file(built, stem(suffix), "docx")) as package:
        styles = package.read("word/styles.xml").decode()
        document = package.read("word/document.xml").decode()
    language = TRANSLATIONS[suffix]
    assert f'w:val="{language}"' in styles
    if suffix in RIGHT_TO_LEFT:
        assert "<w:bidi/>" in styles and f'w:bidi="{language}"' in styles and 'w:cs="Arial"' in styles
        assert re.search(r"<w:sectPr[^>]*>.*<w:bidi/>.*</w:sectPr>", document, re.S)
        assert "<w:bidi/>" not in document.split("<w:sectPr")[0]  # in the styles, not as direct formatting
    else:
        assert "<w:bidi/>" not in styles
    if suffix == "zh-Hans":
        assert 'w:eastAsia="zh-Hans"' in styles


@pytest.mark.parametrize("suffix", TRANSLATIONS)
def test_audio_script_is_in_the_language_and_reads_numbers_digit_by_digit(built, suffix):
    script = output_file(built, stem(suffix), "audio_script").read_text(encoding="utf-8")
    english = catalogue_for("en-GB", LAYOUTS_DIR)
    for phrase in (english.text("audio.introduction"), english.text("audio.end"), "Resource number", "It has", "How to contact us"):
        assert phrase not in script, phrase
    assert "0 1 1 4, 2 7 1, 1 9 0 0" in script and "9 9 9" in script and "1 1 1" in script
    assert "0114 271 1900" not in script
    labels = catalogue_for(TRANSLATIONS[suffix], LAYOUTS_DIR)
    assert labels.text("audio.end") in script and labels.text("audio.introduction") in script
    tags = ID3(output_file(built, stem(suffix), "audio"))
    assert str(tags["TLAN"]) == {"pl": "pol", "ar": "ara", "ur": "urd", "bn": "ben", "zh-Hans": "zho"}[suffix]
    assert {frame.desc: frame.text[0] for frame in tags.getall("COMM")}[""] == labels.stamp(read_leaflet(source(suffix)).meta)


def test_a_language_with_no_voice_fails_only_its_audio(tmp_path):
    path = write_leaflet(tmp_path / "src", "leaflet.so.md", "Fadlan wac 020 7188 2673.\n")
    out = tmp_path / "out"
    result = run_cli("build", path, "--out", out, "--today", "2026-11-24")
    assert result.returncode == 1
    assert f"{path}: audio: no speech voice for language 'so' is installed" in result.stderr
    names = sorted(p.name for p in (out / "leaflet").iterdir())
    assert names == ["leaflet.so.docx", "leaflet.so.html", "leaflet.so.large-print.pdf", "leaflet.so.print.pdf",
                     "leaflet.so.translation-brief.txt", "leaflet.so.xlf"]
    page = (out / "leaflet" / "leaflet.so.html").read_text(encoding="utf-8")
    assert "leaflet.so.mp3" not in page and "<audio" not in page  # it links only what was made


def test_a_returned_right_to_left_word_file_imports_and_builds_right_to_left(tmp_path):
    """A translation tool marks Arabic paragraphs bidi and adds direction marks; the import keeps the
    words, leaves the marks out (the language decides the direction) and the result builds."""
    from leafpress.renderers.docx import render

    src = tmp_path / "source"
    shutil.copytree(FIXTURES / "images", src / "images")
    shutil.copy(FIXTURES / "knee-replacement.md", src)
    english, arabic = read_leaflet(src / "knee-replacement.md"), read_leaflet(source("ar"))
    sent = tmp_path / "sent"
    sent.mkdir()
    from leafpress.settings import load_settings

    render(english, load_settings(), {"docx": sent / "k.docx", "translation_brief": sent / "k.txt", "xliff": sent / "k.xlf"})
    returned = tmp_path / "knee-ar.docx"
    _translate_into(sent / "k.docx", returned, [segment.text for segment in segments(arabic)])
    result = run_cli("import-translation", returned, "--lang", "ar", "--sources", src)
    assert result.returncode == 0, result.stderr
    imported = read_leaflet(src / "knee-replacement.ar.md")
    assert [s.text for s in segments(imported)] == [s.text for s in segments(arabic)]
    assert "\u200f" not in (src / "knee-replacement.ar.md").read_text(encoding="utf-8")
    built = run_cli("build", src / "knee-replacement.ar.md", "--out", tmp_path / "out", "--formats", "print", "--today", "2026-11-24")
    assert built.returncode == 0, built.stderr


def _translate_into(docx: Path, target: Path, texts: list[str]) -> None:
    """What a translation tool does: each paragraph's text replaced, marked right to left."""
    import docx as python_docx
    from docx.oxml import OxmlElement

    document = python_docx.Document(str(docx))
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        paragraphs.extend(cell.paragraphs[0] for row in table.rows for cell in row.cells)
    body_order = {id(element): n for n, element in enumerate(document.element.body.iter(_qn("w:p")))}
    paragraphs.sort(key=lambda p: body_order[id(p._p)])
    assert len(paragraphs) == len(texts)
    for paragraph, text in zip(paragraphs, texts, strict=True):
        for run in paragraph.runs:
            run._r.getparent().remove(run._r)
        for hyperlink in paragraph._p.findall(_qn("w:hyperlink")):
            for run in hyperlink.findall(_qn("w:r")):
                run.find(_qn("w:t")).text = text if run is hyperlink.findall(_qn("w:r"))[0] else ""
        if not paragraph._p.findall(_qn("w:hyperlink")):
            run = paragraph.add_run("\u200f" + text)
            run._r.get_or_add_rPr().append(OxmlElement("w:rtl"))
        paragraph._p.get_or_add_pPr().append(OxmlElement("w:bidi"))
    document.save(str(target))


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def test_readme_lists_the_shipped_languages():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for tag in SHIPPED:
        assert f"`{tag}`" in readme, tag
