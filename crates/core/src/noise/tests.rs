//! Tests of the noise voice and bed: they measure the sound (slopes, where the notch is,
//! levels), block-size independence, seek equality, determinism and errors.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::measure;
use crate::track::params::Params;
use crate::voices::VoiceContext;

const SR: u32 = 44100;

fn params(v: Value) -> Params {
    Params::new(
        v.as_object().unwrap().clone(),
        Arc::from("t.json"),
        "steps[0].voices[0].params",
    )
}

fn ctx(secs: f64, seed: u64) -> VoiceContext {
    VoiceContext {
        sample_rate: SR,
        step_frames: (secs * SR as f64) as u64,
        step_duration: secs,
        inherited_phases: None,
        seed,
    }
}

fn voice(transition: bool, v: Value, secs: f64) -> Box<dyn Voice> {
    build_noise_voice(transition, &params(v), &ctx(secs, 42)).unwrap()
}

fn render(v: &mut dyn Voice, frames: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
    v.render(&mut l, &mut r);
    (l, r)
}

fn err(transition: bool, v: Value) -> String {
    match build_noise_voice(transition, &params(v), &ctx(10.0, 1)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// Frequency of the deepest dip in `[lo, hi]` of a pink-ish signal window: power times `f`
/// (flattens pink), smoothed over +-40 Hz.
fn dip(x: &[f32], lo: f64, hi: f64) -> f64 {
    let (mag, df) = measure::spectrum(x, SR as f64, 1);
    let flat: Vec<f64> = mag
        .iter()
        .enumerate()
        .map(|(i, m)| m * m * (i as f64 * df).max(1.0))
        .collect();
    let w = (40.0 / df).round() as usize;
    let (a, b) = ((lo / df) as usize, (hi / df) as usize);
    let mut best = (f64::INFINITY, 0.0);
    for k in a..=b {
        let s: f64 = flat[k - w..=k + w].iter().sum();
        if s < best.0 {
            best = (s, k as f64 * df);
        }
    }
    best.1
}

/// Window of 0.1 s centred at `t` seconds.
fn at(x: &[f32], t: f64) -> &[f32] {
    let c = (t * SR as f64) as usize;
    let h = SR as usize / 20;
    &x[c.saturating_sub(h)..(c + h).min(x.len())]
}

#[test]
fn colour_slope_through_the_voice() {
    let mut v = voice(false, json!({"noise_type": "brown", "sweeps": []}), 20.0);
    let (l, r) = render(v.as_mut(), SR as usize * 20);
    for x in [&l, &r] {
        let s = measure::spectral_slope_db_per_octave(x, SR as f64, 100.0, 10000.0, &[]);
        assert!((s + 6.0).abs() < 1.5, "brown slope {s}");
    }
    let mut v = voice(
        false,
        json!({"noise_parameters": {"name": "pink"}, "amp": 0.5}),
        20.0,
    );
    let (l, _) = render(v.as_mut(), SR as usize * 20);
    let s = measure::spectral_slope_db_per_octave(&l, SR as f64, 100.0, 10000.0, &[]);
    assert!((s + 3.0).abs() < 1.5, "pink slope {s}");
    assert!(
        (measure::rms(&l) / (0.5 * NOISE_RMS) - 1.0).abs() < 0.05,
        "amp 0.5 rms {}",
        measure::rms(&l)
    );
    // Unknown name with an exponent override: -2 => +6 dB/octave.
    let mut v = voice(
        false,
        json!({"noise_type": "sparkly", "exponent": -2}),
        20.0,
    );
    let (l, _) = render(v.as_mut(), SR as usize * 20);
    let s = measure::spectral_slope_db_per_octave(&l, SR as f64, 100.0, 10000.0, &[]);
    assert!((s - 6.0).abs() < 1.5, "exponent -2 slope {s}");
}

#[test]
fn notch_sweeps_between_min_and_max_at_lfo_rate() {
    // fc(t) = 2500 + 1500 cos(2 pi 0.25 t); R leads by 180 degrees.
    let p = json!({"noise_type": "pink", "lfo_freq": 0.25, "start_lfo_phase_offset_deg": 180,
                   "sweeps": [{"min": 1000, "max": 4000, "q": 10, "cascade": 6}]});
    let mut v = voice(false, p, 9.0);
    let (l, r) = render(v.as_mut(), SR as usize * 9);
    for k in 1..=16 {
        let t = k as f64 * 0.5;
        let want_l = 2500.0 + 1500.0 * (std::f64::consts::TAU * 0.25 * t).cos();
        let want_r = 2500.0 - 1500.0 * (std::f64::consts::TAU * 0.25 * t).cos();
        let (gl, gr) = (dip(at(&l, t), 600.0, 4800.0), dip(at(&r, t), 600.0, 4800.0));
        assert!(
            (gl - want_l).abs() < 0.06 * want_l,
            "t={t}: L dip {gl:.0} Hz, want {want_l:.0}"
        );
        assert!(
            (gr - want_r).abs() < 0.06 * want_r,
            "t={t}: R dip {gr:.0} Hz, want {want_r:.0}"
        );
    }
    // Energy in a band at the minimum: low when the notch sits there (t = 2 s), not at t = 0.
    let band = |x: &[f32]| {
        let (mag, df) = measure::spectrum(x, SR as f64, 1);
        mag[(950.0 / df) as usize..(1050.0 / df) as usize]
            .iter()
            .map(|m| m * m)
            .sum::<f64>()
    };
    assert!(
        band(at(&l, 2.0)) < 0.05 * band(at(&l, 0.05)),
        "no dip at 1 kHz at t = 2 s"
    );
}

#[test]
fn triangle_lfo_and_second_notch_set() {
    // Triangle: at 1/8 period fc = mid + half * 0.5 (cosine would give 0.707).
    let p = json!({"lfo_freq": 0.125, "lfo_waveform": "triangle",
                   "sweeps": [{"min": 1000, "max": 4000, "q": 10, "cascade": 6}]});
    let mut v = voice(false, p, 2.0);
    let (l, _) = render(v.as_mut(), SR as usize * 2);
    let d = dip(at(&l, 1.0), 600.0, 4800.0);
    assert!((d - 3250.0).abs() < 120.0, "triangle dip {d}");
    // Intra offset 180: a second notch at the opposite end (min) while the first is at max.
    let p = json!({"lfo_freq": 0.05, "start_intra_phase_offset_deg": 180,
                   "sweeps": [{"min": 1000, "max": 4000, "q": 10, "cascade": 6}]});
    let mut v = voice(false, p, 1.0);
    let (l, _) = render(v.as_mut(), SR as usize);
    let w = at(&l, 0.2);
    assert!(
        (dip(w, 600.0, 2500.0) - 1000.0).abs() < 60.0
            && (dip(w, 2500.0, 4800.0) - 4000.0).abs() < 150.0
    );
}

#[test]
fn legacy_pair_form_and_default_lfo() {
    // [[min, max]] with notch_q / casc; lfo_freq absent = 0.1 Hz: at t = 5 s fc = min.
    let p = json!({"sweeps": [[800, 3000]], "notch_q": 12, "casc": 5});
    let mut v = voice(false, p, 6.0);
    let (l, _) = render(v.as_mut(), SR as usize * 6);
    let d = dip(at(&l, 5.0), 500.0, 4000.0);
    assert!((d - 800.0).abs() < 50.0, "dip at t=5: {d}");
    let d = dip(at(&l, 0.05), 500.0, 4000.0);
    assert!((d - 3000.0).abs() < 120.0, "dip at t=0: {d}");
}

fn sweep_params() -> Value {
    json!({"noise_type": "pink", "lfo_freq": 0.3, "start_intra_phase_offset_deg": 90,
           "start_lfo_phase_offset_deg": 45,
           "sweeps": [{"min": 150, "max": 2000, "q": 40, "cascade": 8}, [3000, 6000]], "notch_q": 25, "casc": 3})
}

#[test]
fn block_size_independence() {
    let total = 60_000;
    let (l, r) = render(voice(false, sweep_params(), 5.0).as_mut(), total);
    for bs in [1usize, 64, 1000, 8192] {
        let mut v = voice(false, sweep_params(), 5.0);
        let (mut bl, mut br) = (vec![0.0; total], vec![0.0; total]);
        for (a, b) in bl.chunks_mut(bs).zip(br.chunks_mut(bs)) {
            v.render(a, b);
        }
        assert!(bl == l && br == r, "block size {bs} differs");
    }
}

#[test]
fn seek_equals_full_render() {
    let total = SR as usize * 12;
    let (l, r) = render(voice(false, sweep_params(), 12.0).as_mut(), total);
    let mut v = voice(false, sweep_params(), 12.0);
    for pos in [300_000u64, 1, 63, 12_345, 44_100, 400_001, 20_000] {
        v.seek(pos);
        let (a, b) = render(v.as_mut(), 20_000);
        let p = pos as usize;
        let d = a
            .iter()
            .zip(&l[p..p + 20_000])
            .chain(b.iter().zip(&r[p..p + 20_000]))
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(d < 1e-6, "seek to {pos}: max diff {d}");
    }
}

#[test]
fn stereo_uncorrelated_and_deterministic() {
    let p = json!({"sweeps": [{"min": 1000, "max": 5000}]});
    let (l, r) = render(voice(false, p.clone(), 10.0).as_mut(), 441_000);
    let dot = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| *x as f64 * *y as f64)
            .sum::<f64>()
    };
    let corr = dot(&l, &r) / (dot(&l, &l) * dot(&r, &r)).sqrt();
    assert!(corr.abs() < 0.02, "L/R correlation {corr}");
    let (l2, _) = render(voice(false, p.clone(), 10.0).as_mut(), 441_000);
    assert_eq!(l, l2, "same seed, different noise");
    // ctx.seed changes the noise; params.seed overrides it.
    let mut other = build_noise_voice(false, &params(p.clone()), &ctx(10.0, 43)).unwrap();
    let (l3, _) = render(other.as_mut(), 441_000);
    assert!((dot(&l, &l3) / dot(&l, &l)).abs() < 0.02);
    let mut seeded = json!({"seed": 9}).as_object().unwrap().clone();
    seeded.extend(p.as_object().unwrap().clone());
    let a = render(
        build_noise_voice(false, &params(Value::Object(seeded.clone())), &ctx(10.0, 1))
            .unwrap()
            .as_mut(),
        1000,
    );
    let b = render(
        build_noise_voice(false, &params(Value::Object(seeded)), &ctx(10.0, 2))
            .unwrap()
            .as_mut(),
        1000,
    );
    assert_eq!(a, b, "params seed must override ctx.seed");
}

