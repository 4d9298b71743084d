"""rust_audio_engine.generate_waveform / analyze_performance / analyze: pictures checked pixel
by pixel (a small PNG decoder below), analyses of rendered "student" recordings."""

import json
import struct
import wave
import zlib

import numpy as np
import pytest

import rust_audio_engine as rae
from audio_engine.errors import AnalysisError, AudioFileNotFoundError, MidiError


def decode_png(data: bytes) -> np.ndarray:
    """RGBA 8-bit PNG -> (height, width, 4) uint8 (enough for our own files)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert (depth, ctype) == (8, 6), "RGBA 8-bit expected"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * 4
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            a = cur[i - 4] if i >= 4 else 0
            b = prev[i]
            c = prev[i - 4] if i >= 4 else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (line[i] + p) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(h, w, 4).astype(np.uint8)


def lit_columns(img: np.ndarray, rgb) -> list:
    hit = np.all(img[:, :, :3] == np.array(rgb, dtype=np.uint8), axis=2)
    return sorted(np.nonzero(hit.any(axis=0))[0].tolist())


def write_wav(path, x: np.ndarray, sr: int) -> None:
    x = np.atleast_2d(x.T).T if x.ndim == 1 else x
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1] if x.ndim == 2 else 1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def test_burst_lights_exactly_its_columns():
    sr = 8000
    x = np.zeros(3 * sr, dtype=np.float32)
    t = np.arange(sr) / sr
    x[sr : 2 * sr] = 0.7 * np.sin(2 * np.pi * 440 * t) + 0.05
    png = rae.generate_waveform(x, width=300, height=60, sample_rate=sr, rms_color=None, color="#ff0000")
    img = decode_png(png)
    assert img.shape == (60, 300, 4)
    assert lit_columns(img, (255, 0, 0)) == list(range(100, 200))


def test_file_input_stereo_lanes_and_axis(tmp_path):
    sr = 8000
    x = np.zeros((2 * sr, 2), dtype=np.float32)
    x[: sr, 0] = 0.5  # left: first second
    x[sr:, 1] = -0.5  # right: second second
    p = tmp_path / "s.wav"
    write_wav(p, x, sr)
    png = rae.generate_waveform(str(p), 100, 80, channels="both", rms_color=None, color="#00ff00", time_axis=True)
    img = decode_png(png)
    assert img.shape == (80, 100, 4)
    plot = 80 - 14
    top, bottom = img[: plot // 2], img[plot // 2 : plot]
    assert lit_columns(top, (0, 255, 0)) == list(range(0, 50))
    assert lit_columns(bottom, (0, 255, 0)) == list(range(50, 100))
    # The axis line is drawn in the axis colour across the whole width.
    assert np.all(img[plot, :, :3] == 0x44)
    # The documented alias keeps older callers working.
    assert rae.generate_waveform(audio_path=p, width=100, height=80) == rae.generate_waveform(p, 100, 80)


def test_waveform_errors(tmp_path):
    with pytest.raises(AudioFileNotFoundError) as e:
        rae.generate_waveform(tmp_path / "missing.wav")
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, RuntimeError)
    with pytest.raises(AnalysisError) as e:
        rae.generate_waveform(np.zeros(100, dtype=np.float32), width=0)
    assert isinstance(e.value, ValueError) and isinstance(e.value, RuntimeError) and "width" in str(e.value)
    with pytest.raises(ValueError):
        rae.generate_waveform(np.zeros(100, dtype=np.float32), color="blue")


def write_midi(path, notes, ppq=480, tempo=500000, lead_ticks=0, program=0):
    """Type-0 MIDI from (beat, beats, pitch) triples."""
    ev = []
    for beat, dur, pitch in notes:
        on = lead_ticks + int(round(beat * ppq))
        ev.append((on, 1, 0x90, pitch, 90))
        ev.append((on + int(round(dur * ppq)), 0, 0x80, pitch, 0))
    ev.sort()

    def vlq(n):
        out = [n & 0x7F]
        n >>= 7
        while n:
            out.append(0x80 | (n & 0x7F))
            n >>= 7
        return bytes(reversed(out))

    body = b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big") + b"\x00\xc0" + bytes([program])
    last = 0
    for tick, _, st, p, v in ev:
        body += vlq(tick - last) + bytes([st, p, v])
        last = tick
    body += b"\x00\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq) + b"MTrk" + struct.pack(">I", len(body)) + body
    path.write_bytes(data)


# A 32-note melody in G major (quarter notes at 120 bpm, a few eighths).
MELODY = [67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 74, 79, 78, 76, 74, 72,
          71, 72, 74, 76, 74, 72, 71, 69, 67, 66, 67, 69, 71, 69, 67, 62]


def melody_notes(transpose=None, drop=()):
    notes, beat = [], 0.0
    for i, p in enumerate(MELODY):
        dur = 0.5 if i % 4 == 3 else 1.0
        if i not in drop:
            notes.append((beat, dur * 0.9, p + (transpose or {}).get(i, 0)))
        beat += dur
    return notes


def render(tmp_path, name, notes, **kw):
    mid = tmp_path / f"{name}.mid"
    write_midi(mid, notes, **kw)
    wav = tmp_path / f"{name}.wav"
    rae.synthesize_midi(mid, wav)
    return mid, wav


def test_exact_exercise(tmp_path, shared):
    for midi in [shared / "midi" / "01_melody_c_major_scale.mid"]:
        wav = tmp_path / "scale.wav"
        rae.synthesize_midi(midi, wav)
        r = rae.analyze(wav, midi)
        assert r["backend"] == "cpu"
        assert r["pitch_accuracy"] >= 0.99 and r["rhythm_accuracy"] >= 0.99
        assert r["missed_notes"] == [] and r["extra_notes"] == []
        assert r["notes_expected"] == 8 and r["notes_played"] == 8
        assert "tempo ratio" in r["rhythm_method"]
        assert json.loads(rae.analyze_performance(wav, midi)) == r
    mid, wav = render(tmp_path, "melody", melody_notes())
    r = rae.analyze(wav, mid, use_gpu=False)
    assert r["pitch_accuracy"] >= 0.99 and r["rhythm_accuracy"] >= 0.99, r
    assert r["notes_expected"] == 32 and not r["missed_notes"] and not r["extra_notes"]
    d = r["timing_deviations"][5]
    assert set(d) >= {"expected_time", "played_time", "deviation_ms", "expected_pitch", "played_pitch"}


def test_slow_late_student_with_errors(tmp_path):
    expected = tmp_path / "exercise.mid"
    write_midi(expected, melody_notes())
    # 0.9x tempo, 1.5 s of silence, electric piano, note 9 a semitone high, note 20 left out.
    _, wav = render(
        tmp_path, "student", melody_notes(transpose={9: 1}, drop=(20,)),
        tempo=int(500000 / 0.9), lead_ticks=int(1.5 * 480 * 0.9 / 0.5), program=4,
    )
    r = rae.analyze(wav, expected)
    assert abs(r["tempo_ratio"] - 1 / 0.9) < 0.01, r["tempo_ratio"]
    assert abs(r["offset_seconds"] - 1.5) < 0.1, r["offset_seconds"]
    assert [(w["note_index"], w["played_pitch"]) for w in r["wrong_pitch_notes"]] == [(9, MELODY[9] + 1)]
    assert [m["note_index"] for m in r["missed_notes"]] == [20]
    assert r["rhythm_accuracy"] >= 0.97


def test_analysis_errors(tmp_path, shared):
    midi = shared / "midi" / "01_melody_c_major_scale.mid"
    with pytest.raises(AudioFileNotFoundError):
        rae.analyze_performance(tmp_path / "nope.wav", midi)
    wav = tmp_path / "x.wav"
    write_wav(wav, np.zeros(8000, dtype=np.float32), 8000)
    with pytest.raises(AudioFileNotFoundError):
        rae.analyze(wav, tmp_path / "nope.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(MidiError) as e:
        rae.analyze(wav, bad)
    assert isinstance(e.value, RuntimeError)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....garbage")
    with pytest.raises(ValueError):
        rae.analyze(junk, midi)
