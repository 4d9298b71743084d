"""Type stubs for realtime_backend (session tracks)."""

import os
from typing import Any, Callable, Mapping, Optional, Union

import numpy as np
import numpy.typing as npt

from audio_engine.errors import (
    AudioDecodeError as AudioDecodeError,
    AudioEngineError as AudioEngineError,
    AudioFileNotFoundError as AudioFileNotFoundError,
    AudioIOError as AudioIOError,
    DeviceError as DeviceError,
    TrackFormatError as TrackFormatError,
)

TrackInput = Union[str, Mapping[str, Any], "os.PathLike[str]"]
"""A track: JSON text (starts with ``{``), a dict, or a path to a track file."""

def render_full_wav(
    track_json: TrackInput,
    out_path: Union[str, "os.PathLike[str]"],
    *,
    format: str = "wav16",
    target_level: Optional[float] = None,
    lenient: bool = False,
    progress: Optional[Callable[[float], None]] = None,
) -> float:
    """Render the whole track to a WAV file (written to a temp file, then renamed).

    ``format``: ``"wav16"``, ``"wav24"`` or ``"f32"``. ``target_level``: final peak in (0, 1]
    (default: the track's ``normalization_level``, 0.95; 0.25 matches the editor's renders).
    ``lenient``: skip voices with unknown functions instead of failing. ``progress`` is called
    with the fraction done. The GIL is released while rendering. Returns the seconds written.

    Raises TrackFormatError (ValueError), AudioFileNotFoundError (FileNotFoundError),
    AudioDecodeError, AudioIOError (OSError); all derive from RuntimeError.
    """

def render_sample_wav(
    track_json: TrackInput,
    out_path: Union[str, "os.PathLike[str]"],
    duration: float = 60.0,
    start_time: float = 0.0,
    *,
    format: str = "wav16",
    target_level: Optional[float] = None,
    lenient: bool = False,
    progress: Optional[Callable[[float], None]] = None,
) -> float:
    """Render ``duration`` seconds from ``start_time`` (default: the first 60 s) to a WAV file.
    Same options and errors as :func:`render_full_wav`. Returns the seconds written."""

def render_track(
    track_json: TrackInput,
    start: float = 0.0,
    duration: Optional[float] = None,
    sample_rate: Optional[int] = None,
    *,
    target_level: Optional[float] = None,
    lenient: bool = False,
) -> npt.NDArray[np.float32]:
    """Render to a float32 array of shape ``(frames, 2)`` (left, right). ``duration=None``
    renders to the end; ``sample_rate=None`` uses the track's rate. Same errors as above."""

def validate_track(track_json: TrackInput, *, lenient: bool = False) -> float:
    """Load and check a track (every voice's parameters) without rendering; returns its
    length in seconds. Raises the errors above."""