#[test]
fn peak_within_bound_over_a_long_render() {
    for (name, amp) in [("pink", 0.7), ("brown", 1.0), ("white", 0.3)] {
        let mut v = voice(
            false,
            json!({"noise_type": name, "amp": amp, "sweeps": [{"min": 500, "max": 3000}]}),
            120.0,
        );
        let bound = v.peak_bound();
        assert!((bound - amp as f32).abs() < 1e-6);
        let mut peak = 0f32;
        let (mut l, mut r) = (vec![0.0; 65536], vec![0.0; 65536]);
        for _ in 0..(120 * SR as usize / 65536) {
            v.render(&mut l, &mut r);
            peak = peak.max(measure::peak(&l)).max(measure::peak(&r));
        }
        assert!(peak <= bound, "{name}: peak {peak} > bound {bound}");
        // The bound is not wildly loose: a 2-minute Gaussian peak is ~5.5 sigma of 6.5.
        assert!(peak > 0.7 * bound, "{name}: peak {peak} vs bound {bound}");
    }
}

#[test]
fn transition_moves_the_notch_range() {
    // LFO at 0 Hz: the notch sits at `max`, which glides 700 -> 3500 from 2 s to 8 s.
    let p = json!({"start_lfo_freq": 0.0, "end_lfo_freq": 0.0, "start_sweeps": [[500, 700]],
                   "end_sweeps": [[3000, 3500]], "start_q": 10, "end_q": 10, "start_casc": 6, "end_casc": 6,
                   "initial_offset": 2.0, "transition_duration": 6.0});
    let mut v = voice(true, p, 10.0);
    let (l, _) = render(v.as_mut(), SR as usize * 10);
    for (t, want) in [(1.0, 700.0), (5.0, 2100.0), (9.0, 3500.0)] {
        let d = dip(at(&l, t), 400.0, 4500.0);
        assert!(
            (d - want).abs() < 0.05 * want,
            "t={t}: dip {d}, want {want}"
        );
    }
    // The LFO rate glides too: 0 -> 0.5 Hz over 10 s gives phase 0.025 t^2 cycles; at t = sqrt(20)
    // the phase is 0.5 (fc = min), at t = sqrt(40) it is 1 (fc = max).
    let p = json!({"start_lfo_freq": 0.0, "end_lfo_freq": 0.5, "sweeps": [{"min": 1000, "max": 4000, "q": 10, "cascade": 6}]});
    let mut v = voice(true, p, 10.0);
    let (l, _) = render(v.as_mut(), SR as usize * 10);
    let d = dip(at(&l, 20f64.sqrt()), 600.0, 4800.0);
    assert!(
        (d - 1000.0).abs() < 80.0,
        "ramped lfo: dip {d} at sqrt(20) s"
    );
    let d = dip(at(&l, 40f64.sqrt()), 600.0, 4800.0);
    assert!(
        (d - 4000.0).abs() < 250.0,
        "ramped lfo: dip {d} at sqrt(40) s"
    );
}

