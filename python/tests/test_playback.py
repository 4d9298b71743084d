"""realtime_backend live playback through real ALSA, captured by the `file` plugin over a `null`
slave (../shared/NOTES.md). The ALSA configuration is per process, so each case runs a child
Python with its own ALSA_CONFIG_PATH. The null device is not paced: the capture fills at many
times real time, so the child plays only briefly and the checks count frames, not seconds."""

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np

from test_session import dominant

SR = 44100


def run_child(tmp_path, code, conf=None, timeout=60):
    cap = tmp_path / "capture.raw"
    cfg = tmp_path / "asound.conf"
    cfg.write_text(
        conf
        if conf is not None
        else f'pcm.!default {{\n type file\n slave.pcm {{ type null }}\n file "{cap}"\n format "raw"\n}}\n'
    )
    env = dict(os.environ, ALSA_CONFIG_PATH=str(cfg), HOME=str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return cap, r.stdout


def test_play_track_then_stop_playback_captures_audio_and_stops(tracks, tmp_path):
    track = json.loads((tracks / "01_binaural_alpha_10hz.json").read_text())
    code = f"""
        import json, os, time
        import realtime_backend as rb
        from realtime_backend.realtime import play_track, stop_playback
        play_track(json.loads({json.dumps(json.dumps(track))}), sample_rate={SR})
        t0 = time.time()
        while rb.status()["output_frames"] < 3 * {SR} and time.time() - t0 < 20:
            time.sleep(0.001)
        st = rb.status()
        assert st["state"] == "playing" and st["step_count"] == 1, st
        assert abs(st["duration"] - 20.0) < 1e-9, st
        stop_playback()
        assert rb.status()["state"] == "idle"
        size = os.path.getsize({str(tmp_path / "capture.raw")!r})
        time.sleep(0.2)
        assert os.path.getsize({str(tmp_path / "capture.raw")!r}) == size, "audio after stop_playback"
        stop_playback()  # harmless twice
        print("ok")
    """
    cap, out = run_child(tmp_path, code)
    assert "ok" in out
    x = np.fromfile(cap, "<f4").reshape(-1, 2)
    assert len(x) >= 3 * SR
    # Played from the start: the carriers of track 01 (195 / 205 Hz) in the first 3 s.
    seg = x[SR // 10 : 3 * SR]
    assert abs(dominant(seg[:, 0], SR) - 195.0) < 0.2
    assert abs(dominant(seg[:, 1], SR) - 205.0) < 0.2
    assert np.sqrt(np.mean(seg**2)) > 0.1


def test_player_class_pause_seek_and_errors(tracks, tmp_path):
    path = str(tracks / "01_binaural_alpha_10hz.json")
    code = f"""
        import time
        import realtime_backend as rb
        from audio_engine import errors
        def wait(p, pred):
            t0 = time.time()
            while not pred(p.status()) and time.time() - t0 < 20:
                time.sleep(0.001)
            return p.status()
        with rb.Player(buffer_frames=512) as p:
            p.start({path!r}, 5.0)
            st = wait(p, lambda s: s["position"] > 6.0)
            assert st["state"] == "playing" and st["position"] > 6.0, st
            p.pause()
            st = wait(p, lambda s: s["state"] == "paused")
            # The audio thread takes the command at its next block and fades for 10 ms:
            # wait until the position settles (it runs at hundreds x real time while playing
            # on the unpaced capture device), then it must not move.
            prev, t0 = None, time.time()
            while time.time() - t0 < 20:
                pos = p.status()["position"]
                if pos == prev:
                    break
                prev = pos
                time.sleep(0.03)
            time.sleep(0.05)
            assert p.status()["position"] == pos, "position moves while paused"
            p.seek(12.0)
            st = wait(p, lambda s: abs(s["position"] - 12.0) < 1e-6)
            assert abs(st["position"] - 12.0) < 1e-6, st
            try:
                p.update_track('{{"steps": 5}}')
                raise SystemExit("bad track accepted")
            except errors.TrackFormatError as e:
                assert isinstance(e, ValueError) and isinstance(e, RuntimeError)
        try:
            rb.pause_stream()
            raise SystemExit("pause without a stream accepted")
        except errors.DeviceError:
            pass
        print("ok")
    """
    _, out = run_child(tmp_path, code)
    assert "ok" in out


def test_no_device_raises_device_error(tracks, tmp_path):
    path = str(tracks / "01_binaural_alpha_10hz.json")
    code = f"""
        import time
        import realtime_backend as rb
        from realtime_backend.realtime import play_track
        from audio_engine import errors
        t0 = time.time()
        try:
            rb.start_stream({path!r}, 0.0)
            raise SystemExit("no error")
        except errors.DeviceError as e:
            assert "no audio output device" in str(e), e
            assert isinstance(e, RuntimeError)
        try:
            play_track({{"steps": []}})
        except (errors.DeviceError, errors.TrackFormatError):
            pass
        assert time.time() - t0 < 10
        print("ok")
    """
    t0 = time.time()
    _, out = run_child(tmp_path, code, conf="# no PCM defined\n", timeout=30)
    assert "ok" in out and time.time() - t0 < 30
