"""push_clip_samples and enable_gpu of realtime_backend.

Live cases play through real ALSA captured by the `file` plugin over a `null` slave (see
test_playback.py): a child process per case, the checks count frames, not seconds. The track
is a 200 Hz binaural voice with overlay clip 0 at `CLIP_AT` seconds and no clip file; the
pushed clip is a 1 kHz tone, found in the capture by FFT at the clip's start time (measured
from the onset of the voice, i.e. the track's frame 0)."""

import json
import warnings

import numpy as np
import pytest

import realtime_backend as rb
from audio_engine import errors
from test_playback import SR, run_child
from test_session import dominant

CLIP_AT = 6.0
CLIP_SECS = 2.0
TRACK_SECS = 9.0


def track(clip_at=CLIP_AT, file_path=""):
    return {
        "global_settings": {"sample_rate": SR},
        "steps": [
            {
                "duration": TRACK_SECS,
                "voices": [
                    {
                        "synth_function_name": "binaural_beat",
                        "params": {"ampL": 0.5, "ampR": 0.5, "baseFreq": 200, "beatFreq": 0},
                    }
                ],
            }
        ],
        "clips": [{"file_path": file_path, "start": clip_at, "amp": 1.0}],
    }


TONE = f"""
import numpy as np
def tone(secs, f=1000.0):
    t = np.arange(int(secs * {SR})) / {SR}
    x = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
    return np.stack([x, x], axis=1)       # (frames, 2): C order is interleaved stereo
def wait_frames(n):
    import time
    t0 = time.time()
    while rb.status()["output_frames"] < n and time.time() - t0 < 30:
        time.sleep(0.002)
"""


def level_1k(x):
    """Amplitude of the 1 kHz component of `x` (one-bin DFT)."""
    n = np.arange(len(x))
    return 2 * abs(np.dot(x, np.exp(-2j * np.pi * 1000.0 * n / SR))) / len(x)


def analyse(cap, clip_at=CLIP_AT):
    x = np.fromfile(cap, "<f4").reshape(-1, 2)[:, 0].astype(np.float64)
    onset = int(np.argmax(np.abs(x) > 1e-3))  # the voice starts at the track's frame 0
    assert len(x) >= onset + int(TRACK_SECS * SR) - SR // 10, "capture too short"
    seg = lambda a, b: x[onset + int(a * SR) : onset + int(b * SR)]  # noqa: E731
    return x, onset, seg


def test_enable_gpu_says_there_is_none():
    with pytest.warns(RuntimeWarning, match="no GPU path"):
        assert rb.enable_gpu(True) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rb.enable_gpu(False) is False


def test_pushed_clip_is_heard_at_its_start_time_while_playing(tmp_path):
    code = f"""
        import json
        import realtime_backend as rb
        exec({TONE!r})
        rb.start_stream(json.loads({json.dumps(json.dumps(track()))}), 0.0, sample_rate={SR})
        x = tone({CLIP_SECS})
        # In pieces: a 2-D float32 array, a flat float64 array, a list, then the end.
        q = len(x) // 4
        rb.push_clip_samples(0, x[:q], False)
        rb.push_clip_samples(0, x[q:2*q].reshape(-1).astype(np.float64), False)
        rb.push_clip_samples(0, x[2*q:3*q].reshape(-1).tolist(), False)
        rb.push_clip_samples(0, x[3*q:], True)
        pos = rb.status()["position"]
        # The hand-over (0.5 s crossfade) must be done before the clip starts.
        assert pos < {CLIP_AT} - 1.0, f"position {{pos}} s: too late to hear the clip start"
        wait_frames({int((TRACK_SECS + 0.5) * SR)})
        rb.stop_stream()
        print("ok", pos)
    """
    cap, out = run_child(tmp_path, code)
    assert "ok" in out
    x, onset, seg = analyse(cap)
    clip = seg(CLIP_AT + 0.1, CLIP_AT + CLIP_SECS - 0.1)
    assert abs(dominant(clip, SR, 500, 2000) - 1000.0) < 0.5
    # The clip's level (0.5 * final gain, the voice is 0.5 * final gain too) and its absence
    # before and after.
    voice = np.sqrt(2) * np.sqrt(np.mean(seg(1.0, 5.0) ** 2))
    assert level_1k(clip) > 0.8 * voice, (level_1k(clip), voice)
    assert level_1k(seg(1.0, CLIP_AT - 0.1)) < 0.01 * voice
    assert level_1k(seg(CLIP_AT + CLIP_SECS + 0.05, TRACK_SECS - 0.1)) < 0.01 * voice
    # Onset: the first 5 ms window holding the tone lies at the clip's start time.
    w = SR // 200
    win = seg(CLIP_AT - 0.1, CLIP_AT + 0.1)
    levels = [level_1k(win[i : i + w]) for i in range(0, len(win) - w, w)]
    first = next(i for i, v in enumerate(levels) if v > 0.5 * voice)
    start = CLIP_AT - 0.1 + first * w / SR
    print(f"push done at {out.split()[-1]} s; 1 kHz {level_1k(clip):.4f} vs voice {voice:.4f}; "
          f"before {level_1k(seg(1.0, CLIP_AT - 0.1)):.2e}; heard from {start:.4f} s")
    assert abs(start - CLIP_AT) <= 0.006, f"clip heard from {start:.4f} s, expected {CLIP_AT}"


