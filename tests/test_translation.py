"""Importing a translated Word file: the round trip, matching it to its source, structure
checks, and hostile files refused before python-docx reads them."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest

from leafpress import translation
from leafpress.library.build import output_paths
from leafpress.model import Text
from leafpress.reader import read_leaflet
from leafpress.renderers import RENDERERS
from leafpress.segments import segments, with_translation
from leafpress.settings import load_settings
from leafpress.translation import TranslationError, import_translation

from .conftest import EXAMPLE, FIXTURES, run_cli, write_leaflet
from .test_docx import TERMS_BODY, TERMS_FRONT

KNEE_NAME = "knee-replacement"
W_VAL = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val"
TRICKY = "1. *Nie* <b>pij</b> & [jedz] _teraz_ #1 | a\\b &amp; **x**"


@pytest.fixture
def src(tmp_path) -> Path:
    """A source folder with the knee fixture (and its image), the example and a leaflet with terms."""
    folder = tmp_path / "source"
    shutil.copytree(FIXTURES / "images", folder / "images")
    shutil.copy(FIXTURES / "knee-replacement.md", folder)
    shutil.copy(EXAMPLE, folder)
    write_leaflet(folder, "heart-scan.md", body=TERMS_BODY, front=TERMS_FRONT)
    return folder


def make_docx(source: Path, out: Path) -> Path:
    leaflet = read_leaflet(source)
    targets = output_paths(leaflet, out, ["docx"])
    targets["docx"].parent.mkdir(parents=True, exist_ok=True)
    RENDERERS["docx"].render(leaflet, load_settings(), targets)
    return targets["docx"]


def polish(text: str) -> str:
    """A stand-in translation that keeps the run's outer spaces, as a translation tool does."""
    core = text.strip()
    if not core[:1].isalpha():
        return text.upper()
    return text[: len(text) - len(text.lstrip())] + f"PL {core.upper()}" + text[len(text.rstrip()) :]


def translate(path: Path, target: Path, change=polish, language: str | None = "pl-PL") -> Path:
    """What a translation tool does: new text in every run that is not locked, styles kept."""
    document = docx.Document(path)
    locked = document.styles["DoNotTranslate"].style_id
    for run in document.element.body.xpath(".//w:r[w:t]"):
        if run.xpath(f"./w:rPr/w:rStyle[@w:val='{locked}']"):
            continue
        texts = run.xpath("./w:t")
        if texts[0].text and texts[0].text.strip():
            texts[0].text = change(texts[0].text)
    if language:
        document.styles["Normal"].element.xpath("./w:rPr/w:lang")[0].set(W_VAL, language)
    document.save(target)
    return target


def without_lines(leaflet):
    return translation._without_lines(leaflet.blocks)


def rezip(path: Path, target: Path, replace: dict[str, bytes | None] | None = None, add: list[tuple[str, bytes]] = ()) -> Path:
    """A copy of a .docx with some parts replaced (None removes them) and others added."""
    replace = replace or {}
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = replace.get(item.filename, original.read(item))
            if data is not None:
                copy.writestr(item.filename, data)
        for name, data in add:
            copy.writestr(name, data)
    return target


def edited(path: Path, target: Path, edit) -> Path:
    """A copy of a .docx after ``edit(document)``."""
    document = docx.Document(path)
    edit(document)
    document.save(target)
    return target


def refused(path: Path, src: Path, language: str | None = "pl") -> str:
    """The one-line reason the import refuses ``path``, without the path it starts with."""
    with pytest.raises(TranslationError) as caught:
        import_translation(path, src, language)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message.removeprefix(f"{path}: ")


# -- round trip ---------------------------------------------------------------------------


