"""How well a speech recogniser understands each installed English voice: its word error rate.

The recogniser is PocketSphinx 5 (PyPI, its US English model bundled), independent of every
voice here. It is biased towards US speech and is not a listener, but a voice it cannot follow
is one patients strain to follow too. Each voice reads leaflet text through the whole leafpress
pipeline (normalisation, pronunciations, the voice, levelling, MP3); the MP3 is decoded at
16 kHz, cut into phrases by PocketSphinx's endpointer, recognised, and compared with the audio
script written beside it. The floor is espeak-ng's own command line reading the same text with
no normalisation, compared with that text.

Run alone: python -m bench.intelligibility [--voice rhvoice:alan] [--jobs N] [source.md ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import multiprocessing
import os
import re
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from leafpress.library.build import render_format
from leafpress.reader import read_leaflet
from leafpress.settings import PROJECT_ROOT as ROOT
from leafpress.settings import Settings, load_settings
from leafpress.speech.normalise import load_pronunciations

SENTENCES = ROOT / "bench" / "leaflets" / "spoken-sentences.md"  # numbers, times, doses and medical words
EXTRA_WORDS = ROOT / "bench" / "leaflets" / "recogniser-words.dict"  # medical words the recogniser's dictionary lacks
RATE = 16000  # the recogniser's model
TARGETS = {"sentences": 0.10, "leaflet": 0.20}
_LETTERS = {"a.m.": "a m", "p.m.": "p m"}
# The recogniser's dictionary spells American, and has some British spellings too: a word is scored,
# in the script and in what was heard alike, in the first of these American forms the dictionary
# has (fibres → fibers, oesophagus → esophagus, specialising → specializing).
_AMERICAN = ((r"(?<=[a-z])(ae|oe)", "e"), (r"^(oe|ae)", "e"), (r"(?<=[a-z][b-df-hj-np-tv-z])re(s?)$", r"er\1"), (r"(?<=[a-z]{2})our(s?)$", r"or\1"),
             (r"(?<=[a-z])is(e|es|ed|ing|ation|ations)$", r"iz\1"), (r"ll(ed|ing)$", r"l\1"), (r"ogue(s?)$", r"og\1"))


def words(text: str) -> list[str]:
    """Text as the recogniser's words: lower case, no punctuation, numbers in words (2,673 → two thousand…)."""
    from num2words import num2words

    text = text.lower()
    for written, said in _LETTERS.items():
        text = text.replace(written, said)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"\d+(?:\.\d+)?", lambda m: " {} ".format(num2words(m.group()).replace(" and ", " ")), text)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("-", " "))
    text = re.sub(r"\b([ap]) m\b", r"\1m", text)  # "a m" and "am" are the same two sounds
    return [_american(word) for word in (w.strip("'") for w in text.split()) if word]


def _american(word: str) -> str:
    """A British spelling in its American form, when the recogniser's dictionary has that."""
    known = _decoder().lookup_word
    for british, american in _AMERICAN:
        spelt = re.sub(british, american, word)
        if spelt != word and known(spelt) is not None:
            return spelt
    return word


def spoken_words(script: str, settings: Settings) -> list[str]:
    """The words an audio script asks the voice to say, with the team's respellings (ackalaysia)
    turned back into the words they stand for (achalasia): what a listener should hear."""
    pronunciations = load_pronunciations(settings.layouts_dir / "pronunciations.yaml")
    for word, respelling in sorted(pronunciations.items(), key=lambda item: -len(item[1])):
        script = re.sub(rf"\b{re.escape(respelling)}\b", word, script, flags=re.IGNORECASE)
    return words(script)


def unknown_words(reference: list[str]) -> list[str]:
    """Words the recogniser cannot output, so no voice could be heard saying them."""
    return sorted({word for word in reference if _decoder().lookup_word(word) is None})


@functools.cache
def _decoder():
    """PocketSphinx's US English model and dictionary, with the words of EXTRA_WORDS added."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=RATE, loglevel="FATAL")
    for line in EXTRA_WORDS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith(";"):
            word, phones = line.split(None, 1)
            decoder.add_word(word, phones, True)
    return decoder


def recognise(samples) -> list[str]:
    """The words PocketSphinx hears in 16 kHz float32 samples, phrase by phrase (its own voice activity detection)."""
    import io

    import numpy as np
    from pocketsphinx.segmenter import Segmenter

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    decoder = _decoder()
    heard: list[str] = []
    for segment in Segmenter(sample_rate=RATE).segment(io.BytesIO(pcm)):
        decoder.start_utt()
        decoder.process_raw(segment.pcm, full_utt=True)
        decoder.end_utt()
        heard += _hypothesis(decoder)
    return heard


def _hypothesis(decoder) -> list[str]:
    hyp = decoder.hyp()
    return words(re.sub(r"\(\d+\)", "", hyp.hypstr)) if hyp is not None else []


def decode(path: Path):
    """An MP3 or WAV file as 16 kHz mono float32 samples, the recogniser's input."""
    import miniaudio
    import numpy as np

    sound = miniaudio.decode_file(str(path), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE)
    return np.frombuffer(sound.samples, dtype=np.float32)


def word_error_rate(reference: list[str], heard: list[str]) -> float:
    import jiwer

    return jiwer.wer(" ".join(reference), " ".join(heard) or "-")