#[test]
fn transition_seek_and_cascade_change() {
    let p = json!({"start_lfo_freq": 0.1, "end_lfo_freq": 0.4, "start_sweeps": [[400, 900]], "end_sweeps": [[1500, 5000]],
                   "start_q": 30, "end_q": 8, "start_casc": 2, "end_casc": 9, "transition_curve": "logarithmic",
                   "start_intra_phase_offset_deg": 0, "end_intra_phase_offset_deg": 120});
    let total = SR as usize * 6;
    let (l, _) = render(voice(true, p.clone(), 6.0).as_mut(), total);
    let mut v = voice(true, p, 6.0);
    for pos in [200_000u64, 50_000, 123_457] {
        v.seek(pos);
        let (a, _) = render(v.as_mut(), 10_000);
        let p = pos as usize;
        let d = a
            .iter()
            .zip(&l[p..])
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(d < 1e-6, "seek to {pos}: {d}");
    }
}

#[test]
fn errors_name_the_json_path() {
    let e = err(false, json!({"sweeps": "wide"}));
    assert_eq!(
        e,
        "t.json: steps[0].voices[0].params.sweeps: expected a list of sweeps"
    );
    let e = err(false, json!({"sweeps": [[100]]}));
    assert!(
        e.starts_with("t.json: steps[0].voices[0].params.sweeps[0]: expected a sweep object"),
        "{e}"
    );
    let e = err(
        false,
        json!({"sweeps": [{"min": 100, "max": 200, "q": -1}]}),
    );
    assert_eq!(
        e,
        "t.json: steps[0].voices[0].params.sweeps[0].q: Q must be a finite number > 0"
    );
    let e = err(
        false,
        json!({"sweeps": [[100, 200], [300, 400]], "notch_q": [25, -3]}),
    );
    assert!(e.contains("params.notch_q: Q must be"), "{e}");
    let e = err(false, json!({"sweeps": [[100, "x"]]}));
    assert!(e.contains("params.sweeps[0][1]: expected a number"), "{e}");
    let e = err(true, json!({"start_sweeps": [[100, 200]], "end_q": 0}));
    assert!(e.contains("params.end_q: Q must be"), "{e}");
    let e = err(false, json!({"sweeps": [{"min": -5}]}));
    assert!(
        e.contains("params.sweeps[0].min: notch frequency must be > 0"),
        "{e}"
    );
    let e = err(false, json!({"sweeps": [{"cascade": 1000}]}));
    assert!(e.contains("sweeps[0].cascade"), "{e}");
    let e = err(false, json!({"lfo_freq": -1}));
    assert!(
        e.contains("params.lfo_freq: must be a finite number >= 0"),
        "{e}"
    );
    let e = err(false, json!({"amp": "loud"}));
    assert!(e.contains("params.amp: expected a number"), "{e}");
    let e = err(false, json!({"input_audio_path": "x.wav"}));
    assert!(
        e.contains("params.input_audio_path") && e.contains("not supported yet"),
        "{e}"
    );
    let e = err(
        false,
        json!({"noise_parameters": {"name": "pink", "lowcut": -5}}),
    );
    assert!(e.contains("params.noise_parameters.lowcut"), "{e}");
}

