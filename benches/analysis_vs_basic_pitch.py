#!/usr/bin/env python3
"""Quality anchor for the score-informed analysis (issue 6): our `rust_audio_engine.analyze`
against `basic-pitch` transcription, both scored with `mir_eval` note F-measure on the same
"student" renders.

Bench only, not CI (basic-pitch pulls TensorFlow/ONNX Runtime). Set-up, once:

    python3 -m venv .venv-bp
    .venv-bp/bin/pip install "basic-pitch[onnx]" mir_eval pretty_midi maturin
    VIRTUAL_ENV=$PWD/.venv-bp PATH=$PWD/.venv-bp/bin:$PATH .venv-bp/bin/maturin develop --release
    .venv-bp/bin/python benches/analysis_vs_basic_pitch.py

What is compared: for each exercise (the first `--excerpt` seconds of corpus files) and each
variant, the student's performance is a MIDI file (the truth), rendered by our engine with the
student SoundFont (FluidR3_GM), optionally slowed to 0.9x, with 1.5 s of leading silence and
white noise at 20 dB SNR. Our analysis gets the recording and the *exercise* MIDI (that is its
task: score-informed); basic-pitch gets the recording alone (blind transcription, the tool a
teacher would otherwise use). Our transcription is the list of notes the report says were
played (matched notes at their played time and pitch, plus extra notes). Both are scored
against the student's true notes with `mir_eval.transcription` onset-only F-measure
(50 ms onset tolerance, 50 cents pitch tolerance, offsets ignored).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
SF_EXERCISE = "/usr/share/sounds/sf2/TimGM6mb.sf2"
SF_STUDENT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
EXERCISES = [
    "01_melody_c_major_scale.mid",
    "02_melody_folk_march_type0.mid",
    "09_piano_bach_minuet_g_mutopia.mid",
    "10_piano_bach_invention_1_mutopia.mid",
]


def notes_of(path: Path, excerpt: float):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    notes = []
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        for n in inst.notes:
            if n.start < excerpt:
                notes.append([n.start, min(n.end, excerpt + 2.0), n.pitch, n.velocity])
    notes.sort()
    return notes


def write_midi(notes, path: Path, program: int = 0):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    for s, e, p, v in notes:
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(s), end=float(max(e, s + 0.05))))
    pm.instruments.append(inst)
    pm.write(str(path))


def variant(notes, kind: str, seed: int):
    """(student notes, description). Times in seconds of the performance (before silence)."""
    rng = random.Random(seed)
    out = [list(n) for n in notes]
    if kind == "exact":
        return out
    # Student: 0.9x tempo.
    for n in out:
        n[0] /= 0.9
        n[1] /= 0.9
    if kind == "student":
        return out
    idx = list(range(len(out)))
    rng.shuffle(idx)
    k10, k5 = max(1, len(out) // 10), max(1, len(out) // 20)
    transposed, shifted, dropped = idx[:k10], idx[k10 : 2 * k10], set(idx[2 * k10 : 2 * k10 + k5])
    for i in transposed:
        out[i][2] += rng.choice([-1, 1])
    for i in shifted:
        out[i][0] += 0.1
        out[i][1] += 0.1
    extra = []
    span = out[-1][0]
    for _ in range(k5):
        t = rng.uniform(0.5, span)
        extra.append([t, t + 0.3, rng.randint(55, 79), 90])
    kept = [n for i, n in enumerate(out) if i not in dropped] + extra
    kept.sort()
    return kept


def render(midi: Path, soundfont: str, lead: float, snr_db: float | None, seed: int) -> np.ndarray:
    import rust_audio_engine as rae

    x = rae.render_midi(midi, soundfont, 44100, use_gpu=False)
    if lead > 0:
        x = np.concatenate([np.zeros((int(lead * 44100), 2), np.float32), x])
    if snr_db is not None:
        rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
        rng = np.random.default_rng(seed)
        x = x + rng.normal(0, rms * 10 ** (-snr_db / 20), x.shape).astype(np.float32)
    return x


def write_wav(x: np.ndarray, path: Path):
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(pcm.tobytes())


def f_measure(ref, est):
    import mir_eval

    if not est:
        return 0.0
    ri = np.array([[s, s + 0.1] for s, _ in ref])
    rp = np.array([440.0 * 2 ** ((p - 69) / 12) for _, p in ref])
    ei = np.array([[s, s + 0.1] for s, _ in est])
    ep = np.array([440.0 * 2 ** ((p - 69) / 12) for _, p in est])
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, onset_tolerance=0.05, offset_ratio=None)
    return f


def ours(wav: Path, exercise: Path):
    import rust_audio_engine as rae

    t = time.perf_counter()
    r = rae.analyze(wav, exercise, use_gpu=False)
    dt = time.perf_counter() - t
    est = [(d["played_time"], d["played_pitch"]) for d in r["timing_deviations"]]
    est += [(e["played_time"], e["pitch"]) for e in r["extra_notes"]]
    return sorted(est), dt, r


def transcribe_basic_pitch(wav: Path):
    from basic_pitch.inference import predict

    t = time.perf_counter()
    _, _, events = predict(str(wav))
    dt = time.perf_counter() - t
    return sorted((float(s), int(p)) for s, _e, p, _a, _b in events), dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--excerpt", type=float, default=30.0, help="seconds of each exercise")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    # Load TensorFlow/ONNX once before timing.
    import basic_pitch.inference  # noqa: F401

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in EXERCISES:
            src = SHARED / "midi" / name
            notes = notes_of(src, args.excerpt)
            exercise = tmp / f"ex_{name}"
            write_midi(notes, exercise)
            for kind in ["exact", "student", "errors"]:
                for seed in args.seeds if kind == "errors" else args.seeds[:1]:
                    student = variant(notes, kind, seed)
                    smid = tmp / f"st_{kind}_{seed}_{name}"
                    sf = SF_EXERCISE if kind == "exact" else SF_STUDENT
                    lead = 0.0 if kind == "exact" else 1.5
                    snr = None if kind == "exact" else 20.0
                    write_midi(student, smid)
                    if not rows:
                        # Warm-up: basic-pitch loads its model on the first call; time steady calls.
                        warm = tmp / "warm.wav"
                        write_wav(np.zeros((44100, 2), np.float32), warm)
                        transcribe_basic_pitch(warm)
                    wav = tmp / f"{smid.stem}.wav"
                    write_wav(render(smid, sf, lead, snr, seed), wav)
                    ref = [(s + lead, p) for s, _e, p, _v in student]
                    est_o, t_o, _ = ours(wav, exercise)
                    est_b, t_b = transcribe_basic_pitch(wav)
                    rows.append((name[:24], kind, seed, len(ref), f_measure(ref, est_o), t_o, f_measure(ref, est_b), t_b))
                    print(
                        f"{name[:24]:24} {kind:8} seed {seed}: {len(ref):4} notes  ours F={rows[-1][4]:.3f} ({t_o * 1e3:.0f} ms)  "
                        f"basic-pitch F={rows[-1][6]:.3f} ({t_b * 1e3:.0f} ms)",
                        flush=True,
                    )
    print()
    print("| exercise (first %.0f s) | variant | seed | notes | ours F | ours ms | basic-pitch F | basic-pitch ms |" % args.excerpt)
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.3f} | {r[5] * 1e3:.0f} | {r[6]:.3f} | {r[7] * 1e3:.0f} |")
    fo = np.mean([r[4] for r in rows])
    fb = np.mean([r[6] for r in rows])
    print(f"\nmean F-measure: ours {fo:.3f}, basic-pitch {fb:.3f}")


if __name__ == "__main__":
    main()