@pytest.mark.slow
def test_round_trip_keeps_the_structure_and_builds_every_format(src, tmp_path):
    sent = make_docx(src / f"{KNEE_NAME}.md", tmp_path / "sent")
    returned = translate(sent, tmp_path / "knee-replacement-pl.docx")
    result = run_cli("import-translation", returned, "--lang", "pl", "--sources", src)
    assert result.returncode == 0, result.stderr
    target = src / f"{KNEE_NAME}.pl.md"
    assert result.stdout == f"Wrote {target} (pl), the translation of {src / 'knee-replacement.md'}; build it with: generate.py build {target}\n"

    source, imported = read_leaflet(src / f"{KNEE_NAME}.md"), read_leaflet(target)
    # The source with the imported texts put in is exactly the imported leaflet: same structure.
    rebuilt = with_translation(source, [s.inlines for s in segments(imported)], "pl", target)
    assert without_lines(rebuilt) == without_lines(imported)
    assert rebuilt.meta == imported.meta
    meta = imported.meta
    assert (meta.title, meta.subtitle, meta.language) == ("PL KNEE REPLACEMENT & RECOVERY", "PL WHAT TO EXPECT AFTER YOUR OPERATION", "pl")
    assert (meta.resource_number, meta.last_reviewed, meta.next_review, meta.department) == (
        source.meta.resource_number, source.meta.last_reviewed, source.meta.next_review, source.meta.department
    )
    texts = [s.text for s in segments(imported)]
    assert "PL GOING HOME" in texts
    assert "PL IF YOU HAVE CHEST PAIN OR DIFFICULTY BREATHING, PL CALL 999 PL AT ONCE." in texts
    assert "PL READ MORE ON THE PL NHS WEBSITE PL OR EMAIL ortho@example.org." in texts

    out = tmp_path / "out"
    built = run_cli("build", target, "--out", out, "--today", "2026-01-01")
    assert built.returncode == 0, built.stderr
    (entry,) = json.loads((out / "manifest.json").read_text())["leaflets"]
    assert entry["language"] == "pl" and entry["resource_number"] == "1234/VER1" and entry["next_review"] == "2028-01-31"
    for key in ("print", "large_print", "docx", "audio", "audio_script", "translation_brief", "xliff"):
        assert (out / entry["outputs"][key]).is_file(), key
    pdf_text = subprocess.run(["pdftotext", str(out / entry["outputs"]["print"]), "-"], capture_output=True, text=True, check=True).stdout
    assert "PL KNEE REPLACEMENT & RECOVERY" in pdf_text
    assert "Numer materiału: 1234/VER1" in pdf_text  # the stamp in Polish (layouts/languages/pl.yaml)
    assert "PL GOING HOME" in (out / entry["outputs"]["audio_script"]).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [KNEE_NAME, "poem-achalasia", "heart-scan"])
def test_an_untranslated_file_imports_as_exactly_its_source(src, tmp_path, name):
    sent = make_docx(src / f"{name}.md", tmp_path)
    result = import_translation(sent, src, "pl")
    source, imported = read_leaflet(src / f"{name}.md"), read_leaflet(result.path)
    assert result.path == src / f"{name}.pl.md" and not result.replaced and result.warnings == []
    assert without_lines(imported) == without_lines(source)
    assert imported.meta == dataclasses.replace(source.meta, language="pl")


@pytest.mark.slow
def test_a_file_saved_again_by_libreoffice_still_imports_as_its_source(src, tmp_path):
    sent = make_docx(src / "poem-achalasia.md", tmp_path / "sent")
    resaved = tmp_path / "resaved"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "docx:MS Word 2007 XML",
         "--outdir", str(resaved), str(sent)],
        capture_output=True, timeout=300, check=True, env={**os.environ, "HOME": str(tmp_path)},
    )
    imported = read_leaflet(import_translation(resaved / sent.name, src, "pl").path)
    source = read_leaflet(src / "poem-achalasia.md")
    assert without_lines(imported) == without_lines(source)


def test_text_that_looks_like_markdown_stays_text(src, tmp_path):
    sent = make_docx(src / f"{KNEE_NAME}.md", tmp_path)
    returned = translate(sent, tmp_path / "tricky.docx", change=lambda text: f" {TRICKY} ")
    imported = read_leaflet(import_translation(returned, src, "pl").path)
    texts = [s.text for s in segments(imported)]
    assert texts[0] == TRICKY
    assert texts[2] == f"{TRICKY} {TRICKY} {TRICKY}"  # text, Strong run, text
    (bold,) = [span for span in segments(imported)[2].inlines if span.kind == "bold"]
    assert bold.children == (Text(TRICKY),)
    source = read_leaflet(src / f"{KNEE_NAME}.md")
    assert [type(block) for block in imported.blocks] == [type(block) for block in source.blocks]


