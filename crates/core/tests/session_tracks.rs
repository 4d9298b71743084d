//! Every example track renders what `shared/tracks/SOURCES.md` says a correct render shows.

mod common;

use audio_core::Source;
use audio_core::measure::*;
use common::*;

const DF: f64 = 0.1; // carrier tolerance, Hz
const DR: f64 = 0.05; // modulation-rate tolerance, Hz

fn assert_freq(x: &[f32], sr: f64, want: f64, what: &str) {
    let got = dominant_frequency(x, sr, 20.0, 2000.0);
    assert!(
        (got - want).abs() < DF,
        "{what}: dominant {got:.3} Hz, want {want}"
    );
}

fn assert_am(x: &[f32], sr: f64, carrier: f64, want: f64, what: &str) {
    let got = modulation_rate(x, sr, carrier, 0.5, 30.0);
    assert!(
        (got - want).abs() < DR,
        "{what}: AM {got:.3} Hz, want {want}"
    );
}

#[test]
fn lengths_are_exact_to_the_sample() {
    for (name, secs, sr) in [
        ("01_binaural_alpha_10hz.json", 20.0, 44100.0),
        ("02_isochronic_theta_6hz.json", 20.0, 44100.0),
        ("03_meditation_alpha_to_delta.json", 111.0, 44100.0),
        ("04_qam_beat.json", 20.0, 44100.0),
        ("05_monaural_beat.json", 20.0, 44100.0),
        ("06_binaural_with_brown_noise.json", 30.0, 44100.0),
        ("07_camelcase_v2_layout.json", 28.0, 48000.0),
        ("08_long_60min_4voices.json", 3600.0, 44100.0),
    ] {
        let s = source(&load(name));
        assert_eq!(
            s.total_frames(),
            Some((secs * sr as f64).round() as u64),
            "{name}"
        );
        assert_eq!(s.sample_rate() as f64, sr, "{name}");
    }
    let t = load("03_meditation_alpha_to_delta.json");
    let starts: Vec<u64> = t.steps.iter().map(|s| s.start_frame).collect();
    assert_eq!(starts, vec![0, 27 * 44100, 54 * 44100, 81 * 44100]);
}

#[test]
fn t01_binaural_alpha() {
    let (x, sr) = render_window(&load("01_binaural_alpha_10hz.json"), 0.0, None);
    let (l, r) = (chan(&x, 0, sr, 1.0, 19.0), chan(&x, 1, sr, 1.0, 19.0));
    assert_freq(&l, sr, 195.0, "L");
    assert_freq(&r, sr, 205.0, "R");
    assert!((rms_dbfs(&l) - rms_dbfs(&r)).abs() < 0.1, "equal level L/R");
    // No amplitude modulation inside a channel: the envelope is flat within 1 %.
    let env = envelope(&l, 8820, 4410); // 200 ms = whole periods of 195 Hz
    let (mn, mx) = env
        .iter()
        .fold((f32::MAX, 0.0f32), |(a, b), v| (a.min(*v), b.max(*v)));
    assert!(mx / mn < 1.01, "L envelope varies {mn}..{mx}");
    assert!(peak(&x) <= 0.95 + 1e-6);
}

#[test]
fn t02_isochronic_theta() {
    let (x, sr) = render_window(&load("02_isochronic_theta_6hz.json"), 0.0, None);
    let (l, r) = (chan(&x, 0, sr, 1.0, 19.0), chan(&x, 1, sr, 1.0, 19.0));
    assert_freq(&l, sr, 300.0, "L");
    assert_freq(&r, sr, 300.0, "R");
    assert_am(&l, sr, 300.0, 6.0, "L");
    // Duty cycle: silent 15 % of each cycle.
    let env = envelope(&l, 1, 1);
    let thr = peak(&l) * 0.01;
    let silent = env.iter().filter(|v| **v < thr).count() as f64 / env.len() as f64;
    assert!((silent - 0.15).abs() < 0.03, "silent fraction {silent}");
}

