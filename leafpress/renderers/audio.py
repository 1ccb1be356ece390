"""The audio reading: the script spoken by the chosen voice, joined, levelled, encoded to MP3 and tagged.

The voice comes from leafpress.speech (RHVoice, Pico, MBROLA or espeak-ng, by settings and
ranking); each engine hands back one sound per sentence. The pieces are joined with the
pauses the script asks for, brought to one loudness (EBU R 128), encoded to MP3 and tagged
with ID3v2.4: the stamp and the voice in comments, one chapter (CHAP, listed in a CTOC) per
section.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RenderError
from ..languages.catalogue import catalogue_for
from ..model import Leaflet
from ..settings import Settings
from ..speech import Script, build_script
from ..speech.voices import Speaker, Voice, choose_voice, open_speaker, voice_credit
from .base import Renderer

log = logging.getLogger(__name__)

LOUDNESS_LUFS = -23.0  # EBU R 128: every leaflet plays at the same loudness
PEAK_CEILING = 10 ** (-1 / 20)  # -1 dBFS: peaks above it are turned down, never clipped
MP3_QUALITY = 5  # LAME's default quality: -q 2 takes twice as long with no audible gain for speech at 64 kbit/s


@dataclass(frozen=True)
class Recording:
    samples: object  # numpy float32 array
    sample_rate: int
    chapter_times_ms: tuple[tuple[str, int, int], ...]  # (title, start, end)
    sentence_times_ms: tuple[tuple[str, int, int], ...] = ()  # each utterance: (text, start, end of its speech)


def record(script: Script, synthesiser: Speaker, pause_ms: int) -> tuple[Script, Recording]:
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

    pieces, times, sentences, position = [], [], [], 0
    for chapter in full.chapters:
        start = position
        for utterance in chapter.utterances:
            audio = spoken[utterance.text]
            pause = np.zeros(rate * utterance.pause_after_ms // 1000, dtype=np.float32)
            pieces.extend((audio, pause))
            sentences.append((utterance.text, position * 1000 // rate, (position + audio.size) * 1000 // rate))
            position += audio.size + pause.size
        times.append((chapter.title, start * 1000 // rate, position * 1000 // rate))
    return full, Recording(level(np.concatenate(pieces), rate), rate, tuple(times), tuple(sentences))


def _length(samples, pause_ms: int, rate: int) -> float:
    return samples.size / rate + pause_ms / 1000


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


SENTENCES_DESC = "sentences"  # the SYLT frame that times every sentence (the read-along EPUB's timings)


def write_tags(path: Path, leaflet: Leaflet, settings: Settings, recording: Recording, voice: Voice) -> None:
    from mutagen.id3 import CHAP, COMM, CTOC, ID3, SYLT, TALB, TDRC, TIT2, TLAN, TPE1, TXXX, CTOCFlags

    meta = leaflet.meta
    labels = catalogue_for(meta.language, settings.layouts_dir)
    tags = ID3()
    tags.add(TIT2(encoding=3, text=meta.title))
    tags.add(TPE1(encoding=3, text=settings.organisation.name))
    tags.add(TALB(encoding=3, text=settings.organisation.series))
    tags.add(TLAN(encoding=3, text=iso639_2(meta.language)))
    tags.add(TDRC(encoding=3, text=str(meta.last_reviewed.year)))
    tags.add(COMM(encoding=3, lang=iso639_2(meta.language), desc="", text=labels.stamp(meta)))
    tags.add(COMM(encoding=3, lang="eng", desc="voice", text=f"Read by {voice.key} ({voice_credit(voice)})"))
    for key, value in (
        ("resource_number", meta.resource_number),
        ("last_reviewed", meta.last_reviewed.iso),
        ("next_review", meta.next_review.iso),
        ("language", meta.language),
        ("voice", voice.key),
    ):
        tags.add(TXXX(encoding=3, desc=key, text=value))
    ids = []
    for number, (title, start, end) in enumerate(recording.chapter_times_ms, start=1):
        element_id = f"chp{number}"
        ids.append(element_id)
        tags.add(CHAP(element_id=element_id, start_time=start, end_time=end, start_offset=0xFFFFFFFF,
                      end_offset=0xFFFFFFFF, sub_frames=[TIT2(encoding=3, text=title)]))
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                  child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=labels.text("audio.contents"))]))
    # Synchronised text (ID3v2.4 SYLT, times in milliseconds, "text transcription"): each sentence
    # where its speech starts, an empty entry where the pause after it starts.
    synced = [entry for text, start, end in recording.sentence_times_ms for entry in ((text, start), ("", end))]
    tags.add(SYLT(encoding=3, lang=iso639_2(meta.language), format=2, type=2, desc=SENTENCES_DESC, text=synced))
    tags.save(str(path), v2_version=4)


@dataclass(frozen=True)
class RecordingTags:
    """What a book made from a recording needs of the MP3's tags."""

    sentences: tuple[tuple[str, int, int], ...]  # each sentence, where its speech starts and ends (ms)
    voice: str  # the voice that read it, "engine:voice"
    chapters: tuple[tuple[str, int, int], ...] = ()  # each chapter's title, start and end (ms), in order


