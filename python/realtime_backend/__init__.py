"""Session tracks (binaural beats, isochronic tones, noise...): render to WAV or numpy.

The calls existing code makes keep their names and argument order::

    import realtime_backend
    realtime_backend.render_full_wav(track_json, "out.wav")
    realtime_backend.render_sample_wav(track_json, "sample.wav")     # first 60 s
    audio = realtime_backend.render_track(track_json, start=0.0, duration=10.0)

``track_json`` may be a JSON string, a dict, or a path to a track file. Errors are
:class:`TrackFormatError` (a ``ValueError``), :class:`AudioFileNotFoundError` (a
``FileNotFoundError``) or :class:`AudioIOError` (an ``OSError``); all are ``RuntimeError`` too.
"""

import warnings as _warnings

from audio_engine._native import (  # noqa: F401
    Player,
    clear_clip_samples,
    push_clip_samples,
    pause_stream,
    resume_stream,
    set_master_gain,
    set_volume,
    skip_step,
    start_from,
    start_stream,
    status,
    stop_stream,
    update_track,
    render_full_wav,
    render_sample_wav,
    render_track,
    validate_track,
)
from audio_engine.errors import (  # noqa: F401
    AudioDecodeError,
    AudioEngineError,
    AudioFileNotFoundError,
    AudioIOError,
    ClipIndexError,
    ClipSamplesError,
    DeviceError,
    TrackFormatError,
)


def enable_gpu(enable: bool) -> bool:
    """There is no GPU path: the engine renders on the CPU. Returns ``False`` (the GPU is not
    in use); asking for it (``enable=True``) also emits a ``RuntimeWarning`` saying so."""
    if enable:
        _warnings.warn(
            "realtime_backend.enable_gpu(True): this engine has no GPU path; "
            "rendering stays on the CPU",
            RuntimeWarning,
            stacklevel=2,
        )
    return False


__all__ = [
    "start_stream",
    "stop_stream",
    "pause_stream",
    "resume_stream",
    "start_from",
    "update_track",
    "skip_step",
    "set_volume",
    "set_master_gain",
    "status",
    "push_clip_samples",
    "clear_clip_samples",
    "enable_gpu",
    "Player",
    "render_full_wav",
    "render_sample_wav",
    "render_track",
    "validate_track",
    "AudioEngineError",
    "TrackFormatError",
    "AudioDecodeError",
    "AudioFileNotFoundError",
    "AudioIOError",
    "DeviceError",
    "ClipSamplesError",
    "ClipIndexError",
]
