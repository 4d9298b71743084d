//! The scheduler/mixer: block-size independence, exact seek, crossfades.

mod common;

use audio_core::Source;
use audio_core::measure::*;
use audio_core::render::wav::render_to_vec;
use common::*;

fn render_blocks(name: &str, block: usize, secs: f64) -> Vec<f32> {
    let t = load(name);
    let mut s = source(&t);
    let n = (secs * s.sample_rate() as f64) as usize;
    let mut out = vec![0.0f32; 2 * n];
    for chunk in out.chunks_mut(2 * block) {
        s.render_block(chunk);
    }
    out
}

#[test]
fn block_size_independence() {
    // 03 covers envelopes, a transition, a crossfade (27-30 s) and noise with a notch sweep.
    let reference = render_blocks("03_meditation_alpha_to_delta.json", 8192, 31.0);
    for block in [1usize, 64, 1000] {
        let x = render_blocks("03_meditation_alpha_to_delta.json", block, 31.0);
        assert!(x == reference, "block size {block} differs");
    }
}

#[test]
fn seek_equals_full_render() {
    let t = load("03_meditation_alpha_to_delta.json");
    let mut full_src = source(&t);
    let full = render_to_vec(&mut full_src, None);
    let sr = 44100.0;
    // Inside a step, on a step boundary, inside a crossfade, inside the exponential glide.
    for secs in [12.345, 27.0, 28.5, 54.0, 95.25] {
        let mut s = source(&t);
        let f = (secs * sr) as usize;
        s.seek(f as u64);
        let n = 44100;
        let mut out = vec![0.0f32; 2 * n];
        s.render_block(&mut out);
        let diff = out
            .iter()
            .zip(&full[2 * f..2 * (f + n)])
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff < 1e-6, "seek to {secs} s: max difference {diff}");
    }
}

#[test]
fn crossfade_linear_has_no_click_and_right_gains() {
    // Two pure tones (no envelope) joined by a 3 s linear crossfade.
    let json = r#"{"global_settings": {"sample_rate": 44100, "crossfade_duration": 3.0, "crossfade_curve": "linear"},
      "steps": [
        {"duration": 10, "voices": [{"synth_function_name": "binaural_beat", "params": {"ampL": 0.5, "ampR": 0.5, "baseFreq": 300, "beatFreq": 0}}]},
        {"duration": 10, "voices": [{"synth_function_name": "binaural_beat", "params": {"ampL": 0.5, "ampR": 0.5, "baseFreq": 500, "beatFreq": 0}}]}]}"#;
    let t = load_str(json);
    let (x, sr) = render_window(&t, 0.0, None);
    assert_eq!(x.len() / 2, 17 * 44100);
    let l = chan(&x, 0, sr, 0.0, 17.0);
    // A sine of amplitude A at f moves at most A*2*pi*f/sr per sample; the sum of two cannot exceed the sum.
    let a = peak(&l) as f64;
    let bound = a * std::f64::consts::TAU * 500.0 / sr * 1.05;
    assert!(
        (max_step(&l) as f64) <= bound,
        "largest jump {} > {}",
        max_step(&l),
        bound
    );
    // Half-way (8.5 s) both tones at gain 0.5.
    let mid = chan(&x, 0, sr, 8.4, 8.6);
    let (m, df) = spectrum(&mid, sr, 4);
    let at = |f: f64| m[(f / df).round() as usize];
    assert!(
        (at(300.0) / at(500.0) - 1.0).abs() < 0.05,
        "gains at mid-fade differ"
    );
}

#[test]
fn crossfade_equal_power_keeps_power() {
    let json = r#"{"global_settings": {"sample_rate": 44100, "crossfade_duration": 4.0, "crossfade_curve": "equal_power"},
      "steps": [
        {"duration": 10, "voices": [{"synth_function_name": "binaural_beat", "params": {"ampL": 0.5, "ampR": 0.5, "baseFreq": 300, "beatFreq": 0}}]},
        {"duration": 10, "voices": [{"synth_function_name": "binaural_beat", "params": {"ampL": 0.5, "ampR": 0.5, "baseFreq": 470, "beatFreq": 0}}]}]}"#;
    let t = load_str(json);
    let (x, sr) = render_window(&t, 0.0, None);
    let before = rms(&chan(&x, 0, sr, 2.0, 5.0));
    // 100 ms windows across the fade (6-10 s): uncorrelated tones, so power adds.
    let mut k = 6.0;
    while k < 9.9 {
        let p = rms(&chan(&x, 0, sr, k, k + 0.1));
        let db = 20.0 * (p / before).log10();
        assert!(db.abs() < 0.5, "power at {k:.1} s off by {db:.2} dB");
        k += 0.1;
    }
}

#[test]
fn explicit_start_leaves_silence() {
    let json = r#"{"global_settings": {"sample_rate": 8000, "crossfade_duration": 1.0},
      "steps": [
        {"duration": 10, "voices": [{"synth_function_name": "binaural_beat", "params": {"baseFreq": 300}}]},
        {"duration": 10, "start": 15, "voices": [{"synth_function_name": "binaural_beat", "params": {"baseFreq": 500}}]}]}"#;
    let t = load_str(json);
    let (x, sr) = render_window(&t, 0.0, None);
    assert_eq!(x.len() / 2, 25 * 8000);
    assert_eq!(peak(&chan(&x, 0, sr, 10.0, 15.0)), 0.0);
    assert!(rms(&chan(&x, 0, sr, 16.0, 17.0)) > 0.1);
}

#[test]
fn phases_carry_across_identical_steps() {
    // Same voices in both steps: no crossfade, the tone continues without a phase jump.
    let v = r#"{"synth_function_name": "binaural_beat", "params": {"ampL": 0.5, "ampR": 0.5, "baseFreq": 200, "beatFreq": 10}}"#;
    let json = format!(
        r#"{{"global_settings": {{"sample_rate": 44100, "crossfade_duration": 3.0}},
        "steps": [{{"duration": 10, "voices": [{v}]}}, {{"duration": 10, "voices": [{v}]}}]}}"#
    );
    let t = load_str(&json);
    let (x, sr) = render_window(&t, 0.0, None);
    let l = chan(&x, 0, sr, 0.0, 17.0);
    let bound = peak(&l) as f64 * std::f64::consts::TAU * 195.0 / sr * 1.01;
    assert!((max_step(&l) as f64) <= bound, "phase jump at the boundary");
}