_made_here: tuple[tuple[int, int, int], RecordingTags] | None = None  # the last MP3 this process made: (inode, size, mtime), its tags


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns  # kept when the build renames the file into place


def read_recording_tags(path: Path) -> RecordingTags:
    """The sentences' timings, the voice and the chapters, as write_tags wrote them (no sentences in
    an MP3 of an earlier version): from memory when this process has just made that very file (a
    build makes the audio, then the book and the page), else from the MP3, parsing those frames
    only. Empty for a file that is not an MP3 with tags."""
    from mutagen import MutagenError
    from mutagen.id3 import CHAP, ID3, SYLT, TIT2, TXXX

    try:
        if _made_here is not None and _made_here[0] == _identity(path):
            return _made_here[1]
        tags = ID3(str(path), known_frames={"SYLT": SYLT, "TXXX": TXXX, "CHAP": CHAP, "TIT2": TIT2})
    except (MutagenError, OSError):
        return RecordingTags((), "")
    entries = next((list(frame.text) for frame in tags.getall("SYLT") if frame.desc == SENTENCES_DESC), [])
    voice = tags.getall("TXXX:voice")
    chapters = sorted(tags.getall("CHAP"), key=lambda frame: frame.start_time)
    return RecordingTags(
        tuple((text, start, end) for (text, start), (_gap, end) in zip(entries[::2], entries[1::2], strict=False) if text),
        str(voice[0].text[0]) if voice else "",
        tuple((str(frame.sub_frames["TIT2"].text[0]) if "TIT2" in frame.sub_frames else "", frame.start_time, frame.end_time)
              for frame in chapters),
    )


def iso639_2(language: str) -> str:
    """The three-letter code ID3 wants for a BCP 47 tag (en-GB → eng)."""
    import langcodes

    try:
        return langcodes.Language.get(language).to_alpha3()
    except (LookupError, ValueError):
        return "und"


def voice_for(leaflet: Leaflet, settings: Settings) -> Voice:
    """The voice that reads the leaflet: settings, ranking, else espeak-ng with the catalogue's voice."""
    labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)
    return choose_voice(leaflet.meta.language, settings, str(labels.entries.get("speech.voice", "")))


def synthesiser_for(leaflet: Leaflet, settings: Settings) -> Speaker:
    """A speaker in the leaflet's language, with the voice chosen for it."""
    return open_speaker(voice_for(leaflet, settings), settings.audio)


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    from mutagen.mp3 import MP3

    synthesiser = synthesiser_for(leaflet, settings)
    try:
        script, recording = record(build_script(leaflet, settings), synthesiser, settings.audio.sentence_pause_ms)
    finally:
        synthesiser.close()
    targets["audio"].write_bytes(encode_mp3(recording, settings.audio.bitrate_kbps))
    write_tags(targets["audio"], leaflet, settings, recording, synthesiser.voice)
    targets["audio_script"].write_text(script.text(), encoding="utf-8")
    global _made_here
    _made_here = (_identity(targets["audio"]), RecordingTags(recording.sentence_times_ms, synthesiser.voice.key, recording.chapter_times_ms))

    expected = recording.samples.size / recording.sample_rate
    actual = MP3(str(targets["audio"])).info.length
    if abs(actual - expected) > 1.0:
        raise RenderError(f"the MP3 lasts {actual:.1f} s but {expected:.1f} s of speech was made; try the build again")


RENDERER = Renderer(name="audio", outputs={"audio": ".mp3", "audio_script": ".audio.txt"}, render=render)