def test_without_a_push_the_clip_is_silent(tmp_path):
    code = f"""
        import json
        import realtime_backend as rb
        exec({TONE!r})
        rb.start_stream(json.loads({json.dumps(json.dumps(track()))}), 0.0, sample_rate={SR})
        wait_frames({int((TRACK_SECS + 0.5) * SR)})
        rb.stop_stream()
        print("ok")
    """
    cap, out = run_child(tmp_path, code)
    assert "ok" in out
    x, onset, seg = analyse(cap)
    voice = np.sqrt(2) * np.sqrt(np.mean(seg(1.0, 5.0) ** 2))
    assert voice > 0.1
    assert abs(dominant(seg(CLIP_AT + 0.1, CLIP_AT + CLIP_SECS - 0.1), SR) - 200.0) < 0.5
    assert level_1k(seg(CLIP_AT, CLIP_AT + CLIP_SECS)) < 0.01 * voice


def test_pushed_before_start_replaces_the_file_and_errors(tmp_path):
    missing = str(tmp_path / "missing.wav")
    code = f"""
        import json
        import realtime_backend as rb
        from audio_engine import errors
        exec({TONE!r})
        t = json.loads({json.dumps(json.dumps(track(clip_at=1.0, file_path=missing)))})
        # A named clip file that does not exist is an error unless clips are pushed.
        try:
            rb.start_stream(t, 0.0, sample_rate={SR})
            raise SystemExit("missing clip file accepted")
        except errors.AudioFileNotFoundError:
            pass
        rb.push_clip_samples(0, tone({CLIP_SECS}), True)   # staged before the stream starts
        rb.start_stream(t, 0.0, sample_rate={SR}, clips_pushed=True)
        for bad, cls in [((1, tone(0.1), True), errors.ClipIndexError),
                         ((-1, tone(0.1), True), errors.ClipIndexError),
                         ((0, np.zeros(3, np.float32), True), errors.ClipSamplesError),
                         ((0, [0.0, float("nan")], True), errors.ClipSamplesError),
                         ((0, "abc", True), errors.ClipSamplesError)]:
            try:
                rb.push_clip_samples(*bad)
                raise SystemExit(f"accepted {{bad[0]}}")
            except cls as e:
                assert isinstance(e, ValueError) and isinstance(e, RuntimeError), e
                if cls is errors.ClipIndexError:
                    assert isinstance(e, IndexError), e
        wait_frames({int((TRACK_SECS + 0.5) * SR)})
        rb.stop_stream()
        print("ok")
    """
    cap, out = run_child(tmp_path, code)
    assert "ok" in out
    x, onset, seg = analyse(cap, clip_at=1.0)
    voice = np.sqrt(2) * np.sqrt(np.mean(seg(4.0, 8.0) ** 2))
    assert level_1k(seg(1.1, 2.9)) > 0.8 * voice
    assert level_1k(seg(0.1, 0.95)) < 0.01 * voice
    assert level_1k(seg(3.05, 8.0)) < 0.01 * voice


def test_player_class_pushes_too():
    # No device needed to check the argument errors of an idle Player.
    p = rb.Player()
    with pytest.raises(errors.ClipIndexError):
        p.push_clip_samples(-2, [0.0, 0.0], True)
    with pytest.raises(errors.ClipSamplesError):
        p.push_clip_samples(0, [0.0, 0.0, 0.0], True)
    p.push_clip_samples(0, np.zeros((10, 2), np.float32), False)  # staged, no stream yet
    p.clear_clip_samples()
    p.close()
