"""The audio script and the speech engine: normalisation case by case, voices, real sound."""

from __future__ import annotations

import shutil

import pytest

from leafpress.errors import InputError, RenderError
from leafpress.languages.catalogue import catalogue_for
from leafpress.reader import read_leaflet
from leafpress.settings import LAYOUTS_DIR, AudioOptions, load_settings
from leafpress.speech import build_script, duration_sentence, split_sentences
from leafpress.speech.espeak import Synthesiser, espeak_voice
from leafpress.speech.normalise import Normaliser, load_pronunciations, spell_code

from .conftest import EXAMPLE, FIXTURES, ROOT, run_cli, write_leaflet

NORMALISATION_CASES = {
    # Phone numbers in digit groups, with a pause between groups.
    "london number": ("Phone: 020 7188 2673, Monday", "Phone: 0 2 0, 7 1 8 8, 2 6 7 3, Monday"),
    "sheffield number": ("call 0114 271 1900", "call 0 1 1 4, 2 7 1, 1 9 0 0"),
    "mobile number": ("text 07700 900123", "text 0 7 7 0 0, 9 0 0 1 2 3"),
    "international number": ("+44 (0)20 7188 2673", "plus 4 4, 2 0, 7 1 8 8, 2 6 7 3"),
    "extension": ("ext. 1234", "extension 1 2 3 4"),
    "999": ("call 999 now", "call 9 9 9 now"),
    "NHS 111": ("or NHS 111", "or N H S 1 1 1"),
    "bleep": ("bleep 0810", "bleep 0 8 1 0"),
    # Times.
    "9am": ("at 9am", "at 9 am"),
    "7.30am": ("at 7.30am", "at 7:30 am"),
    "7:30 p.m.": ("at 7:30 p.m. or later", "at 7:30 pm or later"),
    "10.05pm": ("by 10.05pm", "by 10 oh 5 pm"),
    "17:00": ("at 17:00", "at 5 pm"),
    "09:30": ("at 09:30", "at 9:30 am"),
    "12:00": ("at 12:00", "at midday"),
    "12pm": ("at 12pm", "at midday"),
    "00:00": ("at 00:00", "at midnight"),
    "at 9.30": ("come at 9.30", "come at 9:30"),
    "full stop after pm kept": ("Open until 5pm. Then call", "Open until 5 pm. Then call"),
    "full stop after p.m. kept": ("Open until 5 p.m. Then call", "Open until 5 pm. Then call"),
    # Dates.
    "written date": ("on 1 June 2025", "on 1st of June 2025"),
    "numeric date, day first": ("on 01/06/2025", "on 1st of June 2025"),
    "ISO date": ("on 2025-06-01", "on 1st of June 2025"),
    "short year": ("on 3/6/25", "on 3rd of June 2025"),
    "date without year": ("from 22 March", "from 22nd of March"),
    "not a date": ("on 45/13/2025", "on 45/13/2025"),
    # Ranges.
    "time range": ("9am to 5pm", "9 am to 5 pm"),
    "time range with dash": ("9am-5pm", "9 am to 5 pm"),
    "day range": ("Monday-Friday", "Monday to Friday"),
    "short day range": ("Mon–Fri", "Monday to Friday"),
    "nights": ("1 or 2 nights", "1 or 2 nights"),
    "days": ("3-4 days", "3 to 4 days"),
    "date range": ("1-3 June", "1st to 3rd of June"),
    "dose range": ("500mg–1g up to 4 times", "500 milligrams to 1 gram up to 4 times"),
    # Units and money.
    "mg": ("take 500mg", "take 500 milligrams"),
    "one gram": ("take 1g", "take 1 gram"),
    "half a milligram": ("Strength: 0.5 mg", "Strength: 0.5 milligrams"),
    "ml": ("5 ml spoon", "5 millilitres spoon"),
    "degrees": ("37.5°C", "37.5 degrees Celsius"),
    "per cent": ("50% of people", "50 per cent of people"),
    "hours": ("wait 2 hrs", "wait 2 hours"),
    "mmHg": ("120 mmHg", "120 millimetres of mercury"),
    "times a day": ("take 2 x a day", "take 2 times a day"),
    "pounds and pence": ("costs £5.50", "costs 5 pounds 50"),
    "pence": ("costs £0.50", "costs 50 pence"),
    # Symbols.
    "ampersand": ("salt & pepper", "salt and pepper"),
    "slash between words": ("he/she", "he or she"),
    "bullet": ("tea • coffee", "tea, coffee"),
    "less than": ("under < 5", "under less than 5"),
    "24/7": ("open 24/7", "open 24 hours a day, 7 days a week"),
    # Abbreviations.
    "A&E": ("go to A&E", "go to A-and-E"),
    "GP": ("see your GP", "see your G P"),
    "NHS": ("the NHS", "the N H S"),
    "e.g.": ("e.g. rest", "for example rest"),
    "i.e.": ("i.e. soon", "that is soon"),
    "etc. ending a sentence": ("pens, paper etc. Then", "pens, paper et cetera. Then"),
    "Dr.": ("see Dr. Patel", "see Dr Patel"),
    "No.": ("ward No. 5", "ward number 5"),
    # Web and email addresses.
    "email": ("email pals@example.org", "email pals at example dot org"),
    "web address": ("visit www.nhs.uk/conditions", "visit w w w dot N H S dot U K slash conditions"),
    "full web address": ("see https://www.nhs.uk/conditions/achalasia/", "see w w w dot N H S dot U K slash conditions slash achalasia"),
    "bare domain": ("see nhs.uk", "see N H S dot U K"),
    "hyphenated address": ("www.example.org/knee-care", "w w w dot example dot org slash knee dash care"),
    "address ending a sentence": ("Website: www.nhs.uk/warfarin. Then", "Website: w w w dot N H S dot U K slash warfarin. Then"),
    "bare domain ending a sentence": ("See nhs.uk/care.", "See N H S dot U K slash care."),
}