#[test]
fn t03_meditation_glides_and_crossfades() {
    let t = load("03_meditation_alpha_to_delta.json");
    let (x, sr) = render_window(&t, 0.0, None);
    // linen attack: linear fade-in over the first 5 s.
    let a = rms(&chan(&x, 0, sr, 1.0, 1.5));
    let b = rms(&chan(&x, 0, sr, 3.0, 3.5));
    assert!(a < b * 0.6, "fade-in: {a} vs {b}");
    let w = |a: f64, b: f64| (chan(&x, 0, sr, a, b), chan(&x, 1, sr, a, b));
    let (l, r) = w(6.0, 26.0);
    assert_freq(&l, sr, 195.0, "step 1 L");
    assert_freq(&r, sr, 205.0, "step 1 R");
    let (l, r) = w(41.5, 42.5);
    assert!(
        (dominant_frequency(&l, sr, 100.0, 400.0) - 186.0).abs() < 0.3,
        "glide L at 42 s"
    );
    assert!(
        (dominant_frequency(&r, sr, 100.0, 400.0) - 194.0).abs() < 0.3,
        "glide R at 42 s"
    );
    let (l, r) = w(58.0, 80.0);
    assert_freq(&l, sr, 177.0, "step 3 L");
    assert_freq(&r, sr, 183.0, "step 3 R");
    let (l, r) = w(82.0, 86.0);
    assert_freq(&l, sr, 177.0, "step 4 hold L");
    assert_freq(&r, sr, 183.0, "step 4 hold R");
    let (l, r) = w(107.0, 110.0);
    assert_freq(&l, sr, 149.0, "step 4 end L");
    assert_freq(&r, sr, 151.0, "step 4 end R");
    assert!(peak(&x) <= 0.95 + 1e-6);
}

#[test]
fn t04_qam() {
    let (x, sr) = render_window(&load("04_qam_beat.json"), 0.0, None);
    let (l, r) = (chan(&x, 0, sr, 1.0, 19.0), chan(&x, 1, sr, 1.0, 19.0));
    assert_freq(&l, sr, 250.0, "L");
    assert_freq(&r, sr, 256.0, "R");
    assert_am(&l, sr, 250.0, 5.0, "L");
    assert_am(&r, sr, 256.0, 5.0, "R");
}

#[test]
fn t05_monaural() {
    let (x, sr) = render_window(&load("05_monaural_beat.json"), 0.0, None);
    let (l, r) = (chan(&x, 0, sr, 1.0, 19.0), chan(&x, 1, sr, 1.0, 19.0));
    assert_eq!(l, r, "L identical to R");
    let tops = top_frequencies(&l, sr, 100.0, 400.0, 2);
    assert!(
        (tops[0] - 216.0).abs() < DF && (tops[1] - 224.0).abs() < DF,
        "{tops:?}"
    );
    assert_am(&l, sr, 220.0, 8.0, "L");
}

#[test]
fn t06_brown_noise_slope() {
    let (x, sr) = render_window(&load("06_binaural_with_brown_noise.json"), 0.0, None);
    let (l, r) = (chan(&x, 0, sr, 1.0, 29.0), chan(&x, 1, sr, 1.0, 29.0));
    assert_freq(&l, sr, 148.0, "L");
    assert_freq(&r, sr, 152.0, "R");
    let slope = spectral_slope_db_per_octave(&l, sr, 100.0, 10_000.0, &[148.0, 152.0]);
    assert!((slope + 6.0).abs() <= 1.5, "brown slope {slope} dB/oct");
}