def test_bold_that_markdown_cannot_close_is_a_clear_error(src, tmp_path):
    def glue(document) -> None:
        runs = document.paragraphs[2].runs  # "This leaflet explains what happens ", "after" (Strong), " your knee…"
        runs[1].text, runs[2].text = "(po)", "operacji."

    path = edited(make_docx(src / f"{KNEE_NAME}.md", tmp_path), tmp_path / "glued.docx", glue)
    assert refused(path, src) == (
        "the translation cannot be written as Markdown that reads back the same near \"This leaflet explains what happens (po)o…\"; "
        "where bold text there begins or ends with a punctuation mark, put a space outside it, or report it"
    )
    assert not (src / f"{KNEE_NAME}.pl.md").exists()


def test_protected_text_keeps_its_bold(src, tmp_path):
    sent = make_docx(src / "poem-achalasia.md", tmp_path)
    imported = read_leaflet(import_translation(translate(sent, tmp_path / "pl.docx"), src).path)
    (phone,) = [s for s in segments(imported) if "2673" in s.text]
    assert phone.inlines[0].kind == "bold" and phone.inlines[0].children[0].text == "PL PHONE: 020 7188 2673"


def test_a_second_import_replaces_the_first(src, tmp_path):
    sent = make_docx(src / f"{KNEE_NAME}.md", tmp_path)
    import_translation(sent, src, "pl")
    assert import_translation(sent, src, "pl").replaced


# -- language -----------------------------------------------------------------------------


def test_language_comes_from_the_file_when_not_given(src, tmp_path):
    returned = translate(make_docx(src / f"{KNEE_NAME}.md", tmp_path), tmp_path / "pl.docx", language="cy")
    result = import_translation(returned, src)
    assert (result.language, result.path.name) == ("cy", f"{KNEE_NAME}.cy.md")


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        (None, "cannot tell the translation's language (the file still says en-GB); give it with --lang, e.g. --lang pl"),
        ("en-GB", "en-GB is the source's own language; give the translation's language with --lang"),
        ("polish!", "language 'polish!' is not a BCP 47 tag; write e.g. pl, cy or pt-BR"),
    ],
)
def test_unusable_languages_are_refused(src, tmp_path, lang, message):
    sent = make_docx(src / f"{KNEE_NAME}.md", tmp_path)
    assert refused(sent, src, lang) == message


# -- matching the source ------------------------------------------------------------------


def test_a_file_leafpress_did_not_make_is_refused(src, tmp_path):
    path = tmp_path / "other.docx"
    docx.Document().save(path)
    assert refused(path, src) == (
        "has no resource_number property, so it is not a Word file leafpress made; "
        "import the translation of the .docx from output/, with its file properties kept"
    )


def test_a_file_whose_resource_number_matches_no_source_is_refused(src, tmp_path):
    sent = make_docx(src / f"{KNEE_NAME}.md", tmp_path)
    custom = zipfile.ZipFile(sent).read("docProps/custom.xml").replace(b"1234/VER1", b"5555/VER9")
    path = rezip(sent, tmp_path / "unknown.docx", {"docProps/custom.xml": custom})
    assert refused(path, src) == (
        f"no source in {src} has resource number 5555/VER9, the Word file's; "
        "import it into the project it was made from, or give that source folder with --sources DIR"
    )


def test_a_source_changed_since_the_file_was_made_is_refused_unless_accepted(src, tmp_path):
    source = src / f"{KNEE_NAME}.md"
    sent = make_docx(source, tmp_path)
    source.write_text(source.read_text(encoding="utf-8").replace("2 or 3 nights", "3 or 4 nights"), encoding="utf-8")
    changed = f"{source} has changed since {sent.name} was made from it (the checksums differ)"
    assert refused(sent, src) == (
        f"{changed}; send the translators the new Word file (generate.py build {source} --formats docx) "
        "or, if the changes do not matter, import with --accept-changed-source and have the changed parts translated"
    )
    result = import_translation(sent, src, "pl", accept_changed_source=True)
    assert result.warnings == [f"{sent}: warning: {changed}; the changed parts still need translating"]
    assert result.path.is_file()


# -- structure ----------------------------------------------------------------------------

RULE = "the structure no longer matches the source: keep every paragraph with its style and translate only the text"


def restyle_heading(document) -> None:
    next(p for p in document.paragraphs if p.text == "Going home").style = document.styles["Normal"]


def delete_last(document) -> None:
    last = document.paragraphs[-1]._p
    last.getparent().remove(last)


