//! Render speed of the noise voices, in ns per stereo frame (one core).
//!
//! Run: `cargo bench -p audio-core --bench noise`. Besides criterion's own report, prints a
//! `ns/frame` summary line per case (8192-frame blocks, 30 s of audio, best of 5, thread CPU
//! time where available).

use audio_core::track::params::Params;
use audio_core::voices::{SynthKind, VoiceContext, build_voice};
use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const SR: u32 = 44100;
const BLOCK: usize = 8192;

const CASES: &[(&str, &str, &str)] = &[
    // Coloured noise alone (frame generation + inverse FFT + overlap-add).
    (
        "pink_plain",
        "noise_swept_notch",
        r#"{"noise_type": "pink"}"#,
    ),
    // The noise voice of tracks/08_long_60min_4voices.json.
    (
        "pink_sweep_q25_c6",
        "noise_swept_notch",
        r#"{"noise_type": "pink", "lfo_freq": 0.02, "sweeps": [{"min": 1000, "max": 6000, "q": 25, "cascade": 6}]}"#,
    ),
    // Two notch sets, stereo offset, default cascade 10.
    (
        "brown_2sweeps_intra",
        "noise_swept_notch",
        r#"{"noise_type": "brown", "lfo_freq": 0.1, "start_lfo_phase_offset_deg": 90, "start_intra_phase_offset_deg": 45, "sweeps": [[500, 2000], [3000, 9000]]}"#,
    ),
    (
        "transition",
        "noise_swept_notch_transition",
        r#"{"start_lfo_freq": 0.1, "end_lfo_freq": 0.4, "start_sweeps": [[400, 900]], "end_sweeps": [[1500, 5000]], "start_q": 30, "end_q": 8, "start_casc": 2, "end_casc": 9}"#,
    ),
];

fn make(name: &str, json: &str, secs: f64) -> Box<dyn audio_core::voices::Voice> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let p = Params::new(v.as_object().unwrap().clone(), Arc::from("bench"), "params");
    let (kind, tr) = SynthKind::parse(name).unwrap();
    let ctx = VoiceContext {
        sample_rate: SR,
        step_frames: (secs * SR as f64) as u64,
        step_duration: secs,
        inherited_phases: None,
        seed: 1,
    };
    build_voice(kind, tr, &p, &ctx).unwrap()
}

/// CPU time of this thread (ns) from `/proc/thread-self/schedstat` (Linux): robust to other
/// load on a shared machine, unlike wall time. `None` elsewhere.
fn thread_cpu_ns() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn summary() {
    let frames = 30 * SR as usize;
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    for (label, name, json) in CASES {
        // Best of 5: the least disturbed run on a shared machine.
        let mut best = f64::MAX;
        for _ in 0..5 {
            let mut v = make(name, json, 30.0);
            let t = Instant::now();
            let c0 = thread_cpu_ns();
            let mut done = 0;
            while done < frames {
                let n = BLOCK.min(frames - done);
                v.render(&mut l[..n], &mut r[..n]);
                black_box((&l, &r));
                done += n;
            }
            let ns = match (c0, thread_cpu_ns()) {
                (Some(a), Some(b)) => b - a,
                _ => t.elapsed().as_secs_f64() * 1e9,
            };
            best = best.min(ns / frames as f64);
        }
        println!("noise {label:<22} {best:7.2} ns/frame");
    }
}

fn bench(c: &mut Criterion) {
    summary();
    let mut g = c.benchmark_group("noise");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for (label, name, json) in CASES.iter().take(2) {
        let mut v = make(name, json, 3600.0);
        let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        g.bench_function(*label, |b| {
            b.iter(|| {
                v.render(&mut l, &mut r);
                black_box((&l, &r));
            })
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    bench(&mut c);
    c.final_summary();
}
