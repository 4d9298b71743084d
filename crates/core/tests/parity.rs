//! Parity with the editor's own renderer: `shared/tracks/reference/*.flac` (16-bit, peak 0.25).
//! Length to the sample, frequencies, per-second RMS profile within 0.1 dB (after removing one
//! overall gain offset: absolute levels depend on the final-gain option, SOURCES.md).

mod common;

use audio_core::decode::decode_file;
use audio_core::measure::*;
use audio_core::render::RenderOptions;
use audio_core::render::SessionSource;
use audio_core::render::wav::render_to_vec;
use common::*;

fn check(name: &str, skip: &[(f64, f64)]) {
    let t = load(&format!("{name}.json"));
    let mut s = SessionSource::new(
        &t,
        RenderOptions {
            sample_rate: None,
            target_level: Some(0.25),
        },
    )
    .unwrap();
    let ours = render_to_vec(&mut s, None);
    let refa = decode_file(
        &shared_dir()
            .join("tracks/reference")
            .join(format!("{name}.flac")),
    )
    .unwrap();
    assert_eq!(refa.channels, 2);
    assert_eq!(ours.len(), refa.samples.len(), "{name}: length differs");
    let sr = refa.sample_rate as f64;
    let secs = (ours.len() / 2) as f64 / sr;
    // Per-second RMS in dB, both channels, excluding the given ranges.
    let mut diffs = Vec::new();
    let mut k = 0.0;
    while k + 1.0 <= secs {
        if !skip.iter().any(|(a, b)| k + 1.0 > *a && k < *b) {
            for ch in 0..2 {
                let a = rms_dbfs(&chan(&ours, ch, sr, k, k + 1.0));
                let b = rms_dbfs(&chan(&refa.samples, ch, sr, k, k + 1.0));
                diffs.push(a - b);
            }
        }
        k += 1.0;
    }
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    for (i, d) in diffs.iter().enumerate() {
        assert!(
            (d - mean).abs() < 0.1,
            "{name}: second {} ch {}: RMS off by {:.3} dB from the mean offset {mean:.3}",
            i / 2,
            i % 2,
            d - mean
        );
    }
    // The editor normalizes its final peak to 0.25 on the measured peak, which in 04 is an edge
    // transient in its first and last 12 ms (0.25 vs a steady envelope peak of 0.2207), so its
    // level sits ~1.1 dB below ours; we do not copy that artefact.
    assert!(
        mean.abs() < 1.5,
        "{name}: overall level {mean:.2} dB from the editor's"
    );
    // Same dominant frequencies in a steady window.
    for ch in 0..2 {
        let a = dominant_frequency(&chan(&ours, ch, sr, 1.0, 9.0), sr, 20.0, 2000.0);
        let b = dominant_frequency(&chan(&refa.samples, ch, sr, 1.0, 9.0), sr, 20.0, 2000.0);
        assert!((a - b).abs() < 0.1, "{name} ch {ch}: {a} vs {b}");
    }
}

#[test]
fn parity_01() {
    check("01_binaural_alpha_10hz", &[]);
}

#[test]
fn parity_02() {
    check("02_isochronic_theta_6hz", &[]);
}

#[test]
fn parity_04() {
    check("04_qam_beat", &[]);
}

#[test]
fn parity_05() {
    check("05_monaural_beat", &[]);
}

#[test]
fn parity_03() {
    // PY shifts steps after the first by a correlation lag of up to the crossfade (3 s), so the
    // crossfades and the seconds around them are excluded (SOURCES.md).
    // Its render also lacks step 1's 5 s linen attack (flat RMS from t = 0, unlike SOURCES.md
    // "0-5: tone fades in linearly"), so 0-6 s is excluded too.
    check(
        "03_meditation_alpha_to_delta",
        &[(0.0, 6.0), (24.0, 33.0), (51.0, 60.0), (78.0, 87.0)],
    );
}
