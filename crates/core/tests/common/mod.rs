//! Helpers shared by the integration tests: data paths and rendering shortcuts.
#![allow(dead_code)]

use audio_core::Source;
use audio_core::render::wav::render_to_vec;
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use std::path::PathBuf;

/// The shared test-data folder: `$SHARED_DIR`, else `../shared` beside the workspace.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

pub fn track_path(name: &str) -> PathBuf {
    shared_dir().join("tracks").join(name)
}

pub fn load(name: &str) -> Track {
    Track::from_path(&track_path(name), LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn load_str(json: &str) -> Track {
    Track::from_json_str(json, "<test>", None, LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn source(track: &Track) -> SessionSource {
    SessionSource::new(track, RenderOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Renders `[start, start + secs)` seconds (to the end when `secs` is None), interleaved.
pub fn render_window(track: &Track, start: f64, secs: Option<f64>) -> (Vec<f32>, f64) {
    let mut s = source(track);
    let sr = s.sample_rate() as f64;
    s.seek((start * sr).round() as u64);
    let out = render_to_vec(&mut s, secs.map(|d| (d * sr).round() as u64));
    (out, sr)
}

/// Slice of one channel between two times (seconds relative to the rendered buffer).
pub fn chan(x: &[f32], ch: usize, sr: f64, a: f64, b: f64) -> Vec<f32> {
    let (i, j) = ((a * sr) as usize, (b * sr) as usize);
    x[2 * i..2 * j]
        .iter()
        .skip(ch)
        .step_by(2)
        .copied()
        .collect()
}
