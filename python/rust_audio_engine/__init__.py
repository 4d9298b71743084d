"""MIDI + SoundFont rendering (waveform pictures and performance analysis: branch `analysis`, not landed yet)."""

from rust_audio_engine._midi import batch_synthesize_midi, render_midi, synthesize_midi  # noqa: F401,E402
from rust_audio_engine._analysis import analyze, analyze_performance, generate_waveform  # noqa: F401,E402
