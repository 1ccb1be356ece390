"""Plain-language lint: reading age, long sentences, alt text; warnings by default, failures with --strict."""

from __future__ import annotations

import re
import shutil

import pytest

from leafpress.lint import MAX_SENTENCE_WORDS, lint, words
from leafpress.reader import read_leaflet

from .conftest import FIXTURES, VALID_FRONT, run_cli, write_leaflet

EASY = "You can go home the same day. " * 16  # 112 words, short and common
HARD = ("Postoperative gastrointestinal complications necessitate comprehensive multidisciplinary evaluation "
        "and individualised pharmacological management. ") * 10  # 110 words, long and rare
LONG_SENTENCE = ("After your operation a nurse will check your wound every day and help you to get out of bed "
                 "so that you can walk to the bathroom on your own again.")  # 31 words
NO_WARNINGS = "2026-01-01"


def leaflet(tmp_path, body: str, front: str = VALID_FRONT, name: str = "leaflet.md"):
    return read_leaflet(write_leaflet(tmp_path, name, body=body, front=front))


def messages(found) -> list[str]:
    return [f"{p.line}: {p.message}" for p in found]


def test_word_count_of_the_long_sentence():
    assert len(words(LONG_SENTENCE)) == 31
    assert words("It's a 24-hour line, isn’t it?") == ["It's", "a", "24-hour", "line", "isn’t", "it"]


def test_easy_text_passes(tmp_path):
    assert lint(leaflet(tmp_path, f"## About\n\n{EASY}\n")) == []


def test_hard_text_gets_a_reading_age_warning_naming_the_hardest_section(tmp_path):
    found = lint(leaflet(tmp_path, f"Opening text.\n\n## Easy part\n\n{EASY}\n\n## Hard part\n\n{HARD}\n"))
    assert len(found) == 1
    assert found[0].line == 7  # the first paragraph of the body
    assert found[0].message.startswith("warning: reading age about ")
    assert ", over 11; NHS guidance aims for 9 to 11: use shorter sentences and everyday words" in found[0].message
    assert re.search(r"\(hardest section: 'Hard part' on line 13, reading age about \d+\)$", found[0].message)


def test_reading_age_limit_can_be_raised(tmp_path):
    hard = leaflet(tmp_path, f"## Hard part\n\n{HARD}\n")
    assert lint(hard, max_reading_age=60) == []
    assert len(lint(hard, max_reading_age=11)) == 1


def test_short_or_non_english_text_is_not_given_a_reading_age(tmp_path):
    assert lint(leaflet(tmp_path, f"## Hard part\n\n{HARD[:300]}\n")) == []  # under 100 words
    front = VALID_FRONT + "language: pl\n"
    assert lint(leaflet(tmp_path, f"## Hard part\n\n{HARD}\n", front=front, name="leaflet.pl.md")) == []


def test_long_sentences_are_found_in_paragraphs_lists_and_callouts(tmp_path):
    body = f"## About\n\nShort one. {LONG_SENTENCE}\n\n- {LONG_SENTENCE}\n\n> {LONG_SENTENCE}\n"
    assert messages(lint(leaflet(tmp_path, body))) == [
        f"{line}: warning: a sentence of 31 words (over 25): 'After your operation a nurse will check your …'; "
        "split it into shorter sentences"
        for line in (9, 11, 13)
    ]


def test_a_sentence_of_exactly_25_words_passes(tmp_path):
    sentence = " ".join(LONG_SENTENCE.split()[:MAX_SENTENCE_WORDS]) + "."
    assert len(words(sentence)) == MAX_SENTENCE_WORDS
    assert lint(leaflet(tmp_path, f"## About\n\n{sentence}\n")) == []


@pytest.mark.parametrize("alt", ["image", "Diagram.", "diagram.png", "IMG_0042.JPG"])
def test_alt_text_that_says_nothing_is_a_warning(tmp_path, alt):
    shutil.copytree(FIXTURES / "images", tmp_path / "images")
    found = lint(leaflet(tmp_path, f"## About\n\nText.\n\n![{alt}](images/diagram.png)\n"))
    assert messages(found) == [
        f"11: warning: alt text '{alt}' does not say what the picture shows; describe it for someone who cannot see it"
    ]


def test_descriptive_alt_text_passes(tmp_path):
    shutil.copytree(FIXTURES / "images", tmp_path / "images")
    assert lint(leaflet(tmp_path, "## About\n\nText.\n\n![A diagram of the knee joint](images/diagram.png)\n")) == []


# Through the command line -----------------------------------------------------------


def test_check_prints_warnings_and_passes_unless_strict(tmp_path):
    path = write_leaflet(tmp_path / "src", "long.md", body=f"## About\n\n{LONG_SENTENCE}\n").resolve()
    warning = (f"{path}:9: warning: a sentence of 31 words (over 25): 'After your operation a nurse will check your …'; "
               "split it into shorter sentences")
    result = run_cli("check", path, "--today", NO_WARNINGS)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [warning]
    assert result.stdout == "Checked 1 leaflet: 0 with errors, 1 valid; 1 plain-language warning\n"
    strict = run_cli("check", path, "--today", NO_WARNINGS, "--strict")
    assert strict.returncode == 1
    assert strict.stderr.splitlines() == [warning]
    assert strict.stdout == "Checked 1 leaflet: 0 with errors, 1 valid; 1 plain-language warning (--strict)\n"


def test_check_max_reading_age_option(tmp_path):
    path = write_leaflet(tmp_path / "src", "hard.md", body=f"## About\n\n{HARD}\n").resolve()
    assert "reading age about" in run_cli("check", path, "--today", NO_WARNINGS).stderr
    relaxed = run_cli("check", path, "--today", NO_WARNINGS, "--strict", "--max-reading-age", "60")
    assert relaxed.returncode == 0, relaxed.stderr
    assert relaxed.stderr == ""


def test_missing_alt_text_is_an_error_even_without_strict(tmp_path):
    shutil.copytree(FIXTURES / "images", tmp_path / "src" / "images")
    path = write_leaflet(tmp_path / "src", "noalt.md", body="## About\n\nText.\n\n![](images/diagram.png)\n").resolve()
    result = run_cli("check", path, "--today", NO_WARNINGS)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:11: image 'images/diagram.png' has no alt text; describe it: ![what the picture shows](images/diagram.png)"
    ]
