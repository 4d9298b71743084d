"""MIDI + SoundFont rendering (``rust_audio_engine``).

Errors: :class:`audio_engine.errors.AudioFileNotFoundError` (a ``FileNotFoundError``) for a
missing MIDI file or SoundFont; :class:`audio_engine.errors.MidiError` (a ``ValueError``) for a
corrupt MIDI file or SoundFont or a bad option, naming the file and the reason;
:class:`audio_engine.errors.AudioIOError` (an ``OSError``) when the output cannot be written.
On error nothing is left at ``output_path``. All are ``RuntimeError`` too.
"""

import os
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike[str]]

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
    """Renders a MIDI file (types 0, 1, 2) to a stereo WAV file; returns the seconds written.

    ``soundfont_path`` defaults to ``$RUST_AUDIO_ENGINE_SOUNDFONT`` or TimGM6mb; SoundFonts are
    parsed once per process (cache keyed by path + mtime). ``format``: ``wav16`` (default),
    ``wav24`` or ``f32``; ``sample_rate`` 16000-192000. ``reverb``: 100 ms convolution reverb,
    30 % wet. ``use_gpu``: accepted; there is no GPU path yet, the CPU path runs and the
    ``rust_audio_engine`` logger says so. ``jobs`` > 1 shares the notes among that many
    synthesizers on that many cores (same sound up to float rounding). ``progress(fraction)`` is called as rendering advances; the GIL is released while
    rendering. ``engine="fluidsynth"`` renders through the ``fluidsynth`` program instead.
    """

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
    """Renders many files into ``output_dir/<stem>.wav`` on ``jobs`` threads (0 = all cores).

    Returns, in input order, one dict per file: ``path``, ``output``, ``duration`` (seconds or
    None), ``error`` (message or None), ``error_type`` (exception class name or None),
    ``device`` (``"cpu"``, ``"fluidsynth"`` or None). One bad file does not stop the batch.
    """

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
) -> npt.NDArray[np.float32]:
    """Renders a MIDI file into a float32 array of shape (frames, 2), including the release tail."""
