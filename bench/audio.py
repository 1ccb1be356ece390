"""Benchmark of the audio reading against its floor: the voice engine's own command line on the same script.

``measure`` builds one leaflet's MP3 with leafpress (script, synthesis by the chosen voice,
joining, loudness, encoding, tags), then times the voice engine's command line speaking the
same script to a WAV plus the same MP3 encoding. The issue's target: no more than 1.5
times the floor. Run alone: ``python -m bench.audio source/poem-achalasia.md``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

from bench.timing import paired_times
from leafpress.reader import read_leaflet
from leafpress.renderers import audio
from leafpress.settings import Settings, load_settings
from leafpress.speech import build_script

TARGET = 1.5
RUNS = 5  # runs of each, after one untimed warm-up


def measure(source: Path, workdir: Path, settings: Settings | None = None) -> dict:
    """Seconds for our audio build and for the floor on one leaflet, and their ratio, timed in
    turns as bench.run times every format."""
    actions = _actions(Path(source), Path(workdir), settings or load_settings())

    def floor() -> None:
        actions["engine_cli"]()
        actions["encoding"]()

    ours, floor_s = paired_times(actions["ours"], floor, RUNS)  # ours first: it writes the script the floor reads
    return {"format": "audio", "ours_s": round(ours, 3), "floor_s": round(floor_s, 3), "ratio": round(ours / floor_s, 2), "target": TARGET}


def _actions(source: Path, workdir: Path, settings: Settings) -> dict[str, Callable[[], None]]:
    """Our build, our synthesis alone, the voice engine's command line on the same script, and the MP3 encoding of its WAV."""
    leaflet = read_leaflet(source)
    workdir.mkdir(parents=True, exist_ok=True)
    targets = {"audio": workdir / f"{leaflet.stem}.mp3", "audio_script": workdir / f"{leaflet.stem}.audio.txt"}
    script_path = targets["audio_script"]
    wav = workdir / "engine.wav"
    engine = audio.synthesiser_for(leaflet, settings)  # the voice's engine, for its own command line
    engine.close()

    def ours() -> None:
        audio.render(leaflet, settings, targets)

    def our_synthesis() -> None:
        synthesiser = audio.synthesiser_for(leaflet, settings)
        try:
            audio.record(build_script(leaflet, settings), synthesiser, settings.audio.sentence_pause_ms)
        finally:
            synthesiser.close()

    engine_cli, encoding = engine_floor(engine, settings, script_path, wav)
    return {"ours": ours, "our_synthesis": our_synthesis, "engine_cli": engine_cli, "encoding": encoding}


def engine_floor(engine, settings: Settings, script: Path, wav: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """The floor of one recording, in two steps: the voice's engine speaking the script file on its own
    command line to ``wav``, then the MP3 encoding of that WAV."""

    def engine_cli() -> None:  # Pico's command line takes the script's text, read when it runs
        subprocess.run(engine.command_line(script, wav), check=True, capture_output=True)

    def encoding() -> None:
        import numpy as np

        with wave.open(str(wav), "rb") as file:
            rate, pcm = file.getframerate(), file.readframes(file.getnframes())
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        audio.encode_mp3(audio.Recording(samples, rate, ()), settings.audio.bitrate_kbps)

    return engine_cli, encoding


def _median_times(run: Callable[[], None]) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (this process's threads plus its children's) of RUNS runs."""
    run()
    walls, cpus = [], []
    for _ in range(RUNS):
        cpu, wall = _cpu_seconds(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", default=Path("source/poem-achalasia.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as workdir:
        row = measure(args.source, Path(workdir))
        actions = _actions(args.source, Path(workdir), load_settings())
        # Synthesis alone, also in CPU seconds, which other work on the machine disturbs less.
        times = {}
        times["our_synthesis"], times["our_synthesis_cpu"] = _median_times(actions["our_synthesis"])
        times["engine_cli"], times["engine_cli_cpu"] = _median_times(actions["engine_cli"])
    print(f"audio {args.source}: ours {row['ours_s']:.2f} s, floor {row['floor_s']:.2f} s (the engine's CLI + encoding),"
          f" ratio {row['ratio']:.2f}, target {TARGET}")
    for unit, ours_key, cli_key in (("s", "our_synthesis", "engine_cli"), ("CPU s", "our_synthesis_cpu", "engine_cli_cpu")):
        print(f"synthesis alone: ours {times[ours_key]:.2f} {unit} against the engine's CLI {times[cli_key]:.2f} {unit}"
              f" ({times[ours_key] / times[cli_key]:.2f}x)")


if __name__ == "__main__":
    main()
