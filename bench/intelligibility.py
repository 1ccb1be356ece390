"""How well a speech recogniser understands each installed English voice: its word error rate.

The recogniser is PocketSphinx 5 (PyPI, its US English model bundled), independent of every
voice here. It is biased towards US speech and is not a listener, but a voice it cannot follow
is one patients strain to follow too. Each voice reads leaflet text through the whole leafpress
pipeline (normalisation, pronunciations, the voice, levelling, MP3); the MP3 is decoded at
16 kHz, cut into phrases by PocketSphinx's endpointer, recognised, and compared with the audio
script written beside it. The floor is espeak-ng's own command line reading the same text with
no normalisation, compared with that text.

Run alone: python -m bench.intelligibility [--voice rhvoice:alan] [source.md ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import tempfile
from pathlib import Path

from leafpress.build import render_format
from leafpress.reader import read_leaflet
from leafpress.settings import PROJECT_ROOT as ROOT
from leafpress.settings import Settings, load_settings

SENTENCES = ROOT / "bench" / "leaflets" / "spoken-sentences.md"  # numbers, times, doses and medical words
RATE = 16000  # the recogniser's model
TARGETS = {"sentences": 0.10, "leaflet": 0.20}
_LETTERS = {"a.m.": "a m", "p.m.": "p m"}
# The recogniser's dictionary spells American: a British spelling is scored in its American form.
_AMERICAN = {"anaesthetic": "anesthetic", "anaesthetist": "anesthetist", "oesophagus": "esophagus", "oesophageal": "esophageal",
             "haemorrhage": "hemorrhage", "paediatric": "pediatric", "anaemia": "anemia", "oedema": "edema",
             "diarrhoea": "diarrhea", "oestrogen": "estrogen", "orthopaedic": "orthopedic", "colour": "color", "centre": "center"}


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
    return [_AMERICAN.get(word, word) for word in (w.strip("'") for w in text.split()) if word]


def recognise(samples) -> list[str]:
    """The words PocketSphinx hears in 16 kHz float32 samples, phrase by phrase (its own voice activity detection)."""
    import io

    import numpy as np
    from pocketsphinx import Decoder
    from pocketsphinx.segmenter import Segmenter

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    decoder = Decoder(samprate=RATE, loglevel="FATAL")
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
    """Word error rate of leafpress's MP3 of ``source`` against its own audio script."""
    leaflet = read_leaflet(source)
    targets = render_format(leaflet, "audio", workdir, settings)
    script = targets["audio_script"].read_text(encoding="utf-8")
    return word_error_rate(words(script), recognise(decode(targets["audio"])))


def espeak_floor_wer(source: Path, workdir: Path) -> float:
    """espeak-ng's command line reading the leaflet's text as written (no normalisation), against that text."""
    from leafpress.segments import segments

    text = "\n\n".join(segment.text for segment in segments(read_leaflet(source)))
    script = workdir / "raw.txt"
    script.write_text(text, encoding="utf-8")
    wav = workdir / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "155", "-f", str(script), "-w", str(wav)], check=True, capture_output=True)
    return word_error_rate(words(text), recognise(decode(wav)))


def english_voices() -> list[str]:
    from leafpress.speech.voices import installed_voices, known_voices

    settings = load_settings()
    installed = {voice.key for voice in installed_voices()}
    ranked = [known.key for known in known_voices(settings.layouts_dir) if known.key in installed and known.language.startswith("en")]
    return [*ranked, "espeak:gmw/en"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intelligibility", description=__doc__.splitlines()[0])
    parser.add_argument("--voice", action="append", help="engine:voice to measure (default: every installed English voice)")
    parser.add_argument("sources", nargs="*", type=Path, default=[SENTENCES])
    args = parser.parse_args(argv)
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="leafpress-wer-") as temp:
        for key in args.voice or english_voices():
            for source in args.sources:
                folder = Path(temp) / key.replace(":", "-") / source.stem
                rate = pipeline_wer(source, with_voice(settings, key), folder)
                print(f"{key:24} {source.name:32} {rate:6.1%}", flush=True)
        for source in args.sources:
            print(f"{'espeak-ng raw (floor)':24} {source.name:32} {espeak_floor_wer(source, Path(temp)):6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

