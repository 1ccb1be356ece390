"""Every class of bad input gets exactly one `<file>:<line>: <what is wrong, and how to fix it>` line.

With VALID_FRONT the front matter takes lines 1-6 ('---', four keys, '---'), so a body
written as "Intro.\\n\\n<problem>" puts the problem on line 9.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leafpress.errors import InputError
from leafpress.reader import read_leaflet
from leafpress.settings import LAYOUTS_DIR, load_settings

from .conftest import FIXTURES, VALID_FRONT, write_leaflet


def problems(path: Path) -> list[str]:
    """The lines the reader reports for a bad source (it must refuse it)."""
    with pytest.raises(InputError) as info:
        read_leaflet(path)
    lines = [str(p) for p in info.value.problems]
    assert str(info.value) == "\n".join(lines)
    return lines


def front_with(old: str, new: str) -> str:
    assert old in VALID_FRONT
    return VALID_FRONT.replace(old, new)


# Front matter -----------------------------------------------------------------


def test_no_front_matter(tmp_path):
    path = tmp_path / "leaflet.md"
    path.write_text("## About your operation\n\nSome text.\n", encoding="utf-8")
    assert problems(path) == [
        f"{path}:1: no front matter; start the file with a line '---', the title, resource number and review dates, then '---'"
    ]


def test_unclosed_front_matter(tmp_path):
    path = tmp_path / "leaflet.md"
    path.write_text("---\ntitle: Test leaflet\nresource_number: 1/VER1\n\nSome text.\n", encoding="utf-8")
    assert problems(path) == [f"{path}:1: the front matter is never closed; add a line '---' after its last key"]


def test_invalid_yaml_reports_the_line_of_the_problem(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", front=VALID_FRONT + "department: Cardiology: ward 3\n")
    assert problems(path) == [
        f"{path}:6: front matter is not valid YAML; write one 'key: value' per line (mapping values are not allowed in this context)"
    ]


def test_front_matter_that_is_not_a_mapping(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", front="- title\n- resource_number\n")
    assert problems(path) == [
        f"{path}:2: the front matter must be 'key: value' lines (title, resource_number, last_reviewed, next_review)"
    ]


@pytest.mark.parametrize("key", ["title", "resource_number", "last_reviewed", "next_review"])
def test_missing_required_key(tmp_path, key):
    front = "".join(line + "\n" for line in VALID_FRONT.splitlines() if not line.startswith(f"{key}:"))
    assert front.count("\n") == 3
    path = write_leaflet(tmp_path, "leaflet.md", front=front)
    assert problems(path) == [f"{path}:2: missing '{key}'; add a line '{key}: …' to the front matter"]


def test_unknown_key_is_reported_at_its_line(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", front=front_with("title: Test leaflet\n", "title: Test leaflet\ndepartmnet: Cardiology\n"))
    assert problems(path) == [
        f"{path}:3: unknown key 'departmnet'; the keys are title, resource_number, last_reviewed, next_review, "
        "subtitle, language, department, do_not_translate"
    ]


@pytest.mark.parametrize("value", ["2028-13", "next spring", "Mrach 2028", "2028-02-30"])
def test_bad_date(tmp_path, value):
    path = write_leaflet(tmp_path, "leaflet.md", front=front_with("next_review: 2028-03", f"next_review: {value}"))
    assert problems(path) == [f"{path}:5: 'next_review: {value}' is not a date; write it as YYYY-MM, YYYY-MM-DD or 'June 2022'"]


@pytest.mark.parametrize(
    ("next_review", "shown"),
    [("2024-12", "December 2024"), ("2025-03", "March 2025"), ("2025-03-31", "March 2025")],
)
def test_next_review_not_after_last_reviewed(tmp_path, next_review, shown):
    path = write_leaflet(tmp_path, "leaflet.md", front=front_with("next_review: 2028-03", f"next_review: {next_review}"))
    assert problems(path) == [
        f"{path}:5: next_review ({shown}) must be later than last_reviewed (March 2025); correct one of them"
    ]


def test_bad_language_tag(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", front=VALID_FRONT + "language: English (UK)\n")
    assert problems(path) == [f"{path}:6: language 'English (UK)' is not a BCP 47 tag; write e.g. en-GB, pl or pt-BR"]


@pytest.mark.parametrize("key", ["subtitle", "department"])
def test_optional_text_key_that_is_not_text(tmp_path, key):
    path = write_leaflet(tmp_path, "leaflet.md", front=VALID_FRONT + f"{key}: [Cardiology, Surgery]\n")
    assert problems(path) == [f"{path}:6: '{key}' must be a line of text"]


def test_duplicate_key_is_not_silently_ignored(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", front=VALID_FRONT + "title: Another title\n")
    lines = problems(path)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:6: ")
    assert "'title'" in lines[0]


def test_control_character_in_front_matter_is_reported_at_its_line(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", front=VALID_FRONT + "department: Card\x07iology\n")
    assert problems(path) == [f"{path}:6: control character U+0007 is not allowed in a leaflet; delete it"]


def test_a_carriage_return_alone_is_refused_but_crlf_line_ends_are_fine(tmp_path):
    """Markdown counts a lone CR as a line break, so every later error would name the wrong line."""
    path = tmp_path / "leaflet.md"
    path.write_bytes(f"---\r\n{VALID_FRONT}---\r\nSome text.\r\n\r\nMore\rtext.\r\n".encode())
    assert problems(path) == [f"{path}:9: control character U+000D is not allowed in a leaflet; delete it"]
    path.write_bytes(path.read_bytes().replace(b"More\rtext", b"More text"))
    assert read_leaflet(path).meta.title == "Test leaflet"


# The file itself ----------------------------------------------------------------


def test_empty_body(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="\n\n")
    assert problems(path) == [
        f"{path}:7: the leaflet has no text after the front matter; write its content below the closing '---'"
    ]


def test_non_utf8_bytes_are_reported_at_their_line(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="Intro.\n\nPLACEHOLDER opens at 8am.\n")
    path.write_bytes(path.read_bytes().replace(b"PLACEHOLDER", "Café".encode("latin-1")))
    assert problems(path) == [f"{path}:9: byte 0xe9 is not UTF-8; save the file as UTF-8"]


@pytest.mark.parametrize("name", ["Knee_Surgery.md", "knee surgery.md", "knee.surgery.notes.md", "knee-.md"])
def test_bad_file_name(tmp_path, name):
    path = write_leaflet(tmp_path, name)
    assert problems(path) == [
        f"{path}:1: file name '{name}' is not <slug>.md or <slug>.<lang>.md; "
        "use lowercase letters, digits and hyphens, e.g. knee-surgery.md or knee-surgery.pl.md"
    ]


def test_oversized_source(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="Drink plenty of water. " * 45_000)
    size = path.stat().st_size
    assert size > 1_000_000
    assert problems(path) == [
        f"{path}:1: the file is {size:,} bytes, over the 1,000,000-byte limit; split it into smaller leaflets"
    ]


# Markdown body --------------------------------------------------------------------


def test_raw_html_block(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body='Intro.\n\n<div class="box">Call us</div>\n')
    assert problems(path) == [f"{path}:9: raw HTML is not allowed; write it in Markdown (## headings, lists, **bold**, > callouts)"]


def test_inline_html(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="Intro.\n\nCall us<br>today.\n")
    assert problems(path) == [f"{path}:9: raw HTML '<br>' is not allowed; write it in Markdown"]


@pytest.mark.parametrize(
    ("heading", "level", "fix"),
    [("# About you", 1, "the title comes from the front matter"), ("#### Details", 4, "use ### at most")],
)
def test_unsupported_heading_level(tmp_path, heading, level, fix):
    path = write_leaflet(tmp_path, "leaflet.md", body=f"Intro.\n\n{heading}\n\nText.\n")
    assert problems(path) == [
        f"{path}:9: heading level {level} is not supported; use ## for a section and ### for a subsection ({fix})"
    ]


def test_italics(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="Intro.\n\nThis is *very* important.\n")
    assert problems(path) == [f"{path}:9: italics are hard to read for people with low vision; use **bold** for emphasis"]


@pytest.mark.parametrize("line_break", ["  \n", "\\\n"], ids=["two-spaces", "backslash"])
def test_hard_line_break(tmp_path, line_break):
    path = write_leaflet(tmp_path, "leaflet.md", body=f"Intro.\n\nWard 3{line_break}Floor 2.\n")
    assert problems(path) == [
        f"{path}:9: a line break inside a paragraph confuses translation tools; start a new paragraph or use a list"
    ]


def test_code_fence(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="Intro.\n\n```\nsome code\n```\n")
    assert problems(path) == [
        f"{path}:9: a code block is not supported in a leaflet; remove it, or use a paragraph, list or '>' callout"
    ]


def test_horizontal_rule(tmp_path):
    path = write_leaflet(tmp_path, "leaflet.md", body="Intro.\n\n***\n\nMore text.\n")
    assert problems(path) == [
        f"{path}:9: a horizontal rule is not supported in a leaflet; remove it, or use a paragraph, list or '>' callout"
    ]


@pytest.fixture
def with_image(tmp_path) -> Path:
    """A source folder holding images/diagram.png; returns the folder."""
    folder = tmp_path / "source"
    (folder / "images").mkdir(parents=True)
    shutil.copy(FIXTURES / "images" / "diagram.png", folder / "images" / "diagram.png")
    return folder


def test_image_without_alt_text(with_image):
    path = write_leaflet(with_image, "leaflet.md", body="Intro.\n\n![](images/diagram.png)\n")
    assert problems(path) == [
        f"{path}:9: image 'images/diagram.png' has no alt text; describe it: ![what the picture shows](images/diagram.png)"
    ]


def test_image_outside_the_source_folder(with_image, tmp_path):
    shutil.copy(FIXTURES / "images" / "diagram.png", tmp_path / "outside.png")
    path = write_leaflet(with_image, "leaflet.md", body="Intro.\n\n![A diagram](../outside.png)\n")
    assert problems(path) == [
        f"{path}:9: image '../outside.png' is outside the source folder {with_image.resolve()}; copy it into that folder"
    ]


def test_missing_image(with_image):
    path = write_leaflet(with_image, "leaflet.md", body="Intro.\n\n![A diagram](images/diagam.png)\n")
    assert problems(path) == [f"{path}:9: image 'images/diagam.png' does not exist; check the path (relative to {with_image})"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("diagram.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("diagram.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("fake.png", b"this is not a picture at all\n"),  # the name says PNG, the bytes do not
    ],
)
def test_image_of_the_wrong_type(with_image, name, content):
    (with_image / "images" / name).write_bytes(content)
    path = write_leaflet(with_image, "leaflet.md", body=f"Intro.\n\n![A diagram](images/{name})\n")
    assert problems(path) == [
        f"{path}:9: image 'images/{name}' is not PNG or JPEG; save it as one of those (every output can embed them)"
    ]


@pytest.mark.parametrize("href", ["knee-surgery.md", "/leaflets/knee", "#contact", "www.example.org"])
def test_relative_link(tmp_path, href):
    path = write_leaflet(tmp_path, "leaflet.md", body=f"Intro.\n\nSee [our other leaflet]({href}).\n")
    assert problems(path) == [
        f"{path}:9: link '{href}' cannot be followed from a printed leaflet; use a full https:// address, mailto: or tel:"
    ]


def test_every_problem_is_listed_once_in_line_order(tmp_path):
    body = "Intro with *italics*.\n\n## Section\n\n#### Too deep\n\nSee [this](other.md).\n"
    path = write_leaflet(tmp_path, "leaflet.md", body=body)
    assert problems(path) == [
        f"{path}:7: italics are hard to read for people with low vision; use **bold** for emphasis",
        f"{path}:11: heading level 4 is not supported; use ## for a section and ### for a subsection (use ### at most)",
        f"{path}:13: link 'other.md' cannot be followed from a printed leaflet; use a full https:// address, mailto: or tel:",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Intro.\n\nThis paragraph\nhas *italics* on its second line.\n",
            "italics are hard to read for people with low vision; use **bold** for emphasis",
        ),
        (
            "Intro.\n\n- first item\n  continues with [a link](other.md)\n",
            "link 'other.md' cannot be followed from a printed leaflet; use a full https:// address, mailto: or tel:",
        ),
        (
            "Intro.\n\n> Call us\n> on <b>999</b>\n",
            "raw HTML '<b>' is not allowed; write it in Markdown",
        ),
    ],
    ids=["paragraph", "list-item", "callout"],
)
def test_inline_problem_is_reported_at_its_own_line_not_the_paragraphs_first(tmp_path, body, message):
    path = write_leaflet(tmp_path, "leaflet.md", body=body)
    assert problems(path)[0] == f"{path}:10: {message}"


# Settings -------------------------------------------------------------------------


@pytest.fixture
def settings_file(tmp_path) -> Path:
    """A copy of the shipped settings (and the logo they name) in a folder of its own."""
    folder = tmp_path / "layouts"
    folder.mkdir()
    shutil.copy(LAYOUTS_DIR / "settings.yaml", folder / "settings.yaml")
    shutil.copy(LAYOUTS_DIR / "logo.svg", folder / "logo.svg")
    return folder / "settings.yaml"


def edit(path: Path, old: str, new: str) -> int:
    """Replace one line of the settings; returns the (1-based) line the new text starts on."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def settings_problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_settings(path)
    return [str(p) for p in info.value.problems]


