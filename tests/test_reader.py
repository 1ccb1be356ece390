"""Unit tests of the source reader: the model it builds, the dates it accepts, review status, translations."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from leafpress.errors import InputError
from leafpress.model import (
    Bold,
    Callout,
    Heading,
    Image,
    Link,
    ListBlock,
    ListItem,
    Paragraph,
    ReviewDate,
    Table,
    Text,
    review_status,
)
from leafpress.reader import parse_review_date, read_leaflet

from .conftest import FIXTURES, VALID_FRONT, stamp, write_leaflet

EVERY_CONSTRUCT_FRONT = """\
title: Every construct
subtitle: A subtitle
resource_number: 42/VER3
last_reviewed: June 2024
next_review: 2027-06-30
department: Cardiology
"""

# The front matter above takes lines 1-8, so this body starts on line 9.
EVERY_CONSTRUCT_BODY = """\
Opening text with **bold words** and a [link to us](https://example.org/help).

## Before you come in

Bring these things:

- your letter
  - the top copy
  - a photocopy
- your medicines

### On the day

3. Arrive early.
4. Report to **reception**.

| Time | What happens |
|---|---|
| 8am | You arrive |
| 9am | **Surgery** |

> Do not eat after midnight.

![A map of the ward](images/map.png)
"""


def para(text: str, line: int) -> Paragraph:
    return Paragraph((Text(text),), line)


@pytest.fixture
def every_construct(tmp_path):
    (tmp_path / "images").mkdir()
    shutil.copy(FIXTURES / "images" / "diagram.png", tmp_path / "images" / "map.png")
    return write_leaflet(tmp_path, "every-construct.md", body=EVERY_CONSTRUCT_BODY, front=EVERY_CONSTRUCT_FRONT)


def test_every_construct_becomes_the_expected_blocks(every_construct, tmp_path):
    leaflet = read_leaflet(every_construct)
    expected = (
        Paragraph(
            (
                Text("Opening text with "),
                Bold((Text("bold words"),)),
                Text(" and a "),
                Link("https://example.org/help", (Text("link to us"),)),
                Text("."),
            ),
            9,
        ),
        Heading(2, (Text("Before you come in"),), 11),
        para("Bring these things:", 13),
        ListBlock(
            False,
            (
                ListItem((
                    para("your letter", 15),
                    ListBlock(False, (ListItem((para("the top copy", 16),)), ListItem((para("a photocopy", 17),))), 1, 16),
                )),
                ListItem((para("your medicines", 18),)),
            ),
            1,
            15,
        ),
        Heading(3, (Text("On the day"),), 20),
        ListBlock(
            True,
            (
                ListItem((para("Arrive early.", 22),)),
                ListItem((Paragraph((Text("Report to "), Bold((Text("reception"),)), Text(".")), 23),)),
            ),
            3,
            22,
        ),
        Table(
            ((Text("Time"),), (Text("What happens"),)),
            (
                ((Text("8am"),), (Text("You arrive"),)),
                ((Text("9am"),), (Bold((Text("Surgery"),)),)),
            ),
            25,
        ),
        Callout((para("Do not eat after midnight.", 30),), 30),
        Image((tmp_path / "images" / "map.png").resolve(), "A map of the ward", 32),
    )
    assert leaflet.blocks == expected


def test_every_construct_metadata(every_construct):
    leaflet = read_leaflet(every_construct)
    meta = leaflet.meta
    assert meta.title == "Every construct"
    assert meta.subtitle == "A subtitle"
    assert meta.resource_number == "42/VER3"
    assert meta.last_reviewed == ReviewDate(2024, 6)
    assert meta.next_review == ReviewDate(2027, 6, 30)  # an unquoted YAML date
    assert meta.language == "en-GB"
    assert meta.department == "Cardiology"
    assert stamp(leaflet) == "Resource number: 42/VER3 · Last reviewed: June 2024 · Next review: June 2027"
    assert leaflet.slug == "every-construct"
    assert leaflet.stem == "every-construct"
    assert leaflet.is_primary
    assert dict(leaflet.key_lines) == {
        "title": 2, "subtitle": 3, "resource_number": 4, "last_reviewed": 5, "next_review": 6, "department": 7,
    }


def test_sections_split_at_level_two_headings(every_construct):
    sections = list(read_leaflet(every_construct).sections())
    assert [s.heading.text if s.heading else None for s in sections] == [None, "Before you come in"]
    assert [type(b).__name__ for b in sections[1].blocks] == ["Paragraph", "ListBlock", "Heading", "ListBlock", "Table", "Callout", "Image"]


def test_soft_line_breaks_join_into_one_text_span(tmp_path):
    path = write_leaflet(tmp_path, "soft.md", body="First line\nsecond line\nthird line.\n")
    assert read_leaflet(path).blocks == (para("First line second line third line.", 7),)


def test_bom_and_crlf_do_not_change_the_model_or_line_numbers(tmp_path):
    body = "Intro.\n\n## A section\n\n- one\n- two\n"
    plain = write_leaflet(tmp_path / "plain", "leaflet.md", body=body)
    windows = tmp_path / "windows" / "leaflet.md"
    windows.parent.mkdir()
    windows.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n"))
    expected = (
        para("Intro.", 7),
        Heading(2, (Text("A section"),), 9),
        ListBlock(False, (ListItem((para("one", 11),)), ListItem((para("two", 12),))), 1, 11),
    )
    assert read_leaflet(plain).blocks == expected
    assert read_leaflet(windows).blocks == expected


def test_html_entities_are_literal_text(tmp_path):
    path = write_leaflet(tmp_path, "entities.md", body="Fish &amp; chips &lt;b&gt;\n")
    assert read_leaflet(path).blocks == (para("Fish & chips <b>", 7),)


# Review dates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06", ReviewDate(2025, 6)),
        ("2025-06-30", ReviewDate(2025, 6, 30)),
        ("2025-6", ReviewDate(2025, 6)),
        (" 2025-06 ", ReviewDate(2025, 6)),
        ("June 2025", ReviewDate(2025, 6)),
        ("june 2025", ReviewDate(2025, 6)),
        ("Jun 2025", ReviewDate(2025, 6)),
        ("Sept 2025", ReviewDate(2025, 9)),
        ("30 June 2025", ReviewDate(2025, 6, 30)),
        ("1 February 2024", ReviewDate(2024, 2, 1)),
        ("29 February 2024", ReviewDate(2024, 2, 29)),
        (dt.date(2025, 6, 30), ReviewDate(2025, 6, 30)),
        (dt.datetime(2025, 6, 30, 9, 30), ReviewDate(2025, 6, 30)),
    ],
)
def test_accepted_dates(value, expected):
    assert parse_review_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2025-13",
        "2025-00",
        "2025-02-30",
        "2025-06-31",
        "31 June 2025",
        "29 February 2025",
        "Juno 2025",
        "Ju 2025",
        "June",
        "2025",
        "06/2025",
        "30/06/2025",
        "June 30, 2025",
        "2025-06-30T10:00",
        "next year",
        "",
        2025,
        None,
        True,
        ["2025-06"],
    ],
)
def test_rejected_dates(value):
    assert parse_review_date(value) is None


def test_review_date_display_and_iso():
    assert ReviewDate(2025, 6).display == "June 2025"
    assert ReviewDate(2025, 6).iso == "2025-06"
    assert ReviewDate(2025, 6, 3).display == "June 2025"
    assert ReviewDate(2025, 6, 3).iso == "2025-06-03"
    assert ReviewDate(2024, 2).deadline == dt.date(2024, 2, 29)
    assert ReviewDate(2025, 6, 3).deadline == dt.date(2025, 6, 3)


def test_front_matter_dates_in_every_accepted_form(tmp_path):
    front = VALID_FRONT.replace("last_reviewed: 2025-03", "last_reviewed: 30 June 2025").replace(
        "next_review: 2028-03", "next_review: '2028-06-30'"
    )
    meta = read_leaflet(write_leaflet(tmp_path, "dates.md", front=front)).meta
    assert (meta.last_reviewed, meta.next_review) == (ReviewDate(2025, 6, 30), ReviewDate(2028, 6, 30))


# Review status --------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_review", "today", "status"),
    [
        # Given to the month, the review is due by the month's last day (30 June 2025).
        (ReviewDate(2025, 6), "2024-01-01", "ok"),
        (ReviewDate(2025, 6), "2025-03-31", "ok"),  # 91 days before
        (ReviewDate(2025, 6), "2025-04-01", "due-soon"),  # 90 days before
        (ReviewDate(2025, 6), "2025-06-01", "due-soon"),
        (ReviewDate(2025, 6), "2025-06-30", "due-soon"),
        (ReviewDate(2025, 6), "2025-07-01", "overdue"),
        (ReviewDate(2025, 6), "2026-11-24", "overdue"),
        # Given to the day.
        (ReviewDate(2025, 6, 15), "2025-03-16", "ok"),
        (ReviewDate(2025, 6, 15), "2025-03-17", "due-soon"),
        (ReviewDate(2025, 6, 15), "2025-06-15", "due-soon"),
        (ReviewDate(2025, 6, 15), "2025-06-16", "overdue"),
        # February in a leap year ends on the 29th.
        (ReviewDate(2024, 2), "2024-02-29", "due-soon"),
        (ReviewDate(2024, 2), "2024-03-01", "overdue"),
    ],
)
def test_review_status_boundaries(next_review, today, status):
    assert review_status(next_review, dt.date.fromisoformat(today)) == status


# Translations ---------------------------------------------------------------


def test_translation_file_name_sets_the_language(tmp_path):
    leaflet = read_leaflet(write_leaflet(tmp_path, "knee-surgery.pl.md"))
    assert leaflet.meta.language == "pl"
    assert leaflet.slug == "knee-surgery"
    assert leaflet.stem == "knee-surgery.pl"
    assert not leaflet.is_primary


def test_translation_with_region_and_matching_language_key(tmp_path):
    leaflet = read_leaflet(write_leaflet(tmp_path, "knee-surgery.pt-BR.md", front=VALID_FRONT + "language: pt-BR\n"))
    assert leaflet.meta.language == "pt-BR"
    assert leaflet.slug == "knee-surgery"
    assert leaflet.stem == "knee-surgery.pt-BR"


def test_language_key_without_translation_name(tmp_path):
    leaflet = read_leaflet(write_leaflet(tmp_path, "knee-surgery.md", front=VALID_FRONT + "language: cy\n"))
    assert leaflet.meta.language == "cy"
    assert leaflet.is_primary
    assert leaflet.stem == "knee-surgery"


def test_language_defaults_to_british_english(tmp_path):
    assert read_leaflet(write_leaflet(tmp_path, "knee-surgery.md")).meta.language == "en-GB"


def test_language_key_that_contradicts_the_file_name_is_an_error(tmp_path):
    path = write_leaflet(tmp_path, "knee-surgery.pl.md", front=VALID_FRONT + "language: de\n")
    with pytest.raises(InputError) as info:
        read_leaflet(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:6: language 'de' does not match the file name's '.pl.md'; make them the same"
    ]
