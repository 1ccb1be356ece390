"""espeak-ng through pyttsx3: the engine that speaks every language, and the fallback; and espeak-ng's
MBROLA voices, through the same driver.

pyttsx3 (espeak-ng on Linux) writes one WAV per save_to_file + runAndWait, and its espeak
driver polls every 10 ms, so one sentence per call spends most of its time waiting. Here
several sentences go into one call, separated by paragraph breaks, where espeak-ng leaves
a longer silence than anywhere inside a sentence; the audio is cut at those silences, and
each call waits for pyttsx3's "finished-utterance" event, so no file is read half written.

pyttsx3 writes every WAV with a 22,050 Hz header; MBROLA voices make 16 kHz samples (pyttsx3's
issue 220), so their true rate is asked of espeak-ng's own command line, once per voice.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Sequence
from pathlib import Path

from ..errors import RenderError
from ..languages.tags import language_info
from ..renderers.base import ProcessCache
from ..settings import AudioOptions
from .voices import EDGE_MS, Engine, Speaker, Voice, fade, files_fingerprint, plausible, trim

log = logging.getLogger(__name__)

PROGRAM = "espeak-ng"
MBROLA_DATA = Path("/usr/share/mbrola")
MAX_ATTEMPTS = 3
BATCH_CHARS = 400  # text per save_to_file: enough to hide the driver's 10 ms poll, short enough to stay quick
SEPARATOR = "\n\n"  # a paragraph break between the sentences of one call
WAIT_SECONDS = 60

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


@functools.cache
def _espeak_voices() -> tuple[Voice, ...]:
    return tuple(Voice("espeak", v.id, str((v.languages or [""])[0]).lower()) for v in _speech_engine().getProperty("voices"))


def espeak_voice(language: str, wanted: str = "", preferred: str = "") -> Voice:
    """The espeak-ng voice for a BCP 47 language: ``wanted`` (audio.voice) if set, else the
    language catalogue's ``preferred`` voice if installed, else an exact match of the tag, then
    the same base language."""
    voices = _espeak_voices()
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


def _mbrola_voices() -> list[Voice]:
    """espeak-ng's MBROLA voices whose database is installed (``mb-en1`` needs /usr/share/mbrola/en1/en1)."""
    program = shutil.which(PROGRAM)
    if program is None or not MBROLA_DATA.is_dir():
        return []
    listing = subprocess.run([program, "--voices=mb"], capture_output=True, text=True, timeout=30).stdout
    voices = []
    for line in listing.splitlines()[1:]:
        fields = line.split()
        match = re.fullmatch(r"mb/mb-([a-z]+\d)", fields[4]) if len(fields) >= 5 else None
        if match and (MBROLA_DATA / match[1] / match[1]).is_file():
            language = {"en-uk": "en-gb"}.get(fields[1], fields[1])
            voices.append(Voice("mbrola", match[1], language))
    return voices


def _fingerprint(paths: Sequence[Path]) -> str:
    program = shutil.which(PROGRAM)
    if program is None:
        return "absent"
    try:
        version = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "|".join([version, files_fingerprint(p for folder in paths if folder.is_dir() for p in sorted(folder.rglob("*")))])


