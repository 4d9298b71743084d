//! Transport block render time per 128-frame block, 10-voice sources, `update_track`
//! crossfade in progress (both sources rendering), as a fraction of the block's real-time
//! budget (128 / 44100 s = 2.90 ms). Criterion gives the mean; a plain timing pass prints the
//! mean, p99 and max over 20 000 blocks (the worst block is what an underrun depends on).
//!
//! Run: `cargo bench -p audio-playback --bench transport`.

use std::hint::black_box;
use std::time::Instant;

use audio_core::Source;
use audio_core::dsp::crossfade::CrossfadeCurve;
use audio_playback::{BLOCK, Command, Transport, TransportConfig, transport};
use criterion::{Criterion, criterion_group, criterion_main};

const SR: u32 = 44_100;

/// `n` sine voices with per-voice phase accumulators (f64 phase, like the engine's voices),
/// panned L/R: a stand-in for a 10-voice session track until the voices land.
struct Voices {
    inc: Vec<f64>,
    phase: Vec<f64>,
    pos: u64,
}

impl Voices {
    fn new(n: usize, base: f64) -> Box<Voices> {
        Box::new(Voices {
            inc: (0..n)
                .map(|i| (base + 37.0 * i as f64) / SR as f64)
                .collect(),
            phase: vec![0.0; n],
            pos: 0,
        })
    }
}

impl Source for Voices {
    fn sample_rate(&self) -> u32 {
        SR
    }
    fn total_frames(&self) -> Option<u64> {
        None
    }
    fn position(&self) -> u64 {
        self.pos
    }
    fn render_block(&mut self, out: &mut [f32]) -> usize {
        out.fill(0.0);
        let g = 0.5 / self.inc.len() as f32;
        for (v, (inc, ph)) in self.inc.iter().zip(self.phase.iter_mut()).enumerate() {
            let pan = v as f32 / (self.inc.len() - 1).max(1) as f32;
            for fr in out.chunks_exact_mut(2) {
                let s = (std::f64::consts::TAU * *ph).sin() as f32 * g;
                *ph += inc;
                if *ph >= 1.0 {
                    *ph -= 1.0;
                }
                fr[0] += s * (1.0 - pan);
                fr[1] += s * pan;
            }
        }
        self.pos += out.len() as u64 / 2;
        out.len() / 2
    }
    fn seek(&mut self, frame: u64) {
        self.pos = frame;
    }
}

/// A playing transport with a 10-voice source and a never-ending crossfade to another one.
fn crossfading() -> Transport {
    let (mut t, mut h) = transport(TransportConfig::new(SR));
    h.send(Command::SetSource(Voices::new(10, 200.0))).unwrap();
    h.send(Command::Play).unwrap();
    let mut out = vec![0.0f32; 2 * BLOCK];
    t.process(&mut out); // apply, pass the fade-in
    for _ in 0..10 {
        t.process(&mut out);
    }
    h.send(Command::Replace {
        source: Voices::new(10, 210.0),
        crossfade_frames: u32::MAX,
        curve: CrossfadeCurve::EqualPower,
    })
    .unwrap();
    t.process(&mut out);
    std::mem::forget(h); // keep the queues alive for the transport's lifetime
    t
}

fn bench(c: &mut Criterion) {
    let budget = BLOCK as f64 / SR as f64;
    let mut out = vec![0.0f32; 2 * BLOCK];

    // Plain timing pass: per-block distribution.
    let mut t = crossfading();
    let mut times: Vec<f64> = (0..20_000)
        .map(|_| {
            let t0 = Instant::now();
            t.process(black_box(&mut out));
            t0.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let p99 = times[times.len() * 99 / 100];
    let max = *times.last().unwrap();
    println!(
        "transport 10+10 voices, crossfade in progress, {BLOCK}-frame block (budget {:.0} us): mean {:.2} us ({:.3} %), p99 {:.2} us ({:.3} %), max {:.2} us ({:.3} %)",
        budget * 1e6,
        mean * 1e6,
        100.0 * mean / budget,
        p99 * 1e6,
        100.0 * p99 / budget,
        max * 1e6,
        100.0 * max / budget
    );

    let mut t = crossfading();
    c.bench_function("transport_block128_10voices_crossfade", |b| {
        b.iter(|| t.process(black_box(&mut out)))
    });
    let (mut t, mut h) = transport(TransportConfig::new(SR));
    h.send(Command::SetSource(Voices::new(10, 200.0))).unwrap();
    h.send(Command::Play).unwrap();
    c.bench_function("transport_block128_10voices", |b| {
        b.iter(|| t.process(black_box(&mut out)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