def words(language: str):
    """The shipped catalogue of a language, whose speech words the normaliser uses."""
    return catalogue_for(language, LAYOUTS_DIR)


@pytest.mark.parametrize(("text", "spoken"), NORMALISATION_CASES.values(), ids=NORMALISATION_CASES.keys())
def test_english_normalisation(text, spoken):
    assert Normaliser(words("en-GB"), {})(text) == spoken


def test_pronunciation_list_applies_before_synthesis_and_keeps_capitals():
    say = Normaliser(words("en-GB"), {"achalasia": "ackalaysia", "POEM": "Poem"})
    assert say("Achalasia and achalasia") == "Ackalaysia and ackalaysia"
    assert say("POEM surgery, a poem") == "Poem surgery, a poem"


BAD_PRONUNCIATIONS = {
    "not YAML": ("achalasia: ackalaysia\npoem: [a, b\n", 3, "the pronunciation list is not valid YAML"),
    "not a mapping": ("- achalasia\n", 1, "the pronunciation list must be 'word: how to say it' lines"),
    "word twice": ("achalasia: ackalaysia\nPOEM: Poem\nachalasia: ackalaysier\n", 3, "'achalasia' is listed twice"),
    "no respelling": ("achalasia: ackalaysia\n# a comment\nPOEM:\n", 3, "'POEM' has no respelling"),
    "respelling is a list": ("POEM:\n  - Poem\n", 1, "'POEM' has no respelling (or it is not plain text)"),
    "respelling is a number": ("NHS111: 111\n", 1, "'NHS111' has no respelling (or it is not plain text)"),
    "markup in respelling": ("POEM: \"[[p'oUIm]]\"\n", 1, "the respelling of 'POEM' must be plain words on one line"),
}


@pytest.mark.parametrize(("text", "line", "message"), BAD_PRONUNCIATIONS.values(), ids=BAD_PRONUNCIATIONS.keys())
def test_pronunciation_list_errors_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "pronunciations.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_pronunciations(path)
    assert str(caught.value).startswith(f"{path}:{line}: {message}"), str(caught.value)


