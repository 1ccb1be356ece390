"""The audio reading: the script spoken through pyttsx3, joined, levelled, encoded to MP3 and tagged.

pyttsx3 (espeak-ng on Linux) writes one WAV per save_to_file + runAndWait, and its espeak
driver polls every 10 ms, so one sentence per call spends most of its time waiting. Here
several sentences go into one call, separated by paragraph breaks, where espeak-ng leaves
a longer silence than anywhere inside a sentence; the audio is cut at those silences, and
each call waits for pyttsx3's "finished-utterance" event, so no file is read half
written. The pieces are joined with the pauses the script asks for, brought to one
loudness (EBU R 128), encoded to MP3 and tagged with ID3v2.4, one chapter (CHAP, listed in
a CTOC) per section.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import threading
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import RenderError
from ..languages.catalogue import catalogue_for
from ..languages.tags import language_info
from ..model import Leaflet
from ..settings import AudioOptions, Settings
from ..speech import Script, build_script, word_count
from .base import ProcessCache, Renderer

log = logging.getLogger(__name__)

FADE_MS = 8  # a short fade at each end of every utterance, so joins never click
EDGE_MS = 15  # silence kept at each end of an utterance before its pause is added
LOUDNESS_LUFS = -23.0  # EBU R 128: every leaflet plays at the same loudness
PEAK_CEILING = 10 ** (-1 / 20)  # -1 dBFS: peaks above it are turned down, never clipped
MAX_ATTEMPTS = 3
BATCH_CHARS = 400  # text per save_to_file: enough to hide the driver's 10 ms poll, short enough to stay quick
SEPARATOR = "\n\n"  # a paragraph break between the sentences of one call
WAIT_SECONDS = 60
MP3_QUALITY = 5  # LAME's default quality: -q 2 takes twice as long with no audible gain for speech at 64 kbit/s


@dataclass(frozen=True)
class Voice:
    id: str
    language: str


_ENGINE = ProcessCache(limit=1)  # pyttsx3's engine is costly to start and keeps its own state


def _speech_engine():
    """This process's pyttsx3 engine. Freed at exit like the other engines' caches: pyttsx3's own
    __del__, left to interpreter shutdown, prints a traceback once the modules it uses are gone."""

    def start():
        import pyttsx3

        try:
            return pyttsx3.init()
        except Exception as err:  # pyttsx3 raises bare errors when no engine is installed
            raise RenderError(f"no speech engine is available ({err}); install espeak-ng (make does this)") from err

    return _ENGINE.get("pyttsx3", start)


def choose_voice(engine, language: str, wanted: str = "", preferred: str = "") -> Voice:
    """The installed voice for a BCP 47 language: ``wanted`` (audio.voice) if set, else the
    language catalogue's ``preferred`` voice if installed, else an exact match of the tag, then
    the same base language."""
    voices = [Voice(v.id, str((v.languages or [""])[0]).lower()) for v in engine.getProperty("voices")]
    if wanted:
        for voice in voices:
            if voice.id == wanted:
                return voice
        raise RenderError(f"audio.voice '{wanted}' is not installed; leave it empty to choose by language")
    for voice in voices:
        if preferred and preferred.lower() in (voice.id.lower(), voice.language):
            return voice
    tag = language.lower()
    base = tag.split("-")[0]
    likely = f"{base}-{language_info(language).territory.lower()}"  # fr → fr-fr, not the first French voice (fr-be)
    for matches in (lambda v: v.language == tag, lambda v: v.language == base, lambda v: v.language == likely,
                    lambda v: v.language.split("-")[0] == base):
        found = [v for v in voices if matches(v)]
        if found:
            return found[0]
    raise RenderError(
        f"no speech voice for language '{language}' is installed; install one for espeak-ng "
        "or set audio.voice in layouts/settings.yaml"
    )


class Synthesiser:
    """Speaks utterances into float32 mono samples, several sentences to each call of the engine."""

    def __init__(self, language: str, options: AudioOptions, preferred_voice: str = ""):
        self.engine = _speech_engine()
        self.voice = choose_voice(self.engine, language, options.voice, preferred_voice)
        self.words_per_minute = options.rate
        self.sample_rate = 0
        self.calls = 0
        self._workdir = tempfile.TemporaryDirectory(prefix="leafpress-audio-")
        self._finished = threading.Event()
        self._subscription = self.engine.connect("finished-utterance", self._on_finished)
        self._separator_samples = 0
        # espeak-ng sometimes loses a rate set while it is still starting (measured: 2 runs in 300
        # spoke at its default rate throughout), so the properties are set again once a first
        # utterance has finished, and only then is the paragraph silence measured.
        for _ in range(2):
            self.engine.setProperty("voice", self.voice.id)
            self.engine.setProperty("rate", options.rate)
            self._separator_samples = self._calibrate()

    def close(self) -> None:
        self.engine.disconnect(self._subscription)
        self._workdir.cleanup()

    def _on_finished(self, **_event) -> None:
        self._finished.set()

    def speak(self, text: str):
        """One utterance, in a call of its own."""
        return self.speak_all([text])[0]

    def speak_all(self, texts: Sequence[str]) -> list:
        """Every utterance's sound, trimmed to EDGE_MS of silence and faded at both ends."""
        sounds: list = []
        for batch in self._batches(texts):
            pieces = self._split(self._call(SEPARATOR.join(batch)), len(batch)) if len(batch) > 1 else None
            if pieces is None:  # one utterance, or silences that did not fall where expected
                pieces = [self._trim(self._call(text)) for text in batch]
            sounds.extend(_fade(piece, self.sample_rate) for piece in pieces)
        return sounds

    def _batches(self, texts: Sequence[str]) -> list[list[str]]:
        if not self._separator_samples:
            return [[text] for text in texts]
        batches: list[list[str]] = [[]]
        for text in texts:
            if batches[-1] and sum(map(len, batches[-1])) + len(text) > BATCH_CHARS:
                batches.append([])
            batches[-1].append(text)
        return [batch for batch in batches if batch]

    def _calibrate(self) -> int:
        """How long a silence marks the paragraph break between two utterances, or 0 to speak them one by one.

        espeak-ng leaves exact digital silence: about 0.64 s at a paragraph break and at most
        0.37 s inside a sentence (at 155 words a minute). Any other engine gets one call per utterance.
        """
        samples = self._call(f"Yes. No.{SEPARATOR}Yes.")
        runs = sorted(length for start, length in _silences(samples, 1) if start > 0 and start + length < samples.size)
        if len(runs) < 2 or runs[-1] < 1.4 * runs[-2]:
            log.debug("no clear paragraph silence from this speech engine (%s); one utterance per call", runs[-2:])
            return 0
        return (runs[-1] + runs[-2]) // 2

    def _split(self, samples, count: int) -> list | None:
        """Cut one call's sound at its paragraph silences: exactly count - 1 of them, or None."""
        edge = self.sample_rate * EDGE_MS // 1000
        breaks = [(start, length) for start, length in _silences(samples, self._separator_samples)
                  if start > 0 and start + length < samples.size]
        if len(breaks) != count - 1:
            log.debug("expected %d paragraph silences, found %d; speaking one utterance per call", count - 1, len(breaks))
            return None
        bounds = [0, *(i for start, length in breaks for i in (start + edge, start + length - edge)), samples.size]
        pieces = [self._trim(samples[bounds[i]:bounds[i + 1]]) for i in range(0, len(bounds), 2)]
        return pieces if all(piece.size for piece in pieces) else None

    def _trim(self, samples):
        """Keep at most EDGE_MS of silence at either end (the engine's own end pause is replaced by ours)."""
        import numpy as np

        edge = self.sample_rate * EDGE_MS // 1000
        sound = np.flatnonzero(samples)
        if not sound.size:
            return samples[:0]
        return samples[max(0, sound[0] - edge): sound[-1] + 1 + edge]

    def _call(self, text: str):
        """One save_to_file + runAndWait, waiting for the engine to say it has finished; int16 samples."""
        for _attempt in range(MAX_ATTEMPTS):
            self.calls += 1
            target = Path(self._workdir.name) / f"utterance-{self.calls}.wav"
            self._finished.clear()
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to …"
                self.engine.save_to_file(text, str(target))
                self.engine.runAndWait()
                finished = self._finished.wait(WAIT_SECONDS)
            if not finished:
                raise RenderError(f"the speech engine did not finish speaking within {WAIT_SECONDS} s: {text[:60]!r}")
            samples = self._read(target)
            target.unlink(missing_ok=True)
            if samples is not None and self._plausible(text, samples):
                return samples
            log.debug("no usable audio for %r, trying again", text[:60])
        raise RenderError(f"the speech engine produced no usable audio for: {text[:60]!r}")

    def _read(self, path: Path):
        import numpy as np

        if not path.is_file():
            return None
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise RenderError("the speech engine wrote audio in an unexpected format (expected 16-bit mono WAV)")
            if self.sample_rate and wav.getframerate() != self.sample_rate:
                raise RenderError("the speech engine changed its sample rate between utterances")
            self.sample_rate = wav.getframerate()
            frames = wav.getnframes()
            data = wav.readframes(frames)
        if len(data) != frames * 2:  # a file shorter than its header says
            return None
        return np.frombuffer(data, dtype="<i2")

    def _plausible(self, text: str, samples) -> bool:
        """The file lasts about as long as its words take at the chosen rate (counted in any script)."""
        expected = max(1, word_count(text)) * 60 / self.words_per_minute
        seconds = samples.size / self.sample_rate
        return 0.25 * expected <= seconds <= 4 * expected + 2


