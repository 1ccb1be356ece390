"""Every output read back from the files themselves: PDF text, fonts and metadata; MP3 duration,
tags and chapters; the manifest. The Word file has its own tests in test_docx.py."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTTextContainer
from pypdf import PdfReader

from leafpress.model import Heading
from leafpress.reader import read_leaflet
from leafpress.speech.voices import voice_credit

from .conftest import EXAMPLE, FIXTURES, ROOT, output_file, stamp

pytestmark = pytest.mark.slow

LEAFLETS = {"poem-achalasia": EXAMPLE, "knee-replacement": FIXTURES / "knee-replacement.md"}
PDF_KEYS = ("print", "large_print")
A4_POINTS = (595.3, 841.9)


def squash(text: str) -> str:
    """Whitespace-insensitive text, so wrapped lines still match."""
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(path: Path) -> list[str]:
    return [squash("".join(el.get_text() for el in page if isinstance(el, LTTextContainer))) for page in extract_pages(path)]


def pdf_chars(path: Path) -> list[LTChar]:
    chars: list[LTChar] = []

    def walk(item) -> None:
        if isinstance(item, LTChar):
            chars.append(item)
        elif hasattr(item, "__iter__"):
            for child in item:
                walk(child)

    for page in extract_pages(path):
        walk(page)
    return chars


def headings(slug: str) -> list[Heading]:
    return [b for b in read_leaflet(LEAFLETS[slug]).blocks if isinstance(b, Heading)]


# -- PDFs ----------------------------------------------------------------------


@pytest.mark.parametrize("slug", LEAFLETS)
@pytest.mark.parametrize("key", PDF_KEYS)
def test_pdf_holds_every_heading_and_the_title(built, slug, key):
    text = " ".join(pdf_pages(output_file(built, slug, key)))
    leaflet = read_leaflet(LEAFLETS[slug])
    assert squash(leaflet.meta.title) in text
    for heading in headings(slug):
        assert squash(heading.text) in text, heading.text


@pytest.mark.parametrize("slug", LEAFLETS)
@pytest.mark.parametrize("key", PDF_KEYS)
def test_every_pdf_page_carries_the_stamp_and_page_number(built, slug, key):
    pages = pdf_pages(output_file(built, slug, key))
    printed = stamp(read_leaflet(LEAFLETS[slug]))
    assert len(pages) >= 1
    for number, text in enumerate(pages, start=1):
        label = f"Page {number} of {len(pages)}"
        assert label in text
        # The page number sits beside the stamp, so text extraction may put it inside the stamp's lines.
        assert squash(printed) in squash(text.replace(label, "")), f"page {number}"


def test_example_stamp_reads_as_the_leaflet_prints_it(built):
    text = pdf_pages(output_file(built, "poem-achalasia", "print"))[0]
    assert "Resource number: 4853/VER2 · Last reviewed: June 2022 · Next review: June 2025" in text


@pytest.mark.parametrize("key", PDF_KEYS)
def test_pdf_is_a4_tagged_with_title_language_and_stamp_metadata(built, key):
    reader = PdfReader(output_file(built, "knee-replacement", key))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == A4_POINTS
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712 (a pypdf BooleanObject)
    assert "/StructTreeRoot" in root
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    info = reader.metadata
    assert info.title == "Knee replacement & recovery"
    assert info["/ResourceNumber"] == "1234/VER1"
    assert info["/LastReviewed"] == "January 2025"
    assert info["/NextReview"] == "January 2028"
    assert info.author == "Example Community Health Trust"


@pytest.mark.parametrize("key", PDF_KEYS)
def test_pdf_fonts_are_embedded_and_come_from_fonts_folder(built, key):
    listing = subprocess.run(["pdffonts", output_file(built, "poem-achalasia", key)], capture_output=True, text=True, check=True).stdout
    rows = listing.splitlines()[2:]
    assert rows, listing
    for row in rows:
        assert "Atkinson-Hyperlegible" in row or "Noto-Sans" in row, row
        assert " yes yes yes " in row, row  # embedded, subset, with a Unicode map


def test_large_print_has_no_text_under_16pt_and_no_italics(built):
    for slug in LEAFLETS:
        chars = [c for c in pdf_chars(output_file(built, slug, "large_print")) if c.get_text().strip()]
        assert chars
        assert min(round(c.size, 1) for c in chars) >= 16
        assert not [c.fontname for c in chars if re.search("italic|oblique", c.fontname, re.I)]


def test_print_body_text_is_at_least_12pt(built):
    chars = [c for c in pdf_chars(output_file(built, "poem-achalasia", "print")) if c.get_text().strip()]
    body_size, _ = Counter(round(c.size) for c in chars).most_common(1)[0]
    assert body_size >= 12
    large = [c for c in pdf_chars(output_file(built, "poem-achalasia", "large_print")) if c.get_text().strip()]
    assert Counter(round(c.size) for c in large).most_common(1)[0][0] >= 18


def test_printed_links_show_where_they_lead(built):
    text = " ".join(pdf_pages(output_file(built, "knee-replacement", "print")))
    assert "NHS website (www.nhs.uk/conditions/knee-replacement)" in text


def test_fonts_come_from_the_project_not_the_machine(built):
    css = (ROOT / "layouts" / "leaflet.css.j2").read_text()
    for url in re.findall(r'url\("\{\{ fonts \}\}/([^"]+)"\)', css):
        assert (ROOT / "fonts" / url).is_file(), url
    assert (ROOT / "fonts" / "atkinson-hyperlegible" / "OFL.txt").is_file()
    assert (ROOT / "fonts" / "noto-sans" / "OFL.txt").is_file()


# -- Audio ---------------------------------------------------------------------


def chapters(path: Path) -> list:
    tags = ID3(path)
    return sorted(tags.getall("CHAP"), key=lambda c: c.start_time)


@pytest.mark.parametrize("slug", LEAFLETS)
def test_mp3_duration_matches_the_script(built, slug):
    audio = MP3(output_file(built, slug, "audio"))
    words = len(output_file(built, slug, "audio_script").read_text().split())
    minutes = audio.info.length / 60
    # Speech at 155 words a minute with pauses: between 90 and 200 words a minute overall.
    assert 90 <= words / minutes <= 200, (words, audio.info.length)
    assert audio.info.channels == 1


@pytest.mark.parametrize("slug", LEAFLETS)
def test_mp3_has_one_chapter_per_section_plus_introduction_and_ending(built, slug):
    path = output_file(built, slug, "audio")
    found = chapters(path)
    sections = [h.text for h in headings(slug) if h.level == 2]
    assert [c.sub_frames["TIT2"].text[0] for c in found] == ["Introduction", *sections, "Contact and review dates"]
    assert found[0].start_time == 0
    for before, after in zip(found, found[1:], strict=False):
        assert before.end_time == after.start_time
        assert before.start_time < before.end_time
    assert abs(found[-1].end_time / 1000 - MP3(path).info.length) < 0.5
    (toc,) = ID3(path).getall("CTOC")
    assert toc.child_element_ids == [c.element_id for c in found]


def test_mp3_tags_carry_title_and_stamp(built):
    tags = ID3(output_file(built, "poem-achalasia", "audio"))
    assert tags["TIT2"].text == ["POEM surgery for achalasia"]
    assert tags["TPE1"].text == ["Example Community Health Trust"]
    assert tags["TALB"].text == ["Patient information leaflets"]
    assert tags["TLAN"].text == ["eng"]
    assert str(tags["TDRC"].text[0]) == "2022"
    comments = {frame.desc: frame.text for frame in tags.getall("COMM")}
    assert comments[""] == ["Resource number: 4853/VER2 · Last reviewed: June 2022 · Next review: June 2025"]
    assert comments["voice"] == [f"Read by {custom_voice(tags)} ({voice_credit(voice_of(tags))})"]
    custom = {frame.desc: frame.text[0] for frame in tags.getall("TXXX")}
    assert custom["resource_number"] == "4853/VER2"
    assert custom["last_reviewed"] == "2022-06"
    assert custom["next_review"] == "2025-06"
    assert tags.version[:2] == (2, 4)


def custom_voice(tags) -> str:
    return str(tags["TXXX:voice"])


def voice_of(tags):
    from leafpress.speech.voices import Voice

    engine, _, name = custom_voice(tags).partition(":")
    return Voice(engine, name, "")


def test_mp3_is_mono_speech_at_the_set_bit_rate(built):
    path = output_file(built, "poem-achalasia", "audio")
    info = MP3(path).info
    assert (info.channels, info.bitrate) == (1, 64000)
    assert info.sample_rate in (16000, 22050, 24000)  # the voice's own rate, never resampled


def test_audio_script_opens_with_title_stamp_and_reads_numbers_as_people_do(built):
    script = output_file(built, "knee-replacement", "audio_script").read_text()
    opening = script.split("\n\n")[0]
    assert "Knee replacement and recovery." in opening
    assert "Resource number 1 2 3 4, slash, V E R 1. Last reviewed January 2025. Next review January 2028." in opening
    assert re.search(r"This recording lasts about \d+ minutes?\.", opening)
    assert "call 9 9 9 at once" in script and "999" not in script
    assert "N H S 1 1 1" in script
    assert "0 1 1 4, 2 7 1, 1 9 0 0" in script
    assert "between 7:30 am and 5 pm" in script
    assert "paracetamol 500 milligrams" in script
    assert script.rstrip().endswith("End of recording.")


def test_audio_script_is_what_was_spoken_in_order(built):
    """The chapter boundaries fall where the script's blank lines are."""
    script = output_file(built, "poem-achalasia", "audio_script").read_text()
    blocks = script.strip().split("\n\n")
    found = chapters(output_file(built, "poem-achalasia", "audio"))
    assert len(blocks) == len(found)
    for block, chapter in zip(blocks[1:-1], found[1:-1], strict=True):
        assert block.splitlines()[0].rstrip(".") == chapter.sub_frames["TIT2"].text[0].replace("POEM", "Poem")