def relink(document) -> None:
    (rel,) = [r for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")]
    rel._target = "https://evil.example/"


def change_phone(document) -> None:
    for run in document.element.body.xpath(".//w:t"):
        run.text = run.text.replace("0114 271 1900", "0114 000 0000")


def empty_heading(document) -> None:
    next(p for p in document.paragraphs if p.text == "Going home").runs[0].text = ""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (restyle_heading, "paragraph 4 (\"Going home\") is styled 'Normal' where the source has styled 'Heading 1' "
                          "({source}:12: \"Going home\"); " + RULE),
        (lambda d: d.add_paragraph("Extra", style="Normal"),
         "paragraph 30 (\"Extra\", Normal) is not in the source, which ends at paragraph 29; " + RULE),
        (delete_last, "ends after paragraph 28; the source goes on with \"Read more on the NHS website or email or…\" "
                      "(Normal, {source}:42); the structure no longer matches the source: translate every paragraph"),
        (relink, "paragraph 29 (\"Read more on the NHS website or email or…\") links to https://evil.example/ where the source "
                 "links to https://www.nhs.uk/conditions/knee-replacement/ ({source}:42); keep the source's links, with their addresses"),
        (change_phone, "paragraph 26 (\"For advice, call NHS 111 or the ward on…\") no longer contains '0114 271 1900' "
                       "({source}:37), which must not be translated; put it back exactly as in the source"),
        (empty_heading, "paragraph 4 (Heading 1) is empty where the source has \"Going home\" ({source}:12); translate it"),
    ],
    ids=["restyled", "added", "deleted", "relinked", "phone-changed", "emptied"],
)
def test_a_file_whose_structure_no_longer_matches_is_refused(src, tmp_path, edit, message):
    source = src / f"{KNEE_NAME}.md"
    path = edited(make_docx(source, tmp_path), tmp_path / "returned.docx", edit)
    assert refused(path, src) == message.format(source=source)
    assert not (src / f"{KNEE_NAME}.pl.md").exists()


def test_a_table_cell_moved_is_refused(src, tmp_path):
    def swap(document) -> None:
        row = document.tables[0].rows[1]._tr
        row.remove(row.xpath("./w:tc")[2])

    source = src / f"{KNEE_NAME}.md"
    path = edited(make_docx(source, tmp_path), tmp_path / "returned.docx", swap)
    assert refused(path, src) == (
        f"paragraph 20 (\"Dalteparin\") is styled 'Table Text' in table 1, row 3, column 1 where the source has "
        f"styled 'Table Text' in table 1, row 2, column 3 ({source}:30: \"4 times a day\"); {RULE}"
    )


def test_a_missing_do_not_translate_term_is_only_a_warning(src, tmp_path):
    def inflect(document) -> None:
        for text in document.element.body.xpath(".//w:t"):
            text.text = text.text.replace("Echo Clinic", "Echo Clinicu")

    path = edited(make_docx(src / "heart-scan.md", tmp_path), tmp_path / "returned.docx", inflect)
    result = import_translation(path, src, "pl")
    assert result.warnings == [
        f"{path}: warning: paragraph 3 (\"The Echo Clinicu does POEM checks. Quote…\") no longer contains 'Echo Clinic', a do_not_translate term"
    ]


# -- hostile files ------------------------------------------------------------------------


@pytest.fixture
def no_python_docx(monkeypatch):
    """python-docx must never see a file the archive check refuses."""
    def refuse(*args, **kwargs):
        raise AssertionError("python-docx was asked to parse a hostile file")

    monkeypatch.setattr(docx, "Document", refuse)




BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
                  b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol2;</w:document>')
EXTERNAL_ENTITY = b'<?xml version="1.0"?>\n<!doctype r [<!entity x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


@pytest.fixture
def sent(src, tmp_path) -> Path:
    return make_docx(src / f"{KNEE_NAME}.md", tmp_path / "sent")


def test_not_a_zip_is_refused(src, tmp_path, no_python_docx):
    path = tmp_path / "letter.docx"
    path.write_text("Dear translator", encoding="utf-8")
    assert refused(path, src) == "is not a Word .docx file (it is not a ZIP archive); save it from Word as .docx"


