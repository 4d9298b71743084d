//! Session-track render speed to memory (no file I/O): x real time per core.
//!
//! `cargo bench -p audio-core --bench session`. The 60-minute example is measured over a window
//! (its steps are stationary, so speed per frame is the same across the track).

use audio_core::Source;
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::PathBuf;

fn shared() -> PathBuf {
    std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn ten_voice_variant() -> Track {
    let text = std::fs::read_to_string(shared().join("tracks/08_long_60min_4voices.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for step in v["steps"].as_array_mut().unwrap() {
        let voices = step["voices"].as_array_mut().unwrap();
        let extra: Vec<serde_json::Value> = (0..6)
            .map(|i| {
                let mut x = voices[i % 3].clone();
                x["description"] = serde_json::json!(format!("extra {i}"));
                x
            })
            .collect();
        voices.extend(extra);
    }
    Track::from_json_str(&v.to_string(), "10-voice", None, LoadOptions::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    let long = Track::from_path(
        &shared().join("tracks/08_long_60min_4voices.json"),
        LoadOptions::default(),
    )
    .unwrap();
    let ten = ten_voice_variant();
    let frames: u64 = 44100 * 10;
    let mut g = c.benchmark_group("session");
    g.sample_size(10);
    g.throughput(Throughput::Elements(frames));
    for (name, track) in [("08_4voices_10s", &long), ("08_10voices_10s", &ten)] {
        let mut src = SessionSource::new(track, RenderOptions::default()).unwrap();
        let mut buf = vec![0.0f32; 2 * 4096];
        g.bench_function(name, |b| {
            b.iter(|| {
                src.seek(100 * 44100);
                let mut left = frames as usize;
                while left > 0 {
                    let n = left.min(4096);
                    src.render_block(&mut buf[..2 * n]);
                    left -= n;
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