// ---- background noise bed ----

fn bed(
    v: Value,
    base: Option<&std::path::Path>,
    frames: u64,
) -> Result<Option<BackgroundNoise>, TrackError> {
    BackgroundNoise::from_json(v.as_object().unwrap(), base, "t.json", SR, frames)
}

#[test]
fn bed_levels_fades_and_envelope() {
    let frames = SR as u64 * 20;
    let mut b = bed(
        json!({"params": {"noise_parameters": {"name": "pink"}}, "gain": 0.5, "start_time": 2.0,
               "fade_in": 2.0, "fade_out": 4.0, "amp_envelope": [[10, 1.0], [12, 0.2]]}),
        None,
        frames,
    )
    .unwrap()
    .unwrap();
    assert!((b.peak_bound() - 0.5).abs() < 1e-6);
    let (mut l, mut r) = (
        vec![0.25f32; frames as usize],
        vec![0.0f32; frames as usize],
    );
    b.render(0, &mut l, &mut r);
    let lvl = |x: &[f32], t0: f64, t1: f64| {
        measure::rms(&x[(t0 * SR as f64) as usize..(t1 * SR as f64) as usize])
    };
    let full = 0.5 * NOISE_RMS;
    assert_eq!(lvl(&r, 0.0, 2.0), 0.0, "bed before start_time");
    assert!(
        l[..2 * SR as usize].iter().all(|x| *x == 0.25),
        "render must add"
    );
    assert!(
        (lvl(&r, 6.0, 9.0) / full - 1.0).abs() < 0.05,
        "full level {}",
        lvl(&r, 6.0, 9.0)
    );
    // fade-in: linear 0 -> 1 over 2..4 s: RMS over it = 1/sqrt(3) of full
    assert!((lvl(&r, 2.0, 4.0) / full - 3f64.sqrt().recip()).abs() < 0.05);
    // envelope held at 0.2 after 12 s, before the fade-out (16..20 s)
    assert!(
        (lvl(&r, 13.0, 16.0) / (0.2 * full) - 1.0).abs() < 0.05,
        "{}",
        lvl(&r, 13.0, 16.0)
    );
    assert!(lvl(&r, 19.9, 20.0) < 0.2 * 0.05 * full * 2.0);
    assert!(measure::peak(&r) <= b.peak_bound());
}