def test_shipped_pronunciation_list_loads_and_respells_the_example_words():
    respellings = load_pronunciations(ROOT / "layouts" / "pronunciations.yaml")
    say = Normaliser(words("en-GB"), respellings)
    assert say("POEM (peroral endoscopic myotomy) for achalasia") == "Poem (per oral endoscopic myotomy) for ackalaysia"


def test_bad_pronunciation_list_fails_the_audio_with_its_line(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(ROOT / "layouts", layouts)
    (layouts / "pronunciations.yaml").write_text("achalasia: ackalaysia\nachalasia: again\n", encoding="utf-8")
    source = write_leaflet(tmp_path / "src", "short.md", "Some text.\n")
    result = run_cli("build", source, "--out", tmp_path / "out", "--formats", "audio", "--settings", layouts / "settings.yaml")
    assert result.returncode == 1
    assert f"{layouts / 'pronunciations.yaml'}:2: 'achalasia' is listed twice; keep one line for it" in result.stderr
    assert "Traceback" not in result.stderr


def test_english_rules_do_not_touch_other_languages_but_digits_are_still_grouped():
    said = Normaliser(words("pl"), {})("Zadzwoń pod 999 lub 020 7188 2673 (wew. 1234), 9:00–17:00, 500mg, www.nhs.uk.")
    assert said == "Zadzwoń pod 9 9 9 lub 0 2 0, 7 1 8 8, 2 6 7 3 (wew. 1 2 3 4), 9 do 17, 500mg, w w w kropka N H S kropka U K."


def test_resource_number_is_spelled_out():
    assert spell_code("4853/VER2", words("en-GB")) == "4 8 5 3, slash, V E R 2"
    assert spell_code("4853/VER2", words("pl")) == "4 8 5 3, ukośnik, V E R 2"


def test_sentences_split_for_the_engine():
    assert split_sentences("One thing. Two things! 3 more? yes.") == ["One thing.", "Two things!", "3 more? yes."]


def example_script():
    return build_script(read_leaflet(EXAMPLE), load_settings()).with_duration(290, 250)


def lines(chapter) -> list[str]:
    return [u.text for u in chapter.utterances]


def test_introduction_says_who_what_how_long_stamp_and_sections_in_order():
    intro = lines(example_script().chapters[0])
    assert intro[:8] == [
        "Example Community Health Trust.",
        "From the Upper gastrointestinal (G I) surgery team.",
        "Poem surgery for ackalaysia.",
        "Difficulty swallowing.",
        "This is an audio version of our patient information leaflet.",
        "This recording lasts about 5 minutes.",
        "Resource number 4 8 5 3, slash, V E R 2. Last reviewed June 2022. Next review June 2025.",
        "It has 5 sections: How Poem surgery can help, Risks of Poem surgery, Other treatment options, Consent and Contact us.",
    ]


@pytest.mark.parametrize(("seconds", "spoken"), [(20, "about 1 minute"), (89, "about 1 minute"), (91, "about 2 minutes"), (290, "about 5 minutes")])
def test_duration_sentence(seconds, spoken):
    assert duration_sentence(seconds, words("en-GB")) == f"This recording lasts {spoken}."


def test_ending_repeats_how_to_contact_the_team_and_the_stamp():
    ending = example_script().chapters[-1]
    assert ending.title == "Contact and review dates"
    text = lines(ending)
    assert text[0] == "How to contact us."
    assert "Phone: 0 2 0, 7 1 8 8, 2 6 7 3, Monday to Friday, 9 am to 5 pm." in text
    assert "Contact our Patient Advice and Liaison Service (Pals)." not in text  # a subsection of "Contact us", not the team
    assert text[-3:] == [
        "This was Poem surgery for ackalaysia.",
        "Resource number 4 8 5 3, slash, V E R 2. Last reviewed June 2022. Next review June 2025.",
        "End of recording.",
    ]
    assert any(t.startswith("You can also call the Example Community Health Trust switchboard on 0 2 0, 7 9 4 6, 0 0 0 0") for t in text)


def test_without_a_contact_section_the_ending_repeats_what_gives_a_number_or_address():
    ending = lines(build_script(read_leaflet(FIXTURES / "knee-replacement.md"), load_settings()).chapters[-1])
    assert ending[1:5] == [
        "Important.",
        "If you have chest pain or difficulty breathing, call 9 9 9 at once.",
        "For advice, call N H S 1 1 1 or the ward on 0 1 1 4, 2 7 1, 1 9 0 0 between 7:30 am and 5 pm.",
        "Read more on the N H S website or email ortho at example dot org.",
    ]


def test_headings_have_a_pause_before_and_after():
    script = example_script()
    section = load_settings().audio.section_pause_ms
    flat = [u for c in script.chapters for u in c.utterances]
    for heading in ("How Poem surgery can help.", "Heller’s Myotomy and fundoplication.", "How to contact us."):
        index = next(i for i, u in enumerate(flat) if u.text == heading)
        assert flat[index - 1].pause_after_ms == section, heading
        assert flat[index].pause_after_ms == section, heading


def test_lists_tables_and_callouts_are_read_as_such(tmp_path):
    body = """\
        Take these:

        - one tablet
        - two spoons

        | Colour | Strength |
        |---|---|
        | white | 0.5mg |

        > Do not drive.
        """
    script = build_script(read_leaflet(write_leaflet(tmp_path, "read-as.md", body)), load_settings())
    options = load_settings().audio
    said = [(u.text, u.pause_after_ms) for u in script.chapters[0].utterances]
    start = said.index(("Take these:", options.sentence_pause_ms))
    assert said[start + 1:start + 7] == [
        ("one tablet.", options.item_pause_ms),
        ("two spoons.", options.item_pause_ms),
        ("Colour: white.", options.sentence_pause_ms),
        ("Strength: 0.5 milligrams.", options.item_pause_ms),
        ("Important.", options.item_pause_ms),
        ("Do not drive.", options.section_pause_ms),  # the ending's heading follows
    ]


def test_espeak_voice_is_chosen_from_the_language():
    assert espeak_voice("en-GB").language == "en-gb"
    assert espeak_voice("pl").language == "pl"
    with pytest.raises(RenderError, match="no speech voice for language 'zz' is installed"):
        espeak_voice("zz")


def test_synthesiser_makes_real_sound():
    import numpy as np

    synthesiser = Synthesiser(espeak_voice("en-GB"), AudioOptions())
    try:
        samples = synthesiser.speak("Hello, this is a test.")
    finally:
        synthesiser.close()
    seconds = samples.size / synthesiser.sample_rate
    assert 0.8 < seconds < 5
    assert float(np.max(np.abs(samples))) > 0.1


def test_missing_voice_fails_only_the_audio(tmp_path):
    front = "title: Klingon test\nresource_number: 1/VER1\nlast_reviewed: 2025-03\nnext_review: 2028-03\nlanguage: zz\n"
    source = write_leaflet(tmp_path / "src", "no-voice.md", "Some text.\n", front)
    out = tmp_path / "out"
    result = run_cli("build", source, "--out", out, "--formats", "docx,audio")
    assert result.returncode == 1
    assert f"{source}: audio: no speech voice for language 'zz' is installed" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "no-voice" / "no-voice.docx").is_file()
    assert not (out / "no-voice" / "no-voice.mp3").exists()
    assert not list((out / "no-voice").glob(".*.tmp"))


def test_a_callout_that_says_important_is_not_announced_twice_and_empty_cells_are_skipped(tmp_path):
    body = """\
        | Colour | Notes |
        |---|---|
        | white | |

        > **Important:** call 999.
        """
    script = build_script(read_leaflet(write_leaflet(tmp_path, "said-once.md", body)), load_settings())
    said = [u.text for u in script.chapters[0].utterances]
    start = said.index("Colour: white.")
    assert said[start:start + 2] == ["Colour: white.", "Important: call 9 9 9."]