# -- Manifest ------------------------------------------------------------------


def test_manifest_lists_every_leaflet_with_relative_paths_that_exist(built):
    out = built["out"]
    entries = built["manifest"]["leaflets"]
    assert {e["slug"] for e in entries} == set(LEAFLETS)
    for entry in entries:
        assert set(entry) == {"slug", "source", "title", "language", "resource_number", "last_reviewed",
                              "next_review", "review_status", "outputs", "voice"}  # voice: whoever read the audio
        assert set(entry["outputs"]) == {"print", "large_print", "docx", "audio", "audio_script", "translation_brief", "xliff", "braille", "epub",
                                         "html"}
        for key, relative in entry["outputs"].items():
            if relative is None:  # no braille table for the language yet: the build said so
                assert key == "braille" and entry["language"] in ("ar", "ur", "bn", "zh-Hans")
                continue
            assert not Path(relative).is_absolute()
            assert (out / relative).is_file()
        language = "" if entry["source"].endswith(f"{entry['slug']}.md") else f".{entry['language']}"
        assert (out / entry["source"]).resolve() == LEAFLETS[entry["slug"]].resolve().with_name(f"{entry['slug']}{language}.md")
    assert len(entries) == len(LEAFLETS) + 5  # the knee leaflet's five translations in tests/fixtures
    example = built["by_slug"]["poem-achalasia"]
    assert (example["resource_number"], example["last_reviewed"], example["next_review"]) == ("4853/VER2", "2022-06", "2025-06")
    assert example["review_status"] == "overdue"
    assert built["by_slug"]["knee-replacement"]["review_status"] == "ok"


def test_overdue_example_warns_during_the_build(built):
    assert "poem-achalasia.md:6: warning: review overdue since June 2025" in built["result"].stderr
    assert "Audio saved" not in built["result"].stdout
