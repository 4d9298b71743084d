"""rust_audio_engine MIDI API: outputs, errors, batch, numpy, fluidsynth engine."""

import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

import rust_audio_engine as rae
from audio_engine.errors import AudioFileNotFoundError, MidiError

SHARED = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
MIDI = SHARED / "midi"
SF = os.environ.get("RUST_AUDIO_ENGINE_SOUNDFONT", "/usr/share/sounds/sf2/TimGM6mb.sf2")
pytestmark = pytest.mark.skipif(not os.path.exists(SF), reason=f"SoundFont {SF} not installed")


def test_synthesize_writes_wav_and_reports_progress(tmp_path):
    out = tmp_path / "scale.wav"
    seen = []
    secs = rae.synthesize_midi(MIDI / "01_melody_c_major_scale.mid", out, SF, progress=seen.append)
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 44100 and w.getsampwidth() == 2
        assert abs(w.getnframes() / 44100 - secs) < 1e-9
    assert 4.0 < secs < 6.0
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


def test_render_midi_numpy_matches_rate_and_pitch():
    a = rae.render_midi(MIDI / "01_melody_c_major_scale.mid", SF, sample_rate=22050, reverb=False)
    assert a.dtype == np.float32 and a.ndim == 2 and a.shape[1] == 2
    # First note C4 (261.6 Hz) or its octave dominates the first half second.
    seg = a[1000:10000, 0] * np.hanning(9000)
    f = np.argmax(np.abs(np.fft.rfft(seg, 1 << 16))) * 22050 / (1 << 16)
    assert min(abs(f - 261.63), abs(f - 523.25)) < 3, f
    assert np.abs(a).max() <= 0.8913


def test_errors_are_documented_and_leave_nothing(tmp_path):
    out = tmp_path / "x.wav"
    with pytest.raises(FileNotFoundError):
        rae.synthesize_midi(tmp_path / "missing.mid", out, SF)
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ValueError, match="bad.mid"):
        rae.synthesize_midi(bad, out, SF)
    with pytest.raises(ValueError, match="bad.mid"):
        rae.synthesize_midi(MIDI / "01_melody_c_major_scale.mid", out, bad)
    with pytest.raises(AudioFileNotFoundError):
        rae.render_midi(MIDI / "01_melody_c_major_scale.mid", tmp_path / "nope.sf2")
    assert not out.exists() and os.listdir(tmp_path) == ["bad.mid"]


def test_batch_continues_after_a_bad_file(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    files = [MIDI / "01_melody_c_major_scale.mid", bad, MIDI / "17_gm_mma_tempo_changes.mid"]
    res = rae.batch_synthesize_midi(files, tmp_path / "out", SF, jobs=2)
    assert [r["error"] is None for r in res] == [True, False, True]
    assert res[1]["error_type"] == "MidiError" and "bad.mid" in res[1]["error"]
    assert res[0]["device"] == "cpu" and 30 < res[2]["duration"] < 40
    assert (tmp_path / "out" / "17_gm_mma_tempo_changes.wav").exists()


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_fluidsynth_engine_same_interface(tmp_path):
    secs = rae.synthesize_midi(MIDI / "01_melody_c_major_scale.mid", tmp_path / "f.wav", SF, engine="fluidsynth")
    assert 4.0 < secs < 9.0
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(MidiError):
        rae.synthesize_midi(bad, tmp_path / "g.wav", SF, engine="fluidsynth")
    assert not (tmp_path / "g.wav").exists()
