"""MIDI + SoundFont rendering (waveform pictures and performance analysis: branch `analysis`, not landed yet)."""

from rust_audio_engine._midi import batch_synthesize_midi, render_midi, synthesize_midi  # noqa: F401,E402