#[test]
fn bed_positional_render_and_preset_file() {
    let dir = tempfile::tempdir().unwrap();
    let preset = json!({"noise_parameters": {"name": "brown"}, "lfo_freq": 0.2,
                        "sweeps": [{"start_min": 300, "end_min": 800, "start_max": 1200, "end_max": 4000,
                                    "start_q": 20, "end_q": 20, "start_casc": 4, "end_casc": 4}],
                        "transition": true, "seed": 3});
    std::fs::write(dir.path().join("rain.noise"), preset.to_string()).unwrap();
    let frames = SR as u64 * 8;
    let spec = json!({"noise_file": "rain.noise", "amp": 0.8});
    let mut full = bed(spec.clone(), Some(dir.path()), frames)
        .unwrap()
        .unwrap();
    let (mut l, mut r) = (vec![0.0; frames as usize], vec![0.0; frames as usize]);
    for (i, (a, b)) in l.chunks_mut(1000).zip(r.chunks_mut(1000)).enumerate() {
        full.render(i as u64 * 1000, a, b);
    }
    let s = measure::spectral_slope_db_per_octave(&l, SR as f64, 100.0, 10000.0, &[]);
    assert!(s < -4.0, "brown preset slope {s}");
    // Jumps (forward and back) equal the continuous render.
    let mut jumpy = bed(spec, Some(dir.path()), frames).unwrap().unwrap();
    for pos in [250_000u64, 10_000, 300_000] {
        let (mut a, mut b) = (vec![0.0; 4000], vec![0.0; 4000]);
        jumpy.render(pos, &mut a, &mut b);
        let p = pos as usize;
        let d = a
            .iter()
            .zip(&l[p..])
            .chain(b.iter().zip(&r[p..]))
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(d < 1e-6, "bed jump to {pos}: {d}");
    }
    // No bed: empty path, no params.
    assert!(
        bed(json!({"file_path": ""}), None, frames)
            .unwrap()
            .is_none()
    );
    assert!(bed(json!({}), None, frames).unwrap().is_none());
    // Errors name the file / key.
    let e = bed(json!({"file": "missing.noise"}), Some(dir.path()), frames)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.noise"), "{e}");
    std::fs::write(dir.path().join("bad.noise"), "{\"sweeps\": [[1]]}").unwrap();
    let e = bed(json!({"file": "bad.noise"}), Some(dir.path()), frames)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("bad.noise") && e.contains("sweeps[0]"), "{e}");
    let e = bed(
        json!({"file": "x.noise", "noise_file": "y.noise"}),
        None,
        frames,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("duplicate field"), "{e}");
    let e = bed(
        json!({"params": {}, "amp_envelope": [[1, 2, 3]]}),
        None,
        frames,
    )
    .err()
    .unwrap()
    .to_string();
    assert_eq!(
        e,
        "t.json: background_noise.amp_envelope[0]: expected a [time_s, gain] pair of numbers"
    );
}
