"""Thin wrapper of the plan: ``play_track`` / ``stop_playback`` on the default player.

Both raise on error (``TrackFormatError`` for a bad track, ``DeviceError`` when there is no
output device); they never just print.
"""

from typing import Any, Mapping

from audio_engine._native import start_stream, stop_stream


def play_track(track_definition: Mapping[str, Any], sample_rate: int = 44100) -> None:
    """Start playing ``track_definition`` (a dict) from the beginning at ``sample_rate``."""
    start_stream(dict(track_definition), 0.0, sample_rate=sample_rate)


def stop_playback() -> None:
    """Stop playback and release the device (harmless when nothing plays)."""
    stop_stream()


__all__ = ["play_track", "stop_playback"]
