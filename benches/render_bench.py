#!/usr/bin/env python3
"""Whole-command benchmark of session-track rendering.

Renders the 60-minute example (shared/tracks/08) to a 16-bit WAV with the release CLI on one
thread and on all cores, and a 10-voice variant, and prints audio seconds, wall seconds, x real
time (per core) and peak RSS. Baseline: a vectorised numpy render of the same tonal voices (what
users' numpy scripts do), timed on a 60 s window and scaled, printed side by side as a ratio.

    python3 benches/render_bench.py [--cli target/release/realtime_backend]
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))


def run_cli(cli, track, out, threads):
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([cli, "render", str(track), "-o", str(out), "--threads", str(threads)],
                       capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_maxrss / 1024.0, p.stdout.strip(), after.ru_utime - before.ru_utime


def numpy_baseline(track_path, seconds=60.0):
    """Vectorised numpy render of step 1's tonal voices (binaural, isochronic, QAM) for `seconds`."""
    import numpy as np

    t_json = json.loads(pathlib.Path(track_path).read_text())
    sr = t_json["global_settings"]["sample_rate"]
    t0 = time.process_time()  # CPU seconds: robust to other load on a shared machine
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = np.zeros((n, 2))
    for v in t_json["steps"][0]["voices"]:
        p = v["params"]
        name = v["synth_function_name"]
        if name == "binaural_beat":
            fl, fr = p["baseFreq"] - p["beatFreq"] / 2, p["baseFreq"] + p["beatFreq"] / 2
            out[:, 0] += p["ampL"] * np.sin(2 * np.pi * fl * t)
            out[:, 1] += p["ampR"] * np.sin(2 * np.pi * fr * t)
        elif name == "isochronic_tone":
            ph = (p["beatFreq"] * t) % 1.0
            a = 1 - p["gapPercent"]
            q = min(a * p["rampPercent"] * 2, a) / 2
            g = np.where(ph < q, ph / q, np.where(ph < a - q, 1.0, np.where(ph < a, 1 - (ph - (a - q)) / q, 0.0)))
            s = np.sin(2 * np.pi * p["baseFreq"] * t) * g
            out[:, 0] += p["ampL"] * s
            out[:, 1] += p["ampR"] * s
        elif name == "qam_beat":
            for c, k in ((0, "L"), (1, "R")):
                env = 1 + p[f"qamAmDepth{k}"] * np.cos(2 * np.pi * p[f"qamAmFreq{k}"] * t)
                out[:, c] += p[f"amp{k}"] * env * np.cos(2 * np.pi * p[f"baseFreq{k}"] * t)
    out *= 0.95 / np.abs(out).max()
    (out * 32767).astype("<i2")
    return time.process_time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "target/release/realtime_backend"))
    args = ap.parse_args()
    long = SHARED / "tracks/08_long_60min_4voices.json"
    ten = json.loads(long.read_text())
    for step in ten["steps"]:
        extra = []
        for i in range(6):
            v = dict(step["voices"][i % 3])
            v["description"] = f"extra {i}"
            extra.append(v)
        step["voices"] += extra
    ncpu = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as d:
        ten_path = pathlib.Path(d) / "ten.json"
        ten_path.write_text(json.dumps(ten))
        for label, track in (("08 (4 voices, 60 min)", long), ("08 variant (10 voices)", ten_path)):
            for threads in (1, ncpu):
                wall, rss, line, cpu = run_cli(args.cli, track, pathlib.Path(d) / "o.wav", threads)
                rows.append((label, threads, 3600.0, wall, 3600.0 / wall, 3600.0 / max(cpu, 1e-9), rss))
    print(f"{'track':26} {'threads':>7} {'audio s':>8} {'wall s':>7} {'x real time':>12} {'x rt per CPU-s':>15} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r[0]:26} {r[1]:>7} {r[2]:>8.0f} {r[3]:>7.2f} {r[4]:>12.0f} {r[5]:>15.0f} {r[6]:>12.1f}")
    try:
        base = numpy_baseline(long, 60.0)
        np_x = 60.0 / base
        print(f"\nbaseline numpy (tonal voices only, no noise, no file): {np_x:.0f}x real time per CPU-second")
        print(f"ours, 1 thread, whole track to WAV: {rows[0][5]:.0f}x per CPU-second  ->  {rows[0][5] / np_x:.1f}x the numpy baseline")
    except ImportError:
        print("numpy not installed: baseline skipped")


if __name__ == "__main__":
    main()