def with_voice(settings: Settings, key: str) -> Settings:
    """The settings with one voice for English."""
    return dataclasses.replace(settings, audio=dataclasses.replace(settings.audio, voices=(("en", key),)))


def pipeline_wer(source: Path, settings: Settings, workdir: Path) -> float:
    """Word error rate of leafpress's MP3 of ``source`` against the words of its own audio script."""
    leaflet = read_leaflet(source)
    targets = render_format(leaflet, "audio", workdir, settings)
    reference = spoken_words(targets["audio_script"].read_text(encoding="utf-8"), settings)
    missing = unknown_words(reference)
    if missing:
        raise SystemExit(f"{source}: the recogniser's dictionary lacks {', '.join(missing)}; "
                         f"add how each is said to {EXTRA_WORDS.relative_to(ROOT)}")
    return word_error_rate(reference, recognise(decode(targets["audio"])))


def espeak_floor_wer(source: Path, workdir: Path) -> float:
    """espeak-ng's command line reading the leaflet's text as written (no normalisation), against that text."""
    from leafpress.segments import segments

    text = "\n\n".join(segment.text for segment in segments(read_leaflet(source)))
    script = workdir / "raw.txt"
    script.write_text(text, encoding="utf-8")
    wav = workdir / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "155", "-f", str(script), "-w", str(wav)], check=True, capture_output=True)
    return word_error_rate(words(text), recognise(decode(wav)))


FLOOR = "espeak-ng, raw text (floor)"


def english_voices() -> list[str]:
    """Every installed English voice of layouts/voices.yaml, best first, then espeak-ng's."""
    from leafpress.speech.voices import has_voice, known_voices

    known = known_voices(load_settings().layouts_dir)
    return [*(voice.key for voice in known if voice.language.startswith("en") and has_voice(voice.key)), "espeak:gmw/en"]


def english_leaflets() -> list[Path]:
    """What each voice reads: the sentence set, then every English leaflet of source/ and of the test fixtures, whole."""
    leaflets = [*sorted((ROOT / "source").glob("*.md")), *sorted((ROOT / "tests" / "fixtures").glob("*.md"))]
    return [SENTENCES, *(path for path in leaflets if read_leaflet(path).meta.language.split("-")[0] == "en")]


def measure(key: str, source: Path) -> float:
    """One voice's word error rate on one source (FLOOR: espeak-ng's command line on the raw text)."""
    with tempfile.TemporaryDirectory(prefix="leafpress-wer-") as temp:
        if key == FLOOR:
            return espeak_floor_wer(source, Path(temp))
        return pipeline_wer(source, with_voice(load_settings(), key), Path(temp))


def measure_all(voices: list[str], sources: list[Path], jobs: int) -> dict[str, dict[str, float]]:
    """Word error rates by voice (and FLOOR) and source name, ``jobs`` measured at a time, each in a
    fresh process (the speech engines are loaded there, never in this one)."""
    tasks = [(key, source) for source in sorted(sources, key=lambda path: -path.stat().st_size) for key in [*voices, FLOOR]]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {task: pool.submit(measure, *task) for task in tasks}
        return {key: {source.name: futures[key, source].result() for source in sources} for key in [*voices, FLOOR]}


def default_voice() -> str:
    """The voice that reads a leaflet which names no language (British English)."""
    from leafpress.model import DEFAULT_LANGUAGE
    from leafpress.speech.voices import choose_voice

    return choose_voice(DEFAULT_LANGUAGE, load_settings()).key


def met(key: str, source: str, rate: float, default: str) -> bool | None:
    """Whether a rate meets its target: the default English voice's only (the others have none)."""
    if key != default:
        return None
    return rate <= TARGETS["sentences" if source == SENTENCES.name else "leaflet"]


def table(results: dict[str, dict[str, float]], default: str) -> str:
    """The rates as a Markdown table, a voice a row; the default voice's rates carry their verdict."""
    from leafpress.speech.voices import known_voices

    licences = {voice.key: voice.licence for voice in known_voices(load_settings().layouts_dir)}
    sources = list(next(iter(results.values())))
    names = ["sentence set" if name == SENTENCES.name else name.removesuffix(".md") for name in sources]
    lines = [f"| Voice | Licence | {' | '.join(names)} |", "|---|---|" + "---|" * len(sources)]
    for key, rates in results.items():
        cells = []
        for source, rate in rates.items():
            verdict = met(key, source, rate, default)
            cells.append(f"{rate:.1%}" + ("" if verdict is None else " (yes)" if verdict else " (NO)"))
        name = f"{key} (default)" if key == default else key
        licence = licences.get(key, "GPL-3.0-or-later" if key.startswith("espeak") or key == FLOOR else "")
        lines.append(f"| {name} | {licence} | {' | '.join(cells)} |")
    lines.append(f"\nTargets for the default voice: ≤ {TARGETS['sentences']:.0%} on the sentence set, "
                 f"≤ {TARGETS['leaflet']:.0%} on each whole leaflet.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intelligibility", description=__doc__.splitlines()[0])
    parser.add_argument("--voice", action="append", help="engine:voice to measure (default: every installed English voice)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="measurements at a time (default: all cores)")
    parser.add_argument("sources", nargs="*", type=Path, help="leaflets to read (default: the sentence set and every English leaflet)")
    args = parser.parse_args(argv)
    results = measure_all(args.voice or english_voices(), args.sources or english_leaflets(), args.jobs)
    print(table(results, default_voice()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
