"""The audio reading: the script spoken through pyttsx3, joined, encoded to MP3 and tagged.

pyttsx3 (espeak-ng on Linux) is only reliable with one short utterance per
save_to_file + runAndWait, so each sentence is spoken to its own WAV file and the pieces
are joined here with the pauses the script asks for. The MP3 carries ID3v2.4 tags with
the stamp, and one chapter (CHAP, listed in a CTOC) per section.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RenderError
from ..model import Leaflet
from ..settings import AudioOptions, Settings
from ..speech import Script, build_script, duration_sentence
from .base import Renderer

log = logging.getLogger(__name__)

FADE_MS = 8  # a short fade at each join, so sentences meet without a click
PEAK_LEVEL = 0.89  # about -1 dBFS: every leaflet plays at the same level
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Voice:
    id: str
    language: str


_engine = None


def _speech_engine():
    """One pyttsx3 engine per process (it is costly to start and keeps its own state)."""
    global _engine
    if _engine is None:
        import pyttsx3

        try:
            _engine = pyttsx3.init()
        except Exception as err:  # pyttsx3 raises bare errors when no engine is installed
            raise RenderError(f"no speech engine is available ({err}); install espeak-ng (make does this)") from err
    return _engine


def choose_voice(engine, language: str, wanted: str = "") -> Voice:
    """The installed voice for a BCP 47 language: exact match first, then the same base language."""
    voices = [Voice(v.id, str((v.languages or [""])[0]).lower()) for v in engine.getProperty("voices")]
    if wanted:
        for voice in voices:
            if voice.id == wanted:
                return voice
        raise RenderError(f"audio.voice '{wanted}' is not installed; leave it empty to choose by language")
    tag = language.lower()
    base = tag.split("-")[0]
    for matches in (lambda v: v.language == tag, lambda v: v.language == base, lambda v: v.language.split("-")[0] == base):
        found = [v for v in voices if matches(v)]
        if found:
            return found[0]
    raise RenderError(
        f"no speech voice for language '{language}' is installed; install one for espeak-ng "
        "or set audio.voice in layouts/settings.yaml"
    )


class Synthesiser:
    """Speaks one utterance at a time into 16-bit mono samples."""

    def __init__(self, language: str, options: AudioOptions):
        self.engine = _speech_engine()
        self.voice = choose_voice(self.engine, language, options.voice)
        self.engine.setProperty("voice", self.voice.id)
        self.engine.setProperty("rate", options.rate)
        self.sample_rate = 0
        self._workdir = tempfile.TemporaryDirectory(prefix="leafpress-audio-")

    def close(self) -> None:
        self._workdir.cleanup()

    def speak(self, text: str):
        import numpy as np

        target = Path(self._workdir.name) / "utterance.wav"
        for _attempt in range(MAX_ATTEMPTS):
            target.unlink(missing_ok=True)
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to …"
                self.engine.save_to_file(text, str(target))
                self.engine.runAndWait()
            if target.is_file() and target.stat().st_size > 44:
                with wave.open(str(target), "rb") as wav:
                    if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                        raise RenderError("the speech engine wrote audio in an unexpected format (expected 16-bit mono WAV)")
                    self.sample_rate = self.sample_rate or wav.getframerate()
                    samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
                if samples.size:
                    return samples.astype(np.float32) / 32768.0
            log.debug("no audio for %r, trying again", text)
        raise RenderError(f"the speech engine produced no audio for: {text!r}")


@dataclass(frozen=True)
class Recording:
    samples: object  # numpy float32 array
    sample_rate: int
    chapter_times_ms: tuple[tuple[str, int, int], ...]  # (title, start, end)


def record(script: Script, synthesiser: Synthesiser, pause_ms: int) -> tuple[Script, Recording]:
    """Speak the whole script plus its duration sentence, and join everything with its pauses."""
    import numpy as np

    spoken = {}  # text -> samples, so a repeated sentence (the stamp) is spoken once

    def say(text: str):
        if text not in spoken:
            spoken[text] = _fade(synthesiser.speak(text), synthesiser.sample_rate)
        return spoken[text]

    utterances = [u for chapter in script.chapters for u in chapter.utterances]
    for utterance in utterances:
        say(utterance.text)
    rate = synthesiser.sample_rate
    seconds = sum(_length(say(u.text), u.pause_after_ms, rate) for u in utterances)
    seconds += _length(say(duration_sentence(seconds)), pause_ms, rate)
    full = script.with_duration(seconds, pause_ms)

    pieces, times, position = [], [], 0
    for chapter in full.chapters:
        start = position
        for utterance in chapter.utterances:
            audio = say(utterance.text)
            pause = np.zeros(int(rate * utterance.pause_after_ms / 1000), dtype=np.float32)
            pieces.extend((audio, pause))
            position += audio.size + pause.size
        times.append((chapter.title, start * 1000 // rate, position * 1000 // rate))
    samples = np.concatenate(pieces)
    peak = float(np.max(np.abs(samples))) or 1.0
    return full, Recording(samples * (PEAK_LEVEL / peak), rate, tuple(times))


def _length(samples, pause_ms: int, rate: int) -> float:
    return samples.size / rate + pause_ms / 1000


def _fade(samples, rate: int):
    import numpy as np

    n = min(samples.size // 2, rate * FADE_MS // 1000)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        samples = samples.copy()
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


def encode_mp3(recording: Recording, bitrate_kbps: int) -> bytes:
    import lameenc
    import numpy as np

    pcm = (np.clip(recording.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(recording.sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm) + encoder.flush())


def write_tags(path: Path, leaflet: Leaflet, settings: Settings, chapters: tuple[tuple[str, int, int], ...]) -> None:
    from mutagen.id3 import CHAP, COMM, CTOC, ID3, TALB, TDRC, TIT2, TLAN, TPE1, TXXX, CTOCFlags

    meta = leaflet.meta
    tags = ID3()
    tags.add(TIT2(encoding=3, text=meta.title))
    tags.add(TPE1(encoding=3, text=settings.organisation.name))
    tags.add(TALB(encoding=3, text=settings.organisation.series))
    tags.add(TLAN(encoding=3, text=iso639_2(meta.language)))
    tags.add(TDRC(encoding=3, text=str(meta.last_reviewed.year)))
    tags.add(COMM(encoding=3, lang=iso639_2(meta.language), desc="", text=meta.stamp))
    for key, value in (
        ("resource_number", meta.resource_number),
        ("last_reviewed", meta.last_reviewed.iso),
        ("next_review", meta.next_review.iso),
        ("language", meta.language),
    ):
        tags.add(TXXX(encoding=3, desc=key, text=value))
    ids = []
    for number, (title, start, end) in enumerate(chapters, start=1):
        element_id = f"chp{number}"
        ids.append(element_id)
        tags.add(CHAP(element_id=element_id, start_time=start, end_time=end, start_offset=0xFFFFFFFF,
                      end_offset=0xFFFFFFFF, sub_frames=[TIT2(encoding=3, text=title)]))
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                  child_element_ids=ids, sub_frames=[TIT2(encoding=3, text="Contents")]))
    tags.save(str(path), v2_version=4)


def iso639_2(language: str) -> str:
    """The three-letter code ID3 wants for a BCP 47 tag (en-GB → eng)."""
    import langcodes

    try:
        return langcodes.Language.get(language).to_alpha3()
    except (LookupError, ValueError):
        return "und"


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    from mutagen.mp3 import MP3

    synthesiser = Synthesiser(leaflet.meta.language, settings.audio)
    try:
        script, recording = record(build_script(leaflet, settings), synthesiser, settings.audio.sentence_pause_ms)
    finally:
        synthesiser.close()
    targets["audio"].write_bytes(encode_mp3(recording, settings.audio.bitrate_kbps))
    write_tags(targets["audio"], leaflet, settings, recording.chapter_times_ms)
    targets["audio_script"].write_text(script.text(), encoding="utf-8")

    expected = recording.samples.size / recording.sample_rate
    actual = MP3(str(targets["audio"])).info.length
    if abs(actual - expected) > 1.0:
        raise RenderError(f"the MP3 lasts {actual:.1f} s but {expected:.1f} s of speech was made; try the build again")


RENDERER = Renderer(name="audio", outputs={"audio": ".mp3", "audio_script": ".audio.txt"}, render=render)
