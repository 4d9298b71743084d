"""MIDI + SoundFont rendering, waveform pictures and performance analysis."""
