"""MIDI + SoundFont rendering: our engine by default, the ``fluidsynth`` CLI on request."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from audio_engine import _native
from audio_engine.errors import AudioFileNotFoundError, MidiError

PathLike = Union[str, "os.PathLike[str]"]
log = logging.getLogger("rust_audio_engine")

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def _soundfont(path: Optional[PathLike]) -> str:
    if path is not None:
        return os.fspath(path)
    return os.environ.get("RUST_AUDIO_ENGINE_SOUNDFONT") or DEFAULT_SOUNDFONT


def _device(use_gpu: bool) -> str:
    # There is no GPU path: say so instead of pretending.
    if use_gpu:
        log.info("use_gpu=True: no GPU path exists yet; rendering on the CPU")
    return "cpu"


def _check_engine(engine: str) -> None:
    if engine not in ("rust", "fluidsynth"):
        raise ValueError(f"engine must be 'rust' or 'fluidsynth', got {engine!r}")


def _fluidsynth(midi_path: PathLike, output_path: PathLike, soundfont: str, sample_rate: int, reverb: bool) -> float:
    """Renders through the ``fluidsynth`` CLI with the same checks, errors and atomic output."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise AudioFileNotFoundError(2, "engine='fluidsynth' needs the fluidsynth program (apt-get install fluidsynth)", "fluidsynth")
    midi, out = os.fspath(midi_path), os.fspath(output_path)
    for p in (midi, soundfont):
        if not os.path.exists(p):
            raise AudioFileNotFoundError(2, f"{p}: No such file or directory", p)
    with open(midi, "rb") as f:
        head = f.read(4)
    if head not in (b"MThd", b"RIFF"):
        raise MidiError(f"{midi}: not a valid MIDI file: not a midi file")
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=os.path.dirname(os.path.abspath(out)))
    os.close(fd)
    try:
        args = [exe, "-ni", "-q", "-F", tmp, "-r", str(sample_rate)]
        if not reverb:
            args += ["-R", "0", "-C", "0"]
        res = subprocess.run(args + [soundfont, midi], capture_output=True, text=True)
        # fluidsynth exits 0 on a corrupt MIDI file but reports it on stderr.
        if res.returncode != 0 or "error:" in (res.stderr or "") or os.path.getsize(tmp) <= 44:
            raise MidiError(f"{midi}: fluidsynth failed: {(res.stderr or res.stdout).strip()}")
        with wave.open(tmp) as w:
            seconds = w.getnframes() / w.getframerate()
        os.replace(tmp, out)
        return seconds
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def synthesize_midi(
    midi_path: PathLike,
    output_path: PathLike,
    soundfont_path: Optional[PathLike] = None,
    sample_rate: int = 44100,
    use_gpu: bool = True,
    reverb: bool = True,
    *,
    format: str = "wav16",
    jobs: int = 1,
    progress: Optional[Callable[[float], Any]] = None,
    engine: str = "rust",
) -> float:
    _check_engine(engine)
    _device(use_gpu)
    sf = _soundfont(soundfont_path)
    if engine == "fluidsynth":
        return _fluidsynth(midi_path, output_path, sf, sample_rate, reverb)
    return _native.synthesize_midi(
        os.fspath(midi_path), os.fspath(output_path), sf, sample_rate, reverb, format=format, jobs=jobs, progress=progress
    )


def batch_synthesize_midi(
    midi_paths: Sequence[PathLike],
    output_dir: PathLike,
    soundfont_path: Optional[PathLike] = None,
    sample_rate: int = 44100,
    use_gpu: bool = True,
    reverb: bool = True,
    *,
    format: str = "wav16",
    jobs: int = 0,
    progress: Optional[Callable[[float], Any]] = None,
    engine: str = "rust",
) -> list[dict[str, Any]]:
    _check_engine(engine)
    _device(use_gpu)
    sf = _soundfont(soundfont_path)
    paths = [os.fspath(p) for p in midi_paths]
    if engine == "rust":
        return _native.batch_synthesize_midi(
            paths, os.fspath(output_dir), sf, sample_rate, reverb, format=format, jobs=jobs, progress=progress
        )
    os.makedirs(output_dir, exist_ok=True)
    results = []
    for i, p in enumerate(paths):
        out = str(Path(output_dir) / (Path(p).stem + ".wav"))
        item: dict[str, Any] = {"path": p, "output": out, "duration": None, "error": None, "error_type": None, "device": None}
        try:
            item["duration"] = _fluidsynth(p, out, sf, sample_rate, reverb)
            item["device"] = "fluidsynth"
        except (MidiError, FileNotFoundError, OSError) as e:
            item["error"], item["error_type"] = str(e), type(e).__name__
        results.append(item)
        if progress is not None:
            progress((i + 1) / len(paths))
    return results


def render_midi(
    midi_path: PathLike,
    soundfont_path: Optional[PathLike] = None,
    sample_rate: int = 44100,
    use_gpu: bool = True,
    reverb: bool = True,
    *,
    jobs: int = 1,
    progress: Optional[Callable[[float], Any]] = None,
    engine: str = "rust",
):
    _check_engine(engine)
    _device(use_gpu)
    sf = _soundfont(soundfont_path)
    if engine == "fluidsynth":
        import numpy as np

        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.wav")
            _fluidsynth(midi_path, out, sf, sample_rate, reverb)
            with wave.open(out) as w:
                raw = w.readframes(w.getnframes())
        return (np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0).reshape(-1, 2)
    return _native.render_midi(os.fspath(midi_path), sf, sample_rate, reverb, jobs=jobs, progress=progress)