def test_shipped_settings_copy_is_valid(settings_file):
    settings = load_settings(settings_file)
    assert settings.layouts_dir == settings_file.parent
    assert settings.logo_path == settings_file.parent / "logo.svg"


def test_unknown_setting(settings_file):
    line = edit(settings_file, "  bitrate_kbps: 64\n", "  speed: 3\n  bitrate_kbps: 64\n")
    assert settings_problems(settings_file) == [
        f"{settings_file}:{line}: unknown setting 'audio.speed'; the settings here are "
        "rate, voice, voices, sentence_pause_ms, item_pause_ms, section_pause_ms, bitrate_kbps"
    ]


def test_low_contrast_text_colour(settings_file):
    line = edit(settings_file, '  text: "#1A1A1A"', '  text: "#999999"')
    assert settings_problems(settings_file) == [
        f"{settings_file}:{line}: colours.text #999999 on colours.background #FFFFFF has contrast 2.85:1, "
        "under the WCAG AA minimum of 4.5:1; choose a darker or lighter colour",
        f"{settings_file}:{line}: colours.text #999999 on colours.callout_background #FFF4C2 has contrast 2.57:1, "
        "under the WCAG AA minimum of 4.5:1; choose a darker or lighter colour",
    ]


def test_large_print_body_size_below_16(settings_file):
    line = edit(settings_file, "  body_size: 18", "  body_size: 14")
    assert settings_problems(settings_file) == [
        f"{settings_file}:{line}: large_print.body_size must be at least 16 pt (RNIB Clear Print); 18 is recommended"
    ]


def test_overdue_fails_must_be_true_or_false(settings_file):
    line = edit(settings_file, "  overdue_fails: false", "  overdue_fails: sometimes")
    assert settings_problems(settings_file) == [f"{settings_file}:{line}: 'reviews.overdue_fails' must be true or false, not 'sometimes'"]
