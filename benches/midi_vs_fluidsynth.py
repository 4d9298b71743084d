#!/usr/bin/env python3
"""MIDI rendering speed: this engine's CLI vs `fluidsynth -ni -F out.wav -r 44100`, same
SoundFont, reverb on in both, runs alternating per file. Prints wall and CPU seconds, peak RSS
and the speed ratio (FluidSynth time / ours) per file.

    cargo build --release -p audio-cli
    python3 benches/midi_vs_fluidsynth.py [--repeat 3] [--files 03 05 13 19] [--cpus 0]

One core: both pinned with `taskset -c 0`. `--two-cores` adds our render of each file with
`--jobs 2` pinned to cores 0,1 (FluidSynth stays on one core: it has no multi-core file mode).
Shared machines are noisy: compare the ratios of one run, and prefer the CPU (user+sys) column.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
SF = os.environ.get("RUST_AUDIO_ENGINE_SOUNDFONT", "/usr/share/sounds/sf2/TimGM6mb.sf2")


def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{err}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def seconds(wav):
    import wave

    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--files", nargs="*", default=["03", "05", "13", "19"], help="corpus file number prefixes")
    ap.add_argument("--two-cores", action="store_true")
    ap.add_argument("--bin", default=str(ROOT / "target/release/realtime_backend"))
    a = ap.parse_args()
    if not shutil.which("fluidsynth"):
        sys.exit("fluidsynth is not installed (apt-get install fluidsynth)")
    if not os.path.exists(a.bin):
        sys.exit(f"{a.bin} missing: cargo build --release -p audio-cli")
    files = sorted(p for p in (SHARED / "midi").glob("*.mid") if p.name[:2] in a.files)
    one = ["taskset", "-c", "0"]
    two = ["taskset", "-c", "0,1"]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        ours_wav, fl_wav = Path(d) / "ours.wav", Path(d) / "fluid.wav"
        for f in files:
            res = {"ours": [], "fluid": [], "ours2": []}
            for _ in range(a.repeat):
                res["ours"].append(run(one + [a.bin, "midi", f, "-o", ours_wav, "--soundfont", SF, "--jobs", "1"]))
                res["fluid"].append(run(one + ["fluidsynth", "-ni", "-q", "-F", fl_wav, "-r", "44100", SF, f]))
                if a.two_cores:
                    res["ours2"].append(run(two + [a.bin, "midi", f, "-o", ours_wav, "--soundfont", SF, "--jobs", "2"]))
            best = {k: (min(r[0] for r in v), min(r[1] for r in v), max(r[2] for r in v)) for k, v in res.items() if v}
            rows.append((f.name, seconds(ours_wav), seconds(fl_wav), best))
    print(f"{'file':40} {'audio s':>8} {'fluid wall':>10} {'ours wall':>9} {'ratio':>6} {'fluid cpu':>9} {'ours cpu':>8} {'ratio':>6}"
          f" {'fluid MB':>8} {'ours MB':>7}" + (f" {'2-core wall':>11} {'ratio':>6}" if a.two_cores else ""))
    for name, s_ours, s_fl, b in rows:
        fw, fc, fm = b["fluid"]
        ow, oc, om = b["ours"]
        line = f"{name:40} {s_ours:8.1f} {fw:10.2f} {ow:9.2f} {fw / ow:6.2f} {fc:9.2f} {oc:8.2f} {fc / oc:6.2f} {fm:8.0f} {om:7.0f}"
        if a.two_cores:
            line += f" {b['ours2'][0]:11.2f} {fw / b['ours2'][0]:6.2f}"
        print(line)


if __name__ == "__main__":
    main()