#[test]
fn t07_aliases_adsr_equal_power() {
    let t = load("07_camelcase_v2_layout.json");
    assert_eq!(t.sample_rate, 48000);
    let (x, sr) = render_window(&t, 0.0, None);
    let (l, r) = (chan(&x, 0, sr, 2.0, 12.0), chan(&x, 1, sr, 2.0, 12.0));
    assert_freq(&l, sr, 435.915, "leftHigh L");
    assert_freq(&r, sr, 428.085, "leftHigh R");
    // Sustain at 0.8 of the attack peak.
    let peak_lvl = rms(&chan(&x, 0, sr, 0.95, 1.05));
    let sus = rms(&chan(&x, 0, sr, 5.0, 6.0));
    assert!(
        (sus / peak_lvl - 0.8).abs() < 0.03,
        "sustain ratio {}",
        sus / peak_lvl
    );
    let l2 = chan(&x, 0, sr, 16.0, 27.0);
    assert_freq(&l2, sr, 432.0, "step 2 L");
    assert_am(&l2, sr, 432.0, 7.83, "step 2 AM");
    // No click: the crossfade moves no faster than the steady parts of the two steps do.
    let steady = max_step(&chan(&x, 0, sr, 10.0, 12.5)).max(max_step(&chan(&x, 0, sr, 16.0, 27.0)));
    let fade = max_step(&chan(&x, 0, sr, 12.5, 15.5));
    assert!(
        fade <= steady * 1.05,
        "crossfade jump {fade} vs steady {steady}"
    );
}

#[test]
fn t08_long_track_window() {
    let t = load("08_long_60min_4voices.json");
    let (x, sr) = render_window(&t, 100.0, Some(10.0));
    let l = chan(&x, 0, sr, 0.0, 10.0);
    let r = chan(&x, 1, sr, 0.0, 10.0);
    let tl = top_frequencies(&l, sr, 150.0, 450.0, 3);
    let tr = top_frequencies(&r, sr, 150.0, 450.0, 3);
    for (got, want) in tl.iter().zip([195.0, 300.0, 400.0]) {
        assert!((got - want).abs() < 0.2, "L {tl:?}");
    }
    for (got, want) in tr.iter().zip([205.0, 310.0, 400.0]) {
        assert!((got - want).abs() < 0.2, "R {tr:?}");
    }
}

#[test]
fn never_clips_examples() {
    for name in [
        "01_binaural_alpha_10hz.json",
        "02_isochronic_theta_6hz.json",
        "03_meditation_alpha_to_delta.json",
        "04_qam_beat.json",
        "05_monaural_beat.json",
        "06_binaural_with_brown_noise.json",
        "07_camelcase_v2_layout.json",
    ] {
        let t = load(name);
        let mut s = source(&t);
        let x = audio_core::render::wav::render_to_vec(&mut s, None);
        assert!(peak(&x) <= 0.95 + 1e-6, "{name}: peak {}", peak(&x));
        assert_eq!(s.clamped_samples(), 0, "{name}");
    }
}

#[test]
fn never_clips_20_voice_stress_track() {
    let mut voices = Vec::new();
    for i in 0..20 {
        let f = 100.0 + 37.0 * i as f64;
        voices.push(match i % 4 {
            0 => format!(r#"{{"synth_function_name": "binaural_beat", "params": {{"ampL": 1.0, "ampR": 1.0, "baseFreq": {f}, "beatFreq": 7}}}}"#),
            1 => format!(r#"{{"synth_function_name": "isochronic_tone", "params": {{"amp": 1.0, "baseFreq": {f}, "beatFreq": 5}}}}"#),
            2 => format!(r#"{{"synth_function_name": "qam_beat", "params": {{"ampL": 1.0, "ampR": 1.0, "baseFreqL": {f}, "baseFreqR": {}, "qamAmDepthL": 1, "qamAmDepthR": 1}}}}"#, f + 3.0),
            _ => r#"{"synth_function_name": "noise_swept_notch", "voice_type": "noise", "params": {"noise_type": "white", "sweeps": [[500, 2000]]}}"#.to_string(),
        });
    }
    let json = format!(
        r#"{{"global_settings": {{"sample_rate": 44100, "crossfade_duration": 1.0}}, "steps": [
        {{"duration": 4, "voices": [{v}]}}, {{"duration": 4, "voices": [{v}], "binaural_volume": 0.48, "noise_volume": 0.48}}]}}"#,
        v = voices.join(",")
    );
    let t = load_str(&json);
    let mut s = source(&t);
    let x = audio_core::render::wav::render_to_vec(&mut s, None);
    assert!(peak(&x) <= 0.95 + 1e-6, "peak {}", peak(&x));
    assert_eq!(s.clamped_samples(), 0);
    assert!(rms(&x) > 0.05, "not silent");
}
