//! `midi`: MIDI file(s) + SoundFont -> WAV.

use crate::CliError;
use audio_core::midi::{
    MidiError, MidiOptions, batch_map, default_soundfont_path, output_path_for, render_midi_file,
};
use audio_core::render::wav::WavFormat;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Arguments of `realtime_backend midi`.
#[derive(clap::Args, Debug)]
pub struct MidiArgs {
    /// MIDI file(s). With several, `--output` is a directory (one `<stem>.wav` each).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output WAV file (one input) or directory (several inputs).
    #[arg(short, long)]
    pub output: PathBuf,
    /// SoundFont (.sf2); default $RUST_AUDIO_ENGINE_SOUNDFONT or /usr/share/sounds/sf2/TimGM6mb.sf2.
    #[arg(long)]
    pub soundfont: Option<PathBuf>,
    /// Output sample rate in Hz.
    #[arg(long, default_value_t = 44_100)]
    pub rate: u32,
    /// Turn the convolution reverb off.
    #[arg(long)]
    pub no_reverb: bool,
    /// Threads: one file's notes are shared among this many synthesizers on as many cores;
    /// several files are rendered this many at a time (0 = all cores).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Sample format: wav16, wav24 or f32.
    #[arg(long, default_value = "wav16")]
    pub format: String,
}

fn err(e: MidiError) -> CliError {
    if e.is_bad_input() {
        CliError::Input(e.to_string())
    } else {
        CliError::Runtime(e.to_string())
    }
}

/// Runs the subcommand; prints one summary line per file and a total.
pub fn run(a: &MidiArgs) -> Result<(), CliError> {
    let format = WavFormat::parse(&a.format).ok_or_else(|| {
        CliError::Input(format!(
            "unknown --format {:?} (wav16, wav24, f32)",
            a.format
        ))
    })?;
    let jobs = match a.jobs {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    };
    let sf = a.soundfont.clone().unwrap_or_else(default_soundfont_path);
    let single = a.inputs.len() == 1;
    let mut opts = MidiOptions {
        sample_rate: a.rate,
        ..MidiOptions::default()
    };
    if a.no_reverb {
        opts.reverb = None;
    }
    if single {
        opts.channel_groups = jobs;
    } else {
        std::fs::create_dir_all(&a.output).map_err(|e| {
            CliError::Runtime(format!(
                "{}: cannot create output directory: {e}",
                a.output.display()
            ))
        })?;
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(1000 * a.inputs.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    });
    let done = AtomicU64::new(0);
    let t0 = Instant::now();
    let render_one = |input: &PathBuf| {
        let out = if single {
            a.output.clone()
        } else {
            output_path_for(input, &a.output)
        };
        let mut last = 0u64;
        let mut progress = |f: f64| {
            let now = (f * 1000.0) as u64;
            if now > last {
                let d = done.fetch_add(now - last, Ordering::Relaxed) + now - last;
                last = now;
                if let Some(b) = &bar {
                    b.set_position(d);
                }
            }
        };
        let t = Instant::now();
        let r = render_midi_file(input, &out, &sf, &opts, format, &mut progress);
        (out, r, t.elapsed().as_secs_f64())
    };
    let results = if single {
        vec![render_one(&a.inputs[0])]
    } else {
        batch_map(&a.inputs, jobs, render_one)
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall = t0.elapsed().as_secs_f64();
    let mut audio = 0.0;
    let mut first_err = None;
    for (input, (out, r, secs)) in a.inputs.iter().zip(results) {
        match r {
            Ok(rep) => {
                for w in &rep.warnings {
                    eprintln!("warning: {}: {w}", input.display());
                }
                audio += rep.seconds;
                println!(
                    "wrote {}: {:.3} s of audio ({} Hz, {:?}) in {:.3} s ({:.0}x real time, {} path)",
                    out.display(),
                    rep.seconds,
                    rep.sample_rate,
                    format,
                    secs,
                    rep.seconds / secs.max(1e-9),
                    rep.device
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                first_err.get_or_insert(e);
            }
        }
    }
    if !single {
        println!(
            "total: {audio:.3} s of audio in {wall:.3} s ({:.0}x real time, {jobs} jobs)",
            audio / wall.max(1e-9)
        );
    }
    match first_err {
        Some(e) => Err(err(e)),
        None => Ok(()),
    }
}
