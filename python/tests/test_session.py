"""realtime_backend offline rendering, as existing callers use it."""

import json
import threading
import time
import wave

import numpy as np
import pytest

import realtime_backend as rb
from audio_engine import errors


def dominant(x, sr, lo=20.0, hi=2000.0):
    n = 1 << int(np.ceil(np.log2(len(x) * 4)))
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    f = np.fft.rfftfreq(n, 1 / sr)
    band = (f >= lo) & (f <= hi)
    i = np.argmax(np.where(band, spec, 0))
    a, b, c = np.log(spec[i - 1 : i + 2] + 1e-300)
    return (i + 0.5 * (a - c) / (a - 2 * b + c)) * sr / n


def read_wav(path):
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        return w.getframerate(), data.astype(np.float32) / 32767.0


def test_render_full_wav_from_path(tracks, tmp_path):
    out = tmp_path / "01.wav"
    secs = rb.render_full_wav(str(tracks / "01_binaural_alpha_10hz.json"), str(out))
    assert secs == pytest.approx(20.0)
    sr, x = read_wav(out)
    assert sr == 44100 and x.shape == (20 * 44100, 2)
    assert abs(dominant(x[44100:19 * 44100, 0], sr) - 195.0) < 0.1
    assert abs(dominant(x[44100:19 * 44100, 1], sr) - 205.0) < 0.1
    assert np.abs(x).max() <= 0.95 + 1e-3


def test_render_sample_wav_positional_json_string(tracks, tmp_path):
    text = (tracks / "03_meditation_alpha_to_delta.json").read_text()
    out = tmp_path / "sample.wav"
    secs = rb.render_sample_wav(text, str(out))  # the GUI's call: first 60 s
    assert secs == pytest.approx(60.0)
    sr, x = read_wav(out)
    assert x.shape[0] == 60 * 44100
    out2 = tmp_path / "window.wav"
    rb.render_sample_wav(text, str(out2), 5.0, 40.0)
    _, y = read_wav(out2)
    assert y.shape[0] == 5 * 44100


def test_render_track_numpy_dict_and_window(tracks):
    track = json.loads((tracks / "04_qam_beat.json").read_text())
    x = rb.render_track(track, start=2.0, duration=8.0)
    assert x.dtype == np.float32 and x.shape == (8 * 44100, 2)
    assert abs(dominant(x[:, 0], 44100) - 250.0) < 0.1
    assert abs(dominant(x[:, 1], 44100) - 256.0) < 0.1
    full = rb.render_track(track)
    np.testing.assert_allclose(full[2 * 44100 : 10 * 44100], x, atol=1e-6)


def test_render_track_other_rate(tracks):
    x = rb.render_track(tracks / "01_binaural_alpha_10hz.json", duration=4.0, sample_rate=48000)
    assert x.shape == (4 * 48000, 2)
    assert abs(dominant(x[48000:, 0], 48000) - 195.0) < 0.1


def test_progress_callback(tracks, tmp_path):
    seen = []
    rb.render_full_wav(tracks / "02_isochronic_theta_6hz.json", tmp_path / "o.wav", progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in zip(seen, seen[1:]))


def test_gil_released_while_rendering(tracks):
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    t0 = time.perf_counter()
    rb.render_track(tracks / "03_meditation_alpha_to_delta.json")
    t1 = time.perf_counter()
    stop.set()
    t.join()
    during = [x for x in ticks if t0 < x < t1]
    # With the GIL held the ticker could not run at all during the render.
    assert len(during) >= max(2, int((t1 - t0) / 0.01)), (len(during), t1 - t0)


def test_errors_are_documented_types(tmp_path):
    bad = {"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 5, "voices": [
        {"synth_function_name": "binaural_beat", "params": {"beatFreq": "fast"}}]}]}
    with pytest.raises(errors.TrackFormatError, match=r"steps\[0\]\.voices\[0\]\.params\.beatFreq"):
        rb.render_track(bad)
    with pytest.raises(ValueError):
        rb.render_track('{"global_settings": {"sample_rate": 44100}, "steps": [')
    with pytest.raises(RuntimeError, match="line 1"):
        rb.render_track('{"global_settings": {"sample_rate": 44100}, "steps": [')
    with pytest.raises(FileNotFoundError) as e:
        rb.render_full_wav(str(tmp_path / "nope.json"), str(tmp_path / "o.wav"))
    assert isinstance(e.value, RuntimeError)
    assert not (tmp_path / "o.wav").exists()
    unknown = {"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 1, "voices": [
        {"synth_function_name": "teleport"}]}]}
    with pytest.raises(ValueError, match="unknown synth function 'teleport'.*binaural_beat"):
        rb.render_full_wav(unknown, str(tmp_path / "o.wav"))
    assert not (tmp_path / "o.wav").exists()
    assert rb.render_track(unknown, lenient=True).shape == (44100, 2)


def test_missing_clip_raises_file_not_found(tmp_path):
    track = {"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 1, "voices": [
        {"synth_function_name": "binaural_beat"}]}], "clips": [{"file_path": str(tmp_path / "gone.wav")}]}
    with pytest.raises(FileNotFoundError, match="gone.wav"):
        rb.render_track(track)


def test_clip_is_mixed_and_extends_track(tmp_path):
    sr = 22050
    t = np.arange(sr * 2) / sr
    clip = (0.5 * np.sin(2 * np.pi * 1000 * t) * 32767).astype("<i2")
    with wave.open(str(tmp_path / "clip.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(clip.tobytes())
    track = {"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 2, "voices": [
        {"synth_function_name": "binaural_beat", "params": {"baseFreq": 200, "beatFreq": 0}}]}],
        "background_noise": {"file_path": ""},
        "clips": [{"file_path": str(tmp_path / "clip.wav"), "start": 1.5, "amp": 0.5}]}
    x = rb.render_track(track)
    assert x.shape == (int(3.5 * 44100), 2)  # the clip (resampled to 44.1 kHz) ends at 3.5 s
    tail = x[int(2.2 * 44100) : int(3.4 * 44100), 0]
    assert abs(dominant(tail, 44100, 100, 5000) - 1000.0) < 0.5
    assert np.abs(x[:44100]).max() > 0.1