def test_an_oversized_file_is_refused(src, sent, no_python_docx, monkeypatch):
    monkeypatch.setattr(translation, "MAX_DOCX_BYTES", 1000)
    size = sent.stat().st_size
    assert refused(sent, src) == f"the file is {size:,} bytes, over the 1,000-byte limit for a returned Word file; refused"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(src, sent, tmp_path, no_python_docx):
    path = rezip(sent, tmp_path / "bomb.docx", add=[("word/media/padding.bin", b"\0" * 20_000_000)])
    member = zipfile.ZipFile(path).getinfo("word/media/padding.bin")
    ratio = member.file_size / member.compress_size
    assert refused(path, src) == (
        f"part 'word/media/padding.bin' is compressed {ratio:,.0f} to 1, far more than any Word file (at most 100 to 1): a zip bomb, refused"
    )


def test_too_many_parts_are_refused(src, sent, tmp_path, no_python_docx):
    path = rezip(sent, tmp_path / "many.docx", add=[(f"word/media/{n}.bin", b"x") for n in range(1000)])
    count = len(zipfile.ZipFile(path).infolist())
    assert refused(path, src) == f"holds {count:,} parts, over the limit of 1,000 for a Word file; refused as unsafe"


def test_a_part_too_large_to_unpack_is_refused(src, sent, no_python_docx, monkeypatch):
    monkeypatch.setattr(translation, "MAX_PART_BYTES", 1000)
    first = next(item for item in zipfile.ZipFile(sent).infolist() if item.file_size > 1000)
    assert refused(sent, src) == f"part '{first.filename}' would unpack to {first.file_size:,} bytes, over the 1,000-byte limit; refused as unsafe"


def test_too_much_in_all_is_refused(src, sent, no_python_docx, monkeypatch):
    monkeypatch.setattr(translation, "MAX_UNPACKED_BYTES", 10_000)
    total = sum(item.file_size for item in zipfile.ZipFile(sent).infolist())
    assert refused(sent, src) == f"would unpack to {total:,} bytes, over the 10,000-byte limit; refused as unsafe"


@pytest.mark.parametrize(
    ("part", "data"),
    [
        ("word/document.xml", BILLION_LAUGHS),
        ("word/styles.xml", EXTERNAL_ENTITY),
        ("_rels/.rels", BILLION_LAUGHS.decode().replace('"1.0"?', '"1.0" encoding="UTF-16"?').encode("utf-16")),
    ],
    ids=["billion-laughs", "external-entity", "utf-16"],
)
def test_xml_with_a_dtd_or_entities_is_refused(src, sent, tmp_path, no_python_docx, part, data):
    path = rezip(sent, tmp_path / "entities.docx", {part: data})
    assert refused(path, src) == f"part '{part}' declares a DTD or XML entities, which Word files never do; refused as unsafe"


def test_an_encrypted_part_is_refused(src, sent, tmp_path, no_python_docx):
    path = rezip(sent, tmp_path / "locked.docx")
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local header and central directory
        start = data.find(signature + b"")
        while start >= 0:
            data[start + flag_offset] |= 0x1
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    first = zipfile.ZipFile(path).infolist()[0].filename
    assert refused(path, src) == f"part '{first}' is encrypted; ask for the file without a password"


def test_duplicate_parts_are_refused(src, sent, tmp_path, no_python_docx):
    with pytest.warns(UserWarning):
        path = rezip(sent, tmp_path / "twice.docx", add=[("word/document.xml", b"<x/>")])
    assert refused(path, src) == "holds two parts named 'word/document.xml'; refused as unsafe"


def test_a_zip_that_is_not_a_word_document_is_refused(src, sent, tmp_path, no_python_docx):
    path = rezip(sent, tmp_path / "empty.docx", {"word/document.xml": None})
    assert refused(path, src) == "has no word/document.xml, so it is not a Word document; save it from Word as .docx"


def test_a_damaged_part_is_refused(src, sent, tmp_path, no_python_docx):
    path = tmp_path / "damaged.docx"
    data = bytearray(sent.read_bytes())
    start = data.find(b"word/document.xml") + len("word/document.xml") + 10  # into its compressed data
    data[start : start + 20] = bytes(20)
    path.write_bytes(bytes(data))
    assert refused(path, src).startswith("the file is damaged (")


def test_the_command_line_reports_a_refusal_on_one_line(src, sent, tmp_path):
    path = rezip(sent, tmp_path / "entities.docx", {"word/document.xml": BILLION_LAUGHS})
    result = run_cli("import-translation", path, "--lang", "pl", "--sources", src)
    assert result.returncode == 1
    assert result.stderr == f"{path}: part 'word/document.xml' declares a DTD or XML entities, which Word files never do; refused as unsafe\n"
    assert result.stdout == ""
