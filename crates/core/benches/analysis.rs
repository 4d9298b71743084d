//! Waveform and analysis speed (a benchmark, not a timed test).
//!
//! Run: `cargo bench -p audio-core --bench analysis`. Prints:
//! * waveform of a 10-minute stereo 44.1 kHz signal (already decoded), 1000x200 PNG
//!   (goal <= 50 ms);
//! * analysis of a 3-minute recording (the folk-march exercise three times over, rendered with
//!   TimGM6mb, 0.9x tempo, 1.5 s leading silence) against its MIDI (goal <= 300 ms).
//!
//! `SHARED_DIR` points at the shared corpus (default `<workspace>/../shared`).

use audio_core::analysis::{AnalysisOptions, analyze};
use audio_core::midi::{MidiEvent, MidiOptions, MidiSong, MidiSource, load_soundfont};
use audio_core::waveform::{WaveformOptions, waveform_png};
use std::path::PathBuf;
use std::time::Instant;

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..n {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        out = Some(r);
    }
    (best, out.unwrap())
}

fn main() {
    let threads = rayon::current_num_threads();
    // 10 minutes of stereo "music": decaying tones every 0.25 s.
    let sr = 44_100usize;
    let frames = 600 * sr;
    let mut x = vec![0.0f32; 2 * frames];
    for i in 0..frames {
        let t = i as f32 / sr as f32;
        let env = (-(t % 0.25) * 12.0).exp();
        let v = 0.5 * env * (t * 440.0 * std::f32::consts::TAU).sin();
        x[2 * i] = v;
        x[2 * i + 1] = -0.8 * v;
    }
    let o = WaveformOptions::default();
    let (ms, png) = best_of(5, || waveform_png(&x, 2, sr as u32, &o).unwrap());
    println!(
        "waveform: 10 min stereo -> 1000x200 PNG ({} bytes) in {ms:.1} ms (best of 5, {threads} threads; goal <= 50 ms)",
        png.len()
    );
    let both = WaveformOptions {
        channels: audio_core::waveform::ChannelMode::Separate,
        time_axis: true,
        ..o
    };
    let (ms, _) = best_of(5, || waveform_png(&x, 2, sr as u32, &both).unwrap());
    println!("waveform: same, both channels + time axis in {ms:.1} ms");
    drop(x);

    let shared = std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let song = MidiSong::load(shared.join("midi/02_melody_folk_march_type0.mid")).expect("corpus");
    // Three times over: ~3 minutes.
    let len = song.end_time + 0.5;
    let mut events = Vec::new();
    for k in 0..3 {
        events.extend(song.events.iter().map(|e| MidiEvent {
            time: e.time + k as f64 * len,
            ..*e
        }));
    }
    let exercise = MidiSong {
        events: events.clone(),
        end_time: 3.0 * len,
        ..song.clone()
    };
    let student = MidiSong {
        events: events
            .iter()
            .map(|e| MidiEvent {
                time: 1.5 + e.time / 0.9,
                ..*e
            })
            .collect(),
        end_time: 1.5 + 3.0 * len / 0.9,
        ..song.clone()
    };
    let sf = load_soundfont(audio_core::midi::default_soundfont_path()).expect("soundfont");
    let rec = MidiSource::new(&student, &sf, &MidiOptions::default())
        .unwrap()
        .render_to_end(|_| {});
    let secs = rec.len() as f64 / 2.0 / 44_100.0;
    let mono = audio_core::analysis::features::mono(&rec, 2);
    let (ms, _) = best_of(3, || audio_core::analysis::features::compute(&mono, 44_100));
    println!("analysis: of which features (decimate, STFT, flux, salience) {ms:.0} ms");
    let (ms, r) = best_of(3, || {
        analyze(&rec, 2, 44_100, &exercise, &AnalysisOptions::default()).unwrap()
    });
    println!(
        "analysis: {secs:.0} s recording, {} notes, in {ms:.0} ms (best of 3, {threads} threads; goal <= 300 ms): pitch {:.3} rhythm {:.3} ratio {:.4} offset {:.3}",
        r.notes_expected, r.pitch_accuracy, r.rhythm_accuracy, r.tempo_ratio, r.offset_seconds
    );

    // The same student with mistakes (every 20th note left out, an extra note a fourth up
    // after every 20th): the extra notes found make the decisions near them run again.
    let mut slips = Vec::new();
    let mut left_out: Vec<(u8, u8)> = Vec::new();
    let mut ons = 0usize;
    for e in &student.events {
        match e.command {
            0x90 if e.data2 > 0 => {
                ons += 1;
                if ons % 20 == 7 {
                    left_out.push((e.channel, e.data1));
                    continue;
                }
                if ons % 20 == 13 {
                    for (dt, cmd, vel) in [(0.1, 0x90, e.data2), (0.3, 0x80, 0)] {
                        slips.push(MidiEvent {
                            time: e.time + dt,
                            command: cmd,
                            data1: e.data1 + 5,
                            data2: vel,
                            ..*e
                        });
                    }
                }
            }
            0x80 | 0x90 => {
                if let Some(k) = left_out.iter().position(|&x| x == (e.channel, e.data1)) {
                    left_out.remove(k);
                    continue;
                }
            }
            _ => {}
        }
        slips.push(*e);
    }
    slips.sort_by(|a, b| a.time.total_cmp(&b.time));
    let slipped = MidiSong {
        events: slips,
        ..student.clone()
    };
    let rec = MidiSource::new(&slipped, &sf, &MidiOptions::default())
        .unwrap()
        .render_to_end(|_| {});
    let (ms, r) = best_of(3, || {
        analyze(&rec, 2, 44_100, &exercise, &AnalysisOptions::default()).unwrap()
    });
    println!(
        "analysis: the same with mistakes (every 20th note left out, an extra note after every 20th) in {ms:.0} ms: missed {} extra {} wrong {}",
        r.missed_notes.len(),
        r.extra_notes.len(),
        r.wrong_pitch_notes.len()
    );
}
