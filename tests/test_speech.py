"""The audio script and the speech engine: normalisation case by case, voices, real sound."""

from __future__ import annotations

import pytest

from leafpress.errors import RenderError
from leafpress.normalise import Normaliser, spell_code
from leafpress.reader import read_leaflet
from leafpress.renderers.audio import Synthesiser, _speech_engine, choose_voice
from leafpress.settings import AudioOptions, load_settings
from leafpress.speech import build_script, split_sentences

from .conftest import EXAMPLE, run_cli, write_leaflet


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Phone: 020 7188 2673, Monday", "Phone: 0 2 0, 7 1 8 8, 2 6 7 3, Monday"),
        ("call 0114 271 1900", "call 0 1 1 4, 2 7 1, 1 9 0 0"),
        ("call 999 now", "call 9 9 9 now"),
        ("or NHS 111", "or N H S 1 1 1"),
        ("bleep 0810", "bleep 0 8 1 0"),
        ("9am to 5pm", "9 am to 5 pm"),
        ("at 7.30am", "at 7:30 am"),
        ("at 17:00", "at 5 pm"),
        ("at 12:00", "at midday"),
        ("take 500mg", "take 500 milligrams"),
        ("take 1g", "take 1 gram"),
        ("5 ml spoon", "5 millilitres spoon"),
        ("37.5°C", "37.5 degrees Celsius"),
        ("50% of people", "50 per cent of people"),
        ("3-4 days", "3 to 4 days"),
        ("go to A&E", "go to A-and-E"),
        ("see your GP", "see your G P"),
        ("e.g. rest", "for example rest"),
        ("i.e. soon", "that is soon"),
        ("salt & pepper", "salt and pepper"),
        ("he/she", "he or she"),
        ("email pals@example.org", "email pals at example dot org"),
        ("visit www.nhs.uk/conditions", "visit w w w dot N H S dot U K slash conditions"),
    ],
)
def test_english_normalisation(text, spoken):
    assert Normaliser("en-GB", {})(text) == spoken


def test_pronunciation_list_applies_before_synthesis_and_keeps_capitals():
    say = Normaliser("en-GB", {"achalasia": "ackalaysia", "POEM": "Poem"})
    assert say("Achalasia and achalasia") == "Ackalaysia and ackalaysia"
    assert say("POEM surgery, a poem") == "Poem surgery, a poem"


def test_english_rules_do_not_touch_other_languages():
    assert Normaliser("pl", {})("Zadzwoń pod 999") == "Zadzwoń pod 999"


def test_resource_number_is_spelled_out():
    assert spell_code("4853/VER2") == "4 8 5 3, slash, V E R 2"


def test_sentences_split_for_the_engine():
    assert split_sentences("One thing. Two things! 3 more? yes.") == ["One thing.", "Two things!", "3 more? yes."]


def test_example_script_has_stamp_sections_and_ending():
    script = build_script(read_leaflet(EXAMPLE), load_settings())
    titles = [c.title for c in script.chapters]
    assert titles[0] == "Introduction" and titles[-1] == "Contact and review dates"
    assert "Risks of POEM surgery" in titles
    text = script.with_duration(290, 250).text()
    assert "Resource number 4 8 5 3, slash, V E R 2. Last reviewed June 2022. Next review June 2025." in text
    assert "This recording lasts about 5 minutes." in text
    assert "0 2 0, 7 1 8 8, 2 6 7 3" in text


def test_voice_is_chosen_from_the_language():
    engine = _speech_engine()
    assert choose_voice(engine, "en-GB").language == "en-gb"
    assert choose_voice(engine, "pl").language == "pl"
    with pytest.raises(RenderError, match="no speech voice for language 'zz' is installed"):
        choose_voice(engine, "zz")


def test_synthesiser_makes_real_sound():
    import numpy as np

    synthesiser = Synthesiser("en-GB", AudioOptions())
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