class Synthesiser(Speaker):
    """Speaks utterances through pyttsx3, several sentences to each call of the engine."""

    def __init__(self, voice: Voice, options: AudioOptions):
        self.engine = _speech_engine()
        self.voice = voice
        self.words_per_minute = options.rate
        self.sample_rate = 0
        self.calls = 0
        self._true_rate = _mbrola_rate(voice.id) if voice.engine == "mbrola" else 0
        self._workdir = tempfile.TemporaryDirectory(prefix="leafpress-audio-")
        self._finished = threading.Event()
        self._subscription = self.engine.connect("finished-utterance", self._on_finished)
        self._separator_samples = 0
        # espeak-ng sometimes loses a rate set while it is still starting (measured: 2 runs in 300
        # spoke at its default rate throughout), so the properties are set again once a first
        # utterance has finished, and only then is the paragraph silence measured.
        for _ in range(2):
            self.engine.setProperty("voice", self._driver_voice)
            self.engine.setProperty("rate", options.rate)
            self._separator_samples = self._calibrate()

    @property
    def _driver_voice(self) -> str:
        return f"mb-{self.voice.id}" if self.voice.engine == "mbrola" else self.voice.id

    def close(self) -> None:
        self.engine.disconnect(self._subscription)
        self._workdir.cleanup()

    def command_line(self, script: Path, wav: Path) -> list[str]:
        return [PROGRAM, "-v", self._driver_voice, "-s", str(self.words_per_minute), "-w", str(wav), "-f", str(script)]

    def _on_finished(self, **_event) -> None:
        self._finished.set()

    def speak_all(self, texts: Sequence[str]) -> list:
        """Every utterance's sound, trimmed to EDGE_MS of silence and faded at both ends."""
        sounds: list = []
        for batch in self._batches(texts):
            pieces = self._split(self._call(SEPARATOR.join(batch)), len(batch)) if len(batch) > 1 else None
            if pieces is None:  # one utterance, or silences that did not fall where expected
                pieces = [trim(self._call(text), self.sample_rate) for text in batch]
            sounds.extend(fade(piece, self.sample_rate) for piece in pieces)
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
        0.37 s inside a sentence (at 155 words a minute). A voice without that gets one call per utterance.
        """
        samples = self._call(f"Yes. No.{SEPARATOR}Yes.")
        runs = sorted(length for start, length in _silences(samples, 1) if start > 0 and start + length < samples.size)
        if len(runs) < 2 or runs[-1] < 1.4 * runs[-2]:
            log.debug("no clear paragraph silence from this voice (%s); one utterance per call", runs[-2:])
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
        pieces = [trim(samples[bounds[i]:bounds[i + 1]], self.sample_rate) for i in range(0, len(bounds), 2)]
        return pieces if all(piece.size for piece in pieces) else None

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
            if samples is not None and plausible(text, samples, self.sample_rate, self.words_per_minute):
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
            rate = self._true_rate or wav.getframerate()
            if self.sample_rate and rate != self.sample_rate:
                raise RenderError("the speech engine changed its sample rate between utterances")
            self.sample_rate = rate
            frames = wav.getnframes()
            data = wav.readframes(frames)
        if len(data) != frames * 2:  # a file shorter than its header says
            return None
        return np.frombuffer(data, dtype="<i2")


@functools.cache
def _mbrola_rate(database: str) -> int:
    """The sample rate of an MBROLA voice, from the header espeak-ng's own command line writes."""
    with tempfile.TemporaryDirectory(prefix="leafpress-mbrola-") as folder:
        wav = Path(folder) / "probe.wav"
        subprocess.run([PROGRAM, "-v", f"mb-{database}", "-w", str(wav), "a"], capture_output=True, timeout=60, check=False)
        if not wav.is_file():
            raise RenderError(f"the MBROLA voice '{database}' does not speak; reinstall mbrola and mbrola-{database}")
        with wave.open(str(wav), "rb") as file:
            return file.getframerate()


def _silences(samples, min_length: int) -> list[tuple[int, int]]:
    """(start, length) of every run of exact zeros at least min_length samples long."""
    import numpy as np

    edges = np.diff(np.concatenate(([0], (samples == 0).view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= min_length
    return list(zip(starts[keep].tolist(), (ends - starts)[keep].tolist(), strict=True))


ENGINES = (
    Engine("espeak", voices=lambda: list(_espeak_voices()) if shutil.which(PROGRAM) else [], speaker=Synthesiser,
           fingerprint=lambda: _fingerprint([]), has_voice=lambda name: shutil.which(PROGRAM) is not None),
    Engine("mbrola", voices=_mbrola_voices, speaker=Synthesiser, fingerprint=lambda: _fingerprint([MBROLA_DATA]),
           has_voice=lambda name: shutil.which(PROGRAM) is not None and (MBROLA_DATA / name / name).is_file()),
)