def _silences(samples, min_length: int) -> list[tuple[int, int]]:
    """(start, length) of every run of exact zeros at least min_length samples long."""
    import numpy as np

    edges = np.diff(np.concatenate(([0], (samples == 0).view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= min_length
    return list(zip(starts[keep].tolist(), (ends - starts)[keep].tolist(), strict=True))


@dataclass(frozen=True)
class Recording:
    samples: object  # numpy float32 array
    sample_rate: int
    chapter_times_ms: tuple[tuple[str, int, int], ...]  # (title, start, end)


def record(script: Script, synthesiser: Synthesiser, pause_ms: int) -> tuple[Script, Recording]:
    """Speak the whole script plus its duration sentence, join everything with its pauses, and level it."""
    import numpy as np

    spoken: dict[str, object] = {}  # text -> samples, so a repeated sentence (the stamp) is spoken once

    def say_all(texts) -> None:
        new = [text for text in dict.fromkeys(texts) if text not in spoken]
        spoken.update(zip(new, synthesiser.speak_all(new), strict=True))

    utterances = [u for chapter in script.chapters for u in chapter.utterances]
    say_all(u.text for u in utterances)
    rate = synthesiser.sample_rate
    seconds = sum(_length(spoken[u.text], u.pause_after_ms, rate) for u in utterances)
    say_all([script.duration_sentence(seconds)])
    seconds += _length(spoken[script.duration_sentence(seconds)], pause_ms, rate)
    full = script.with_duration(seconds, pause_ms)
    say_all(u.text for chapter in full.chapters for u in chapter.utterances)  # in case the minutes rounded differently

    pieces, times, position = [], [], 0
    for chapter in full.chapters:
        start = position
        for utterance in chapter.utterances:
            audio = spoken[utterance.text]
            pause = np.zeros(rate * utterance.pause_after_ms // 1000, dtype=np.float32)
            pieces.extend((audio, pause))
            position += audio.size + pause.size
        times.append((chapter.title, start * 1000 // rate, position * 1000 // rate))
    return full, Recording(level(np.concatenate(pieces), rate), rate, tuple(times))


def _length(samples, pause_ms: int, rate: int) -> float:
    return samples.size / rate + pause_ms / 1000


def _fade(samples, rate: int):
    """float32 samples that rise from and fall to silence over FADE_MS."""
    import numpy as np

    samples = samples.astype(np.float32) / 32768.0
    n = min(samples.size // 2, rate * FADE_MS // 1000)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


# Loudness ---------------------------------------------------------------------------------


def loudness(samples, rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4: K-weighting, 400 ms blocks, 75% overlap, gating).

    The K-weighting filters are applied in the frequency domain to each 100 ms step, whose
    energies are summed four at a time into the 400 ms blocks.
    """
    import numpy as np

    step = rate // 10
    count = samples.size // step
    if count < 4:
        return float("-inf")
    steps = samples[: count * step].reshape(count, step)
    weights = np.full(step // 2 + 1, 2.0)  # each bin but DC (and Nyquist) stands for two (Parseval)
    weights[0] = 1.0
    if step % 2 == 0:
        weights[-1] = 1.0
    weights *= _k_weighting(rate, step) / step
    rows = 256  # a few hundred steps at a time: several times faster than one huge transform
    energy = np.concatenate([np.abs(np.fft.rfft(steps[i:i + rows], axis=1)) ** 2 @ weights for i in range(0, count, rows)])
    blocks = (energy[:-3] + energy[1:-2] + energy[2:-1] + energy[3:]) / (4 * step)
    block_lufs = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-20))
    gated = blocks[block_lufs > -70]
    if not gated.size:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    gated = blocks[(block_lufs > -70) & (block_lufs > relative)]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def _k_weighting(rate: int, size: int):
    """|H|² of BS.1770's two K-weighting biquads at the bins of an rfft of `size` samples."""
    import numpy as np

    z = np.exp(-1j * np.pi * np.arange(size // 2 + 1) / (size / 2))

    def response(b, a):
        return np.abs(np.polyval(b[::-1], z)) ** 2 / np.abs(np.polyval(a[::-1], z)) ** 2

    w0, q, gain = 2 * np.pi * 1500.0 / rate, 1 / np.sqrt(2), 10 ** (4.0 / 40)  # high shelf, +4 dB above 1.5 kHz
    alpha, cos, root = np.sin(w0) / (2 * q), np.cos(w0), np.sqrt(gain)
    shelf = response(
        [gain * ((gain + 1) + (gain - 1) * cos + 2 * root * alpha), -2 * gain * ((gain - 1) + (gain + 1) * cos),
         gain * ((gain + 1) + (gain - 1) * cos - 2 * root * alpha)],
        [(gain + 1) - (gain - 1) * cos + 2 * root * alpha, 2 * ((gain - 1) - (gain + 1) * cos),
         (gain + 1) - (gain - 1) * cos - 2 * root * alpha],
    )
    w0 = 2 * np.pi * 38.0 / rate  # high pass at 38 Hz
    alpha, cos = np.sin(w0) / (2 * 0.5), np.cos(w0)
    high_pass = response([(1 + cos) / 2, -(1 + cos), (1 + cos) / 2], [1 + alpha, -2 * cos, 1 - alpha])
    return shelf * high_pass


def level(samples, rate: int):
    """Bring the recording to LOUDNESS_LUFS, turning down any peak that would pass PEAK_CEILING."""
    import numpy as np

    measured = loudness(samples, rate)
    if not np.isfinite(measured):
        return samples
    samples = samples * np.float32(10 ** ((LOUDNESS_LUFS - measured) / 20))
    over = np.flatnonzero(np.abs(samples) > PEAK_CEILING)
    if over.size:
        log.debug("limiting %d samples above %.1f dBFS", over.size, 20 * np.log10(PEAK_CEILING))
        attack, release = rate // 200, rate // 20  # 5 ms down, 50 ms back up
        gain = np.ones(samples.size, dtype=np.float32)
        for index in over.tolist():
            needed = PEAK_CEILING / abs(float(samples[index]))
            lo, hi = max(0, index - attack), min(samples.size, index + release)
            shape = np.concatenate((np.linspace(1, needed, index - lo, endpoint=False), np.linspace(needed, 1, hi - index)))
            gain[lo:hi] = np.minimum(gain[lo:hi], shape)
        samples = samples * gain
    return samples


def encode_mp3(recording: Recording, bitrate_kbps: int) -> bytes:
    import lameenc
    import numpy as np

    pcm = (np.clip(recording.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(recording.sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(MP3_QUALITY)
    return bytes(encoder.encode(pcm) + encoder.flush())


def write_tags(path: Path, leaflet: Leaflet, settings: Settings, chapters: tuple[tuple[str, int, int], ...]) -> None:
    from mutagen.id3 import CHAP, COMM, CTOC, ID3, TALB, TDRC, TIT2, TLAN, TPE1, TXXX, CTOCFlags

    meta = leaflet.meta
    labels = catalogue_for(meta.language, settings.layouts_dir)
    tags = ID3()
    tags.add(TIT2(encoding=3, text=meta.title))
    tags.add(TPE1(encoding=3, text=settings.organisation.name))
    tags.add(TALB(encoding=3, text=settings.organisation.series))
    tags.add(TLAN(encoding=3, text=iso639_2(meta.language)))
    tags.add(TDRC(encoding=3, text=str(meta.last_reviewed.year)))
    tags.add(COMM(encoding=3, lang=iso639_2(meta.language), desc="", text=labels.stamp(meta)))
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
                  child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=labels.text("audio.contents"))]))
    tags.save(str(path), v2_version=4)


def iso639_2(language: str) -> str:
    """The three-letter code ID3 wants for a BCP 47 tag (en-GB → eng)."""
    import langcodes

    try:
        return langcodes.Language.get(language).to_alpha3()
    except (LookupError, ValueError):
        return "und"


def synthesiser_for(leaflet: Leaflet, settings: Settings) -> Synthesiser:
    """A synthesiser in the leaflet's language, with the voice its catalogue prefers if that is installed."""
    labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)
    return Synthesiser(leaflet.meta.language, settings.audio, str(labels.entries.get("speech.voice", "")))


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    from mutagen.mp3 import MP3

    synthesiser = synthesiser_for(leaflet, settings)
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
