"""Waveform pictures and score-informed performance analysis (``rust_audio_engine``)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Optional, Union

import numpy as np

from audio_engine import _native
from audio_engine.errors import AnalysisError

PathLike = Union[str, "os.PathLike[str]"]
log = logging.getLogger("rust_audio_engine")


def _cpu(use_gpu: bool, what: str) -> None:
    # There is no GPU path: say so instead of pretending.
    if use_gpu:
        log.info("use_gpu=True: no GPU path exists for %s; running on the CPU", what)


def generate_waveform(
    audio: Any = None,
    width: int = 1000,
    height: int = 200,
    use_gpu: bool = True,
    *,
    sample_rate: int = 44100,
    channels: str = "mixed",
    color: str = "#3b82f6",
    rms_color: Optional[str] = "#1e40af",
    background: str = "#ffffff",
    time_axis: bool = False,
    axis_color: str = "#444444",
    audio_path: Optional[PathLike] = None,
) -> bytes:
    """PNG bytes of a waveform: min..max and RMS of every pixel column."""
    _cpu(use_gpu, "waveforms")
    if audio is None:
        audio = audio_path
    if audio is None:
        raise AnalysisError("generate_waveform needs audio (a path or a numpy array)")
    style = dict(color=color, rms_color=rms_color, background=background, time_axis=time_axis, axis_color=axis_color)
    if isinstance(audio, (str, bytes, os.PathLike)):
        return _native.waveform_png_from_file(os.fsdecode(audio), width, height, channels=channels, **style)
    arr = np.asarray(audio)
    if arr.ndim == 1:
        ch = 1
    elif arr.ndim == 2:
        ch = arr.shape[1]
    else:
        raise AnalysisError(f"audio array must be 1-D (mono) or 2-D (frames, channels), got shape {arr.shape}")
    flat = np.ascontiguousarray(arr, dtype=np.float32).reshape(-1)
    return _native.waveform_png_from_samples(flat, ch, sample_rate, width, height, mode=channels, **style)


def analyze_performance(
    recording_path: PathLike,
    expected_midi_path: PathLike,
    use_gpu: bool = True,
    *,
    rhythm_tolerance_ms: float = 50.0,
) -> str:
    """JSON report comparing a recording with the exercise's MIDI file."""
    _cpu(use_gpu, "analysis")
    return _native.analyze_performance_json(
        os.fspath(recording_path), os.fspath(expected_midi_path), rhythm_tolerance_ms=rhythm_tolerance_ms
    )


def analyze(
    recording_path: PathLike,
    expected_midi_path: PathLike,
    use_gpu: bool = True,
    *,
    rhythm_tolerance_ms: float = 50.0,
) -> dict[str, Any]:
    """:func:`analyze_performance` as a dict."""
    return json.loads(analyze_performance(recording_path, expected_midi_path, use_gpu, rhythm_tolerance_ms=rhythm_tolerance_ms))
