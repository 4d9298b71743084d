//! Renders a MIDI file to a 16-bit WAV and prints timing (used by benches/midi_vs_fluidsynth.py
//! until the CLI has its `midi` subcommand).
//!
//! `cargo run --release -p audio-core --example render_midi -- IN.mid OUT.wav [--groups N]
//! [--no-reverb] [--rate HZ] [--block N] [--soundfont PATH]`

use std::time::Instant;

use audio_core::Source;
use audio_core::midi::{MidiOptions, MidiSong, MidiSource, default_soundfont_path, load_soundfont};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!(
            "usage: render_midi IN.mid OUT.wav [--groups N] [--no-reverb] [--rate HZ] [--block N] [--soundfont PATH]"
        );
        std::process::exit(2);
    }
    let mut opts = MidiOptions::default();
    let mut sf_path = default_soundfont_path();
    let mut i = 2;
    while i < args.len() {
        let val = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--groups" => opts.channel_groups = val().parse().expect("--groups N"),
            "--rate" => opts.sample_rate = val().parse().expect("--rate HZ"),
            "--block" => opts.synth_block = val().parse().expect("--block N"),
            "--soundfont" => sf_path = val().into(),
            "--no-reverb" => {
                opts.reverb = None;
                i -= 1;
            }
            a => panic!("unknown argument {a}"),
        }
        i += 2;
    }
    let t0 = Instant::now();
    let run = || -> Result<(u64, f32), audio_core::midi::MidiError> {
        let song = MidiSong::load(&args[0])?;
        let sf = load_soundfont(&sf_path)?;
        let mut src = MidiSource::new(&song, &sf, &opts)?;
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: opts.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&args[1], spec).expect("create wav");
        let mut block = vec![0.0f32; 2 * 4096];
        let mut peak = 0.0f32;
        loop {
            let n = src.render_block(&mut block);
            for &v in &block[..2 * n] {
                peak = peak.max(v.abs());
                w.write_sample((v * 32767.0).round().clamp(-32768.0, 32767.0) as i16)
                    .expect("write");
            }
            if n < 4096 {
                break;
            }
        }
        w.finalize().expect("finalize");
        Ok((src.position(), peak))
    };
    match run() {
        Ok((frames, peak)) => {
            let wall = t0.elapsed().as_secs_f64();
            let secs = frames as f64 / opts.sample_rate as f64;
            println!(
                "audio_s={secs:.3} wall_s={wall:.3} x_realtime={:.1} peak={peak:.4}",
                secs / wall
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
