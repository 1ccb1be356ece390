"""Speech engines and voices: which voice reads a language, each installed engine's sound, and intelligibility."""

from __future__ import annotations

import dataclasses
import json
import wave

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from leafpress.errors import InputError, RenderError
from leafpress.library.build import render_format
from leafpress.reader import read_leaflet
from leafpress.renderers import audio
from leafpress.settings import AudioOptions, load_settings
from leafpress.speech import voices
from leafpress.speech.voices import Voice, choose_voice, installed_voices, missing_recommendation, open_speaker

from .conftest import EXAMPLE, LAYOUTS_DIR, ROOT, run_cli, write_leaflet

ESPEAK_EN = Voice("espeak", "gmw/en", "en-gb")


def with_voices(settings, **chosen):
    return dataclasses.replace(settings, audio=dataclasses.replace(settings.audio, voices=tuple(chosen.items())))


@pytest.fixture
def installed(monkeypatch):
    """Pretend these voices (and espeak-ng's English) are the installed ones."""

    def pretend(*keys: str) -> None:
        fake = [ESPEAK_EN, *(Voice(key.split(":")[0], key.split(":")[1], "en") for key in keys)]
        monkeypatch.setattr(voices, "installed_voices", lambda: tuple(fake))
        monkeypatch.setattr(voices, "has_voice", lambda key: key in {voice.key for voice in fake})

    return pretend


# -- choosing ---------------------------------------------------------------------------------


def test_the_ranked_default_is_the_best_installed_voice_a_trust_may_publish(installed):
    settings = load_settings()
    installed("pico:en-GB", "rhvoice:alan", "rhvoice:slt")
    assert choose_voice("en-GB", settings).key == "rhvoice:alan"
    assert choose_voice("en-US", settings).key == "rhvoice:slt"  # the exact region first
    installed("pico:en-GB", "mbrola:en1")
    assert choose_voice("en", settings).key == "mbrola:en1"  # heard better than Pico's en-GB
    installed("pico:en-GB", "rhvoice:alan", "rhvoice:bdl")
    assert choose_voice("en", settings).key == "rhvoice:bdl"  # no region asked: the best heard
    assert choose_voice("en-GB", settings).key == "rhvoice:alan"


def test_a_voice_whose_licence_forbids_publishing_is_never_the_default(installed, monkeypatch):
    settings = load_settings()
    installed("rhvoice:evgeniy-eng", "rhvoice:lyubov")
    monkeypatch.setattr("leafpress.speech.espeak.espeak_voice", lambda language, wanted="", preferred="": ESPEAK_EN)
    assert choose_voice("en-GB", settings) == ESPEAK_EN
    assert missing_recommendation("en-GB", settings).key == "rhvoice:alan"  # and the build says so


def test_with_no_better_voice_installed_english_falls_back_to_espeak_with_one_warning(installed, monkeypatch):
    settings = load_settings()
    installed()
    monkeypatch.setattr("leafpress.speech.espeak.espeak_voice", lambda language, wanted="", preferred="": ESPEAK_EN)
    assert choose_voice("en", settings) == ESPEAK_EN
    from leafpress.cli import voice_warning

    warning = voice_warning(settings)
    assert warning.startswith("warning: the voice rhvoice:alan is not installed (Debian package rhvoice-english)")
    assert "run make" in warning
    installed("rhvoice:alan")
    assert voice_warning(settings) == ""


def test_a_voice_set_in_settings_wins_by_tag_then_base_language(installed):
    installed("pico:en-GB", "rhvoice:alan", "rhvoice:slt")
    settings = with_voices(load_settings(), en="pico:en-GB", **{"en-US": "rhvoice:slt"})
    assert choose_voice("en-GB", settings).key == "pico:en-GB"
    assert choose_voice("en-US", settings).key == "rhvoice:slt"
    assert missing_recommendation("en", settings) is None  # the team chose: no warning


def test_a_voice_set_in_settings_but_not_installed_fails_the_audio_with_the_fix(installed):
    installed("rhvoice:alan")
    settings = with_voices(load_settings(), en="pico:en-GB")
    with pytest.raises(RenderError, match=r"audio.voices sets 'pico:en-GB' for 'en', but that voice is not installed; "
                                          r"install it \(Debian package libttspico-utils"):
        choose_voice("en", settings)


def test_a_missing_engine_is_no_voices_not_an_error(monkeypatch):
    from leafpress.speech import pico, rhvoice

    monkeypatch.setattr(rhvoice, "DATA", ROOT / "no-such-folder")
    monkeypatch.setattr(pico, "PROGRAM", "no-such-pico2wave")
    pico._voices_cached.cache_clear()
    try:
        assert rhvoice.ENGINE.voices() == [] and pico.ENGINE.voices() == []
        assert rhvoice.ENGINE.fingerprint() == "absent" and pico.ENGINE.fingerprint() == "absent"
    finally:
        pico._voices_cached.cache_clear()


