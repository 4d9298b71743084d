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

def generate_waveform(
    audio: Union[PathLike, npt.ArrayLike, None] = None,
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
    """PNG bytes (RGBA) of a waveform picture, ``width`` x ``height`` pixels.

    ``audio``: a path (WAV/FLAC/MP3/OGG) or a numpy array, shape ``(frames,)`` or
    ``(frames, channels)``, at ``sample_rate``; ``audio_path=`` is accepted as an alias.
    Column ``c`` shows min..max (``color``) and RMS (``rms_color``; None for none) of frames
    ``floor(c*n/width) .. floor((c+1)*n/width)``: every frame counted once, none skipped.
    ``channels``: ``"mixed"`` (one lane, the channel mean) or ``"both"`` (a lane per channel).
    Colours are ``#rgb``, ``#rrggbb`` or ``#rrggbbaa``. ``time_axis`` adds a 14-pixel time
    scale along the bottom. ``use_gpu``: accepted; there is no GPU path (the CPU runs and the
    ``rust_audio_engine`` logger says so).

    Errors: ``AudioFileNotFoundError`` (``FileNotFoundError``), ``AudioDecodeError`` (an
    undecodable file), ``AnalysisError`` (``ValueError``: bad size, colour or channel mode);
    all are ``RuntimeError`` too.
    """

def analyze_performance(
    recording_path: PathLike,
    expected_midi_path: PathLike,
    use_gpu: bool = True,
    *,
    rhythm_tolerance_ms: float = 50.0,
) -> str:
    """Compares a recording with the exercise's MIDI; returns a JSON report.

    Keys: ``backend`` (always ``"cpu"``: there is no GPU path), ``pitch_accuracy`` (notes at the
    written pitch / notes expected), ``rhythm_accuracy`` (matched notes within
    ``rhythm_tolerance_ms`` of the expected time *after removing the global tempo ratio and
    offset* / matched notes; ``rhythm_method`` says so in words), ``notes_played``,
    ``notes_expected``, ``notes_matched``, ``tempo_ratio`` (recording seconds per score second),
    ``offset_seconds``, ``mean_abs_deviation_ms``, ``timing_deviations`` (per matched note:
    ``note_index``, ``expected_time``, ``aligned_expected_time``, ``played_time``,
    ``deviation_ms``, ``expected_pitch``, ``played_pitch``, ``on_time``), ``missed_notes``,
    ``extra_notes``, ``wrong_pitch_notes``, ``recording_seconds``, ``warnings``.

    Errors: ``AudioFileNotFoundError`` for a missing file, ``AudioDecodeError`` for an
    undecodable recording, ``MidiError`` for a corrupt MIDI file, ``AnalysisError`` when there
    is nothing to compare (no pitched notes); all are ``RuntimeError`` too.
    """

def analyze(
    recording_path: PathLike,
    expected_midi_path: PathLike,
    use_gpu: bool = True,
    *,
    rhythm_tolerance_ms: float = 50.0,
) -> dict[str, Any]:
    """:func:`analyze_performance` parsed into a dict."""
