//! Render speed of each tonal voice, in ns per stereo frame (one core).
//!
//! Run: `cargo bench -p audio-core --bench voices`. Besides criterion's own report, prints a
//! `ns/frame` summary line per voice (8192-frame blocks, 10 s of audio).

use audio_core::track::params::Params;
use audio_core::voices::{SynthKind, VoiceContext, build_voice};
use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const SR: u32 = 44100;
const BLOCK: usize = 8192;

const CASES: &[(&str, &str, &str)] = &[
    (
        "binaural",
        "binaural_beat",
        r#"{"ampL": 0.5, "ampR": 0.5, "baseFreq": 200, "beatFreq": 10}"#,
    ),
    (
        "isochronic",
        "isochronic_tone",
        r#"{"ampL": 0.2, "ampR": 0.2, "baseFreq": 400, "beatFreq": 10}"#,
    ),
    (
        "qam",
        "qam_beat",
        r#"{"ampL": 0.2, "ampR": 0.2, "baseFreqL": 300, "baseFreqR": 310, "qamAmFreqL": 10, "qamAmFreqR": 10, "qamAmDepthL": 0.3, "qamAmDepthR": 0.3}"#,
    ),
    (
        "monaural",
        "monaural_beat_stereo_amps",
        r#"{"baseFreq": 220, "beatFreq": 8}"#,
    ),
    (
        "binaural_transition",
        "binaural_beat_transition",
        r#"{"startBaseFreq": 200, "endBaseFreq": 180, "startBeatFreq": 10, "endBeatFreq": 6}"#,
    ),
    (
        "binaural_tremolo_wobble",
        "binaural_beat",
        r#"{"ampOscDepthL": 0.3, "ampOscFreqL": 2, "phaseOscFreq": 0.5, "phaseOscRange": 0.5}"#,
    ),
    (
        "binaural_vibrato",
        "binaural_beat",
        r#"{"freqOscRangeL": 4, "freqOscFreqL": 0.5}"#,
    ),
    (
        "isochronic_transition",
        "isochronic_tone_transition",
        r#"{"startBaseFreq": 400, "endBaseFreq": 300, "startBeatFreq": 10, "endBeatFreq": 4}"#,
    ),
    (
        "qam_transition",
        "qam_beat_transition",
        r#"{"startBaseFreqL": 300, "endBaseFreqL": 200, "startQamAmFreqL": 10, "endQamAmFreqL": 4}"#,
    ),
    (
        "monaural_transition",
        "monaural_beat_stereo_amps_transition",
        r#"{"startBaseFreq": 220, "endBaseFreq": 180}"#,
    ),
    ("stereo_am_independent", "stereo_am_independent", "{}"),
    ("wave_shape_stereo_am", "wave_shape_stereo_am", "{}"),
    ("rhythmic_waveshaping", "rhythmic_waveshaping", "{}"),
    ("spatial_angle_modulation", "spatial_angle_modulation", "{}"),
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

fn summary() {
    let frames = 30 * SR as usize;
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut p1 = 0.0;
    for (label, name, json) in CASES {
        // Best of 5: the least disturbed run on a shared machine.
        let mut best = f64::MAX;
        for _ in 0..5 {
            let mut v = make(name, json, 30.0);
            let t = Instant::now();
            let mut done = 0;
            while done < frames {
                let n = BLOCK.min(frames - done);
                v.render(&mut l[..n], &mut r[..n]);
                black_box((&l, &r));
                done += n;
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e9 / frames as f64);
        }
        if ["binaural", "isochronic", "qam"].contains(label) {
            p1 += best;
        }
        println!("voice {label:<26} {best:7.2} ns/frame");
    }
    println!(
        "binaural + isochronic + qam: {p1:.2} ns/frame (budget for 4 voices incl. noise: ~16)"
    );
}

fn bench(c: &mut Criterion) {
    summary();
    let mut g = c.benchmark_group("voices");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for (label, name, json) in CASES.iter().take(4) {
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
