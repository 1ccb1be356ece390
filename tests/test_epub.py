"""The read-along EPUB: text and audio together, each spoken sentence highlighted as it is read.

Every leaflet built (the example and every fixture: English, Polish, Arabic and Urdu right to
left, Bengali, Chinese) is opened as a reading system would: the zip's layout, the package's
metadata and stamp, and each media overlay clip checked against the MP3 it plays and the
script the audio was spoken from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from leafpress.errors import RenderError
from leafpress.library import build as build_module
from leafpress.reader import read_leaflet
from leafpress.renderers import audio, epub
from leafpress.settings import load_settings
from leafpress.speech.script import build_script

from .checkers import ace_violations, epubcheck_messages, summary
from .conftest import output_file, stamp, write_leaflet

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "smil": "http://www.w3.org/ns/SMIL",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
}
STEMS = ["poem-achalasia", "knee-replacement", "knee-replacement.pl", "knee-replacement.ar", "knee-replacement.ur",
         "knee-replacement.bn", "knee-replacement.zh-Hans"]
RIGHT_TO_LEFT = {"knee-replacement.ar", "knee-replacement.ur"}
TODAY = dt.date(2026, 11, 24)


def seconds(clock: str) -> float:
    hours, minutes, rest = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


@dataclasses.dataclass
class Book:
    path: Path
    zip: zipfile.ZipFile

    def read(self, name: str) -> bytes:
        return self.zip.read(f"EPUB/{name}")

    @property
    def package(self) -> ET.Element:
        return ET.fromstring(self.read("package.opf"))

    def metadata(self, prop: str) -> list[str]:
        return [meta.text for meta in self.package.iterfind("opf:metadata/opf:meta", NS) if meta.get("property") == prop and not meta.get("refines")]

    def documents(self) -> list[tuple[str, str | None]]:
        """The spine's documents in reading order, with their overlays' file names."""
        package = self.package
        items = {item.get("id"): item for item in package.iterfind("opf:manifest/opf:item", NS)}
        spine = [items[ref.get("idref")] for ref in package.iterfind("opf:spine/opf:itemref", NS)]
        return [(item.get("href"), items[item.get("media-overlay")].get("href") if item.get("media-overlay") else None) for item in spine]

    def clips(self) -> list[tuple[str, str, str, float, float]]:
        """Every clip of every overlay in reading order: (document, element id, audio, begin, end)."""
        found = []
        for _document, overlay in self.documents():
            if overlay is None:
                continue
            for par in ET.fromstring(self.read(overlay)).iter(f"{{{NS['smil']}}}par"):
                text, sound = par.find("smil:text", NS), par.find("smil:audio", NS)
                document, element = text.get("src").split("#")
                found.append((document, element, sound.get("src"), seconds(sound.get("clipBegin")), seconds(sound.get("clipEnd"))))
        return found


def open_book(path: Path) -> Book:
    return Book(path, zipfile.ZipFile(path))


@pytest.fixture(scope="module", params=STEMS)
def book(request, built) -> tuple[str, Book]:
    return request.param, open_book(output_file(built, request.param, "epub"))


def test_the_zip_is_an_epub_with_every_file_listed(book):
    _stem, b = book
    first = b.zip.infolist()[0]
    assert (first.filename, first.compress_type, b.zip.read(first)) == ("mimetype", zipfile.ZIP_STORED, b"application/epub+zip")
    container = ET.fromstring(b.zip.read("META-INF/container.xml"))
    assert [r.get("full-path") for r in container.iter("{urn:oasis:names:tc:opendocument:xmlns:container}rootfile")] == ["EPUB/package.opf"]
    listed = {f"EPUB/{item.get('href')}" for item in b.package.iterfind("opf:manifest/opf:item", NS)}
    held = {name for name in b.zip.namelist() if name.startswith("EPUB/") and name != "EPUB/package.opf"}
    assert listed == held
    for name in held:
        if name.endswith((".xhtml", ".smil", ".opf")):
            ET.fromstring(b.zip.read(name))  # well-formed XML


def test_epubcheck_finds_no_error_or_warning(book):
    _stem, b = book
    assert (found := epubcheck_messages(b.path)) == [], summary(found)


def test_daisy_ace_finds_no_accessibility_violation(book):
    _stem, b = book
    assert (found := ace_violations(b.path)) == [], summary(found)


def test_the_stamp_is_in_the_metadata_and_on_the_title_page(book, built):
    stem, b = book
    entry = built["by_stem"][stem]
    assert b.metadata("leafpress:resource-number") == [entry["resource_number"]]
    assert b.metadata("leafpress:last-reviewed") == [entry["last_reviewed"]]
    assert b.metadata("leafpress:next-review") == [entry["next_review"]]
    assert [e.text for e in b.package.iterfind("opf:metadata/dc:language", NS)] == [entry["language"]]
    assert [e.text for e in b.package.iterfind("opf:metadata/dc:title", NS)] == [entry["title"]]
    leaflet = read_leaflet(Path(built["out"]) / entry["source"])
    cover = "".join(ET.fromstring(b.read("cover.xhtml")).itertext())
    for part in stamp(leaflet).split(" · "):
        assert part in cover


def test_accessibility_and_media_overlay_metadata(book):
    _stem, b = book
    assert set(b.metadata("schema:accessMode")) >= {"textual", "auditory"}
    assert set(b.metadata("schema:accessibilityFeature")) >= {"structuralNavigation", "tableOfContents", "readingOrder",
                                                              "displayTransformability", "synchronizedAudioText"}
    assert b.metadata("schema:accessibilityHazard") == ["none"]
    assert b.metadata("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert b.metadata("schema:accessibilitySummary")[0]
    active = b.metadata("media:active-class")
    assert active and f".{active[0]}" in b.read("style.css").decode()
    assert re.fullmatch(r"\w+:[\w/-]+", b.metadata("media:narrator")[0])  # the voice that read it (rhvoice:alan, espeak:zlw/pl), as the MP3 says


def test_right_to_left_books_read_right_to_left(book):
    stem, b = book
    spine = b.package.find("opf:spine", NS)
    rtl = stem in RIGHT_TO_LEFT
    assert (spine.get("page-progression-direction") == "rtl") == rtl
    for document, _overlay in b.documents():
        assert ET.fromstring(b.read(document)).get("dir") == ("rtl" if rtl else "ltr")


def test_navigation_lists_the_title_page_and_every_section(book, built):
    stem, b = book
    nav = ET.fromstring(b.read("nav.xhtml"))
    toc = next(n for n in nav.iter(f"{{{NS['xhtml']}}}nav") if n.get(f"{{{NS['epub']}}}type") == "toc")
    links = [a.get("href") for a in toc.iter(f"{{{NS['xhtml']}}}a")]
    leaflet = read_leaflet(Path(built["out"]) / built["by_stem"][stem]["source"])
    assert links == ["cover.xhtml#content"] + [f"text.xhtml#section-{n}" for n in range(1, len(list(leaflet.sections())) + 1)]
    text = ET.fromstring(b.read("text.xhtml"))
    ids = {e.get("id") for e in text.iter()}
    assert all(link.split("#")[1] in ids for link in links[1:])


def test_every_clip_plays_its_sentence_inside_the_audio_in_order(book, built):
    """One clip per sentence the audio reads of the leaflet's text, each on an element of the page
    with text in it, inside the MP3, in reading order, none overlapping another."""
    from mutagen.mp3 import MP3

    stem, b = book
    clips = b.clips()
    audio_files = {sound for *_rest, sound, _begin, _end in [(c[0], c[1], c[2], c[3], c[4]) for c in clips]}
    assert len(audio_files) == 1
    length = MP3(io.BytesIO(b.read(audio_files.pop()))).info.length
    ends = 0.0
    for document, element, _audio, begin, end in clips:
        assert ends <= begin < end <= length + 0.05, (document, element)
        ends = end
        page = ET.fromstring(b.read(document))
        target = next(e for e in page.iter() if e.get("id") == element)
        assert "".join(target.itertext()).strip() or target.find("xhtml:img", NS) is not None
    leaflet = read_leaflet(Path(built["out"]) / built["by_stem"][stem]["source"])
    spoken = [u for chapter in build_script(leaflet, load_settings()).chapters for u in chapter.utterances if u.anchor is not None]
    assert len(clips) == len(spoken)
    durations = {meta.get("refines"): seconds(meta.text) for meta in b.package.iterfind("opf:metadata/opf:meta", NS)
                 if meta.get("property") == "media:duration"}
    total = durations.pop(None)
    assert total == pytest.approx(sum(end - begin for *_rest, begin, end in clips), abs=0.01)
    assert sum(durations.values()) == pytest.approx(total, abs=0.01)


def test_a_sentence_is_highlighted_on_its_own(built):
    b = open_book(output_file(built, "poem-achalasia", "epub"))
    page = ET.fromstring(b.read("text.xhtml"))
    by_id = {e.get("id"): "".join(e.itertext()) for e in page.iter() if e.get("id")}
    first = next(clip for clip in b.clips() if clip[0] == "text.xhtml")
    assert by_id[first[1]] == "Achalasia is a lifelong condition when the muscles in your food pipe (the oesophagus) do not work properly."


# -- Made from the audio, never a second synthesis --------------------------------------------


@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    source = write_leaflet(root / "src", "clinic.md",
                           body="## Before you come\n\nBring your letter. Arrive early.\n\n- Eat a **light** meal.\n- Call us on 020 7946 0000.\n")
    out = root / "out"
    report = build_module.build([source], out, ["audio", "epub"], load_settings(), TODAY)
    assert not report.failed, report.failed[0].problems
    return source, out


def test_the_book_is_made_from_the_recorded_audio_without_speaking_again(small_build, monkeypatch):
    source, out = small_build
    book = out / "clinic" / "clinic.epub"
    before = book.read_bytes()
    mp3 = (out / "clinic" / "clinic.mp3").stat()
    book.unlink()

    def no_speech(*args, **kwargs):
        raise AssertionError("the EPUB must not synthesise speech")

    monkeypatch.setattr(audio, "synthesiser_for", no_speech)
    report = build_module.build([source], out, ["audio", "epub"], load_settings(), TODAY)
    assert [r.built for r in report.results] == [["epub"]]
    assert (out / "clinic" / "clinic.mp3").stat().st_mtime_ns == mp3.st_mtime_ns
    assert book.read_bytes() == before  # the same leaflet and audio make the same bytes


def test_an_mp3_of_other_text_is_refused_with_a_clear_message(small_build, tmp_path):
    source, out = small_build
    edited = tmp_path / "clinic.md"
    edited.write_text(source.read_text(encoding="utf-8").replace("Arrive early.", "Arrive on time."), encoding="utf-8")
    target = tmp_path / "clinic.epub"
    (tmp_path / "clinic.mp3").write_bytes((out / "clinic" / "clinic.mp3").read_bytes())
    with pytest.raises(RenderError, match="clinic.mp3 was not made from this version of the leaflet"):
        epub.render(read_leaflet(edited), load_settings(), {"epub": target})
    assert not target.exists()


def test_without_its_audio_the_book_says_what_to_build(tmp_path):
    source = write_leaflet(tmp_path / "src", "lonely.md")
    with pytest.raises(RenderError, match=r"lonely.mp3 is missing; build the audio too \(--formats audio,epub\)"):
        epub.render(read_leaflet(source), load_settings(), {"epub": tmp_path / "lonely.epub"})