def test_audio_voices_setting_is_checked_with_its_line(tmp_path):
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    lines = (LAYOUTS_DIR / "settings.yaml").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  voice:")) + 1
    text = "\n".join([*lines[:at], "  voices:", "    en: alan", *lines[at:]]) + "\n"
    (layouts / "settings.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_settings(layouts / "settings.yaml")
    line = text.splitlines().index("    en: alan") + 1
    assert str(raised.value.problems[0]) == (
        f"{layouts / 'settings.yaml'}:{line}: 'audio.voices.en: alan' must name an engine and its voice, like rhvoice:alan; "
        "the engines are rhvoice, pico, mbrola, espeak")


# -- every installed engine -------------------------------------------------------------------

ENGLISH = [key for key in ("rhvoice:alan", "pico:en-GB", "mbrola:en1", "espeak:gmw/en")
           if key in {voice.key for voice in installed_voices()}]


@pytest.mark.parametrize("key", ENGLISH)
def test_each_engine_speaks_at_its_true_sample_rate(key, tmp_path):
    """The sound lasts as long as the engine's own command line makes it: a wrong rate in a
    header (pyttsx3 over MBROLA's 16 kHz) would make it 38% longer or shorter."""
    import subprocess

    voice = next(v for v in installed_voices() if v.key == key)
    speaker = open_speaker(voice, AudioOptions())
    text = "Take two tablets every four hours, with food."
    try:
        ours = speaker.speak(text).size / speaker.sample_rate
        script, wav = tmp_path / "script.txt", tmp_path / "engine.wav"
        script.write_text(text, encoding="utf-8")
        subprocess.run(speaker.command_line(script, wav), check=True, capture_output=True, timeout=120)
    finally:
        speaker.close()
    with wave.open(str(wav), "rb") as file:
        theirs = file.getnframes() / file.getframerate()
    assert ours == pytest.approx(theirs, rel=0.25), (ours, theirs)  # ours has its ends trimmed
    assert 1.5 < ours < 6


@pytest.mark.parametrize("key", ENGLISH)
def test_each_engine_gives_chapters_loudness_tags_and_identical_rebuilds(key, tmp_path):
    import miniaudio
    import pyloudnorm

    settings = with_voices(load_settings(), en=key)
    body = "## First\n\nTake 2 tablets at 9am.\n\n## Second\n\nCall 020 7188 2673 if you feel unwell.\n"
    leaflet = read_leaflet(write_leaflet(tmp_path / "src", "engines.md", body))
    first = render_format(leaflet, "audio", tmp_path / "one", settings)["audio"]
    second = render_format(leaflet, "audio", tmp_path / "two", settings)["audio"]
    if not key.startswith(("espeak", "mbrola")):  # espeak-ng dithers its samples: its files differ by a little noise
        assert first.read_bytes() == second.read_bytes()
    tags = ID3(first)
    frames = sorted(tags.getall("CHAP"), key=lambda frame: frame.start_time)
    assert [frame.sub_frames["TIT2"].text[0] for frame in frames][1:3] == ["First", "Second"]
    assert str(tags["TXXX:voice"]) == key and key in str(tags["COMM:voice:eng"])
    sound = miniaudio.decode_file(str(first), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1)
    samples = np.frombuffer(sound.samples, dtype=np.float32)
    assert pyloudnorm.Meter(sound.sample_rate).integrated_loudness(samples) == pytest.approx(audio.LOUDNESS_LUFS, abs=1.0)
    assert MP3(first).info.length == pytest.approx(frames[-1].end_time / 1000, abs=0.2)


def test_the_manifest_names_the_voice_that_read_the_audio(tmp_path):
    out = tmp_path / "out"
    result = run_cli("build", write_leaflet(tmp_path / "src", "voiced.md", "Some text.\n"), "--out", out, "--formats", "audio")
    assert result.returncode == 0, result.stderr
    entry = json.loads((out / "manifest.json").read_text())["leaflets"][0]
    assert entry["voice"] == audio.voice_for(read_leaflet(tmp_path / "src" / "voiced.md"), load_settings()).key
    assert str(ID3(out / entry["outputs"]["audio"])["TXXX:voice"]) == entry["voice"]


# -- intelligibility --------------------------------------------------------------------------


def test_the_default_english_voice_is_understood(tmp_path):
    """PocketSphinx (US English model, independent of every voice) on the sentence set read by the
    default English voice through the whole pipeline: at most 10% of the words wrong (issue 12)."""
    from bench import intelligibility

    settings = load_settings()
    voice = audio.voice_for(read_leaflet(EXAMPLE), settings)
    rate = intelligibility.pipeline_wer(intelligibility.SENTENCES, settings, tmp_path)
    assert rate <= intelligibility.TARGETS["sentences"], f"{voice.key}: {rate:.1%} of words misheard"


def test_scoring_hears_words_not_spellings():
    """The reference is what a listener should hear: the team's respellings (layouts/pronunciations.yaml)
    turned back into their words, numbers in words, British spellings in the recogniser's American."""
    from bench import intelligibility

    heard = intelligibility.spoken_words("Ackalaysia: the oesophagus fibres. Take 2 tablets at 9:30am, specialising.", load_settings())
    assert heard == ["achalasia", "the", "esophagus", "fibers", "take", "two", "tablets", "at", "nine", "thirty", "am", "specializing"]
    assert intelligibility.unknown_words(["achalasia", "zqxwv"]) == ["zqxwv"]


def test_every_measured_leaflet_is_in_the_recognisers_dictionary():
    """make bench stops on a word the recogniser cannot output; each English leaflet it reads has none."""
    from bench import intelligibility
    from leafpress.speech import build_script

    settings = load_settings()
    for source in intelligibility.english_leaflets():
        script = build_script(read_leaflet(source), settings).text()
        assert intelligibility.unknown_words(intelligibility.spoken_words(script, settings)) == [], source
