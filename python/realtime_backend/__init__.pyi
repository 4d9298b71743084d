"""Type stubs for realtime_backend (session tracks)."""

import os
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from audio_engine.errors import (
    AudioDecodeError as AudioDecodeError,
    AudioEngineError as AudioEngineError,
    AudioFileNotFoundError as AudioFileNotFoundError,
    AudioIOError as AudioIOError,
    ClipIndexError as ClipIndexError,
    ClipSamplesError as ClipSamplesError,
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

# --- Live playback (default player) -------------------------------------------------------

def start_stream(
    track_json: TrackInput,
    start_time: Optional[float] = None,
    *,
    sample_rate: Optional[int] = None,
    device: Optional[str] = None,
    lenient: bool = False,
    clips_pushed: bool = False,
) -> None:
    """Start live playback on the default (or named) device at ``start_time`` seconds.

    Replaces whatever the default player was playing. The GIL is released while the device
    opens and the track is built. Raises TrackFormatError on a bad track, DeviceError when no
    output device can be opened.

    Overlay clips: a clip whose audio was pushed (:func:`push_clip_samples`) plays the pushed
    audio and its file is not read. A clip with an empty or missing ``file_path`` is silent
    until pushed (offline rendering rejects it). A named clip file that is missing or cannot
    be decoded is an error (AudioFileNotFoundError, AudioDecodeError) unless
    ``clips_pushed=True``: then no clip file is read at all and every clip is silent until
    its audio is pushed (the GUI decodes the clips itself).
    """

def stop_stream() -> None:
    """Stop and release the device; harmless when nothing plays. Also forgets pushed clips."""

SampleData = Union[npt.ArrayLike, "memoryview", Sequence[float]]
"""Interleaved stereo float samples: a float32 numpy array (any shape, flattened in C order,
so ``(frames, 2)`` works), another float dtype (converted), a buffer or a sequence of floats."""

def push_clip_samples(index: int, samples: SampleData, finished: bool = False) -> None:
    """Stream decoded audio of overlay clip ``index`` (``clips[index]`` of the track), as
    interleaved stereo float32 at the stream's sample rate, in pieces; ``finished=True``
    marks its end (a later push for the same clip starts it over).

    The pieces are appended to the default player's staging buffer for that clip. When the
    clip is finished, and while it is still pushed each time it has doubled in length (by at
    least 2 s), the playing track is rebuilt off the audio thread with the clip's audio taken
    from the pushed samples instead of its file, and takes over at the same position with the
    ``update_track`` crossfade (only the clip differs between the two). Pushed before
    :func:`start_stream`, the samples are used from the start. Pushed audio is kept across
    ``start_stream``/``update_track`` until :func:`stop_stream` or :func:`clear_clip_samples`.
    A pushed clip is mixed with headroom for full scale, so the rest of the track keeps its
    level when the clip arrives.

    Raises ClipIndexError (an IndexError and a ValueError) when ``index`` < 0 or, with a
    track loaded, >= its number of clips; ClipSamplesError (ValueError) for an odd number of
    samples, a non-finite value or data that is not numbers. Both are RuntimeErrors too.
    """

def clear_clip_samples(index: Optional[int] = None) -> None:
    """Forget the pushed audio of clip ``index`` (``None``: of every clip). The playing track
    keeps its current audio until it is next built (start_stream, update_track, a push)."""

def enable_gpu(enable: bool) -> bool:
    """There is no GPU path: always returns ``False`` (rendering stays on the CPU), and
    ``enable=True`` emits a ``RuntimeWarning`` saying so."""

def pause_stream() -> None:
    """Pause after a 10 ms fade, keeping the position. DeviceError if no stream is open."""

def resume_stream() -> None:
    """Resume where it paused (phase-continuous). DeviceError if no stream is open."""

def start_from(position: float) -> None:
    """Seek the playing stream to ``position`` seconds (short fade out and in)."""

def update_track(track_json: TrackInput) -> None:
    """Replace the track while playing; it takes over at the same position with a 0.5 s crossfade."""

def skip_step(n: int = 1) -> None:
    """Jump ``n`` steps forward (negative: back), clamped to the track."""

def set_volume(x: float) -> None:
    """Master volume, linear gain 0..4 (ramped, no click)."""

def set_master_gain(gain: float) -> None:
    """The GUI's volume slider: linear gain clamped to 0..1."""

def status() -> dict[str, Any]:
    """``state`` ("idle", "stopped", "playing", "paused", "finished", "error"), ``position`` and
    ``duration`` (s), ``step`` and ``step_count``, ``volume``, ``underruns``, ``sample_rate``,
    ``output_frames``, ``dsp_load``, ``command_latency`` (s), ``device``, ``error``."""

class Player:
    """A player of its own (several can play at once). Context manager: closes the device."""

    def __init__(
        self,
        device: Optional[str] = None,
        sample_rate: Optional[int] = None,
        buffer_frames: Optional[int] = None,
        crossfade: float = 0.5,
        lenient: bool = False,
    ) -> None: ...
    def start(
        self, track_json: TrackInput, start_time: float = 0.0, *, clips_pushed: bool = False
    ) -> None: ...
    def push_clip_samples(self, index: int, samples: SampleData, finished: bool = False) -> None:
        """:func:`push_clip_samples` for this player."""
    def clear_clip_samples(self, index: Optional[int] = None) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...
    def seek(self, seconds: float) -> None: ...
    def update_track(self, track_json: TrackInput) -> None: ...
    def skip_step(self, n: int = 1) -> None: ...
    def set_volume(self, x: float) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Player": ...
    def __exit__(self, *args: object) -> bool: ...
