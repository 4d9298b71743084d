//! `render` and `run --generate true`: a track to a WAV file.

use crate::{CliError, config};
use audio_core::Source;
use audio_core::render::wav::{WavFormat, write_wav_parallel};
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// Options shared by the rendering subcommands.
#[derive(clap::Args, Debug, Default)]
pub struct CommonArgs {
    /// Skip voices with unknown or unsupported synth functions (warning) instead of failing.
    #[arg(long)]
    pub lenient: bool,
    /// Accept tracks longer than 24 hours.
    #[arg(long)]
    pub allow_long: bool,
    /// Final peak level in (0, 1] (default: the track's normalization_level, 0.95).
    #[arg(long)]
    pub target_level: Option<f64>,
    /// Render threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Configuration file (see `generate-config`).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

fn load_track(path: &Path, common: &CommonArgs) -> Result<Track, CliError> {
    let opts = LoadOptions {
        lenient: common.lenient,
        allow_long: common.allow_long,
    };
    let track = Track::from_path(path, opts)?;
    for w in &track.warnings {
        eprintln!("warning: {w}");
    }
    Ok(track)
}

/// `run --path T.json --generate true|false --start S`.
pub fn run(
    path: &Path,
    generate: bool,
    start: f64,
    gpu: bool,
    common: &CommonArgs,
) -> Result<(), CliError> {
    if gpu {
        eprintln!("warning: there is no GPU path; rendering on the CPU");
    }
    if !generate {
        return Err(CliError::Input(
            "live streaming (--generate false) is not available in this build yet; use --generate true to render to a file".into(),
        ));
    }
    let track = load_track(path, common)?;
    let Some(name) = track.output_filename.clone() else {
        return Err(CliError::Input(format!(
            "{}: global_settings.output_filename: missing (needed by --generate true; or use `render -o`)",
            path.display()
        )));
    };
    let out = track.resolve(&name);
    render_track(&track, &out, start, None, None, None, common)
}

/// `render T.json -o out.wav`.
pub fn render(
    path: &Path,
    out: &Path,
    start: f64,
    duration: Option<f64>,
    format: Option<&str>,
    rate: Option<u32>,
    common: &CommonArgs,
) -> Result<(), CliError> {
    let track = load_track(path, common)?;
    render_track(&track, out, start, duration, format, rate, common)
}

fn render_track(
    track: &Track,
    out: &Path,
    start: f64,
    duration: Option<f64>,
    format: Option<&str>,
    rate: Option<u32>,
    common: &CommonArgs,
) -> Result<(), CliError> {
    let cfg = match &common.config {
        Some(p) => config::load(p, false)?,
        None => config::Config::default(),
    };
    let format_name = format
        .map(str::to_string)
        .or(cfg.render.format.clone())
        .unwrap_or_else(|| "wav16".into());
    let format = WavFormat::parse(&format_name).ok_or_else(|| {
        CliError::Input(format!(
            "--format: unknown sample format {format_name:?} (wav16, wav24, f32)"
        ))
    })?;
    let target_level = common.target_level.or(cfg.render.target_level);
    if let Some(t) = target_level {
        if !(t > 0.0 && t <= 1.0) {
            return Err(CliError::Input(format!(
                "--target-level must be in (0, 1], got {t}"
            )));
        }
    }
    if !start.is_finite() || start < 0.0 {
        return Err(CliError::Input(format!(
            "--start must be a number >= 0, got {start}"
        )));
    }
    if let Some(d) = duration {
        if !d.is_finite() || d <= 0.0 {
            return Err(CliError::Input(format!(
                "--duration must be a number > 0, got {d}"
            )));
        }
    }
    let opts = RenderOptions {
        sample_rate: rate,
        target_level,
    };
    let probe = SessionSource::new(track, opts)?;
    let sr = probe.sample_rate();
    let total = probe.total_frames().unwrap_or(0);
    drop(probe);
    let start_frame = (start * sr as f64).round() as u64;
    if start_frame > total {
        return Err(CliError::Input(format!(
            "--start {start} s is past the end of the track ({:.3} s)",
            total as f64 / sr as f64
        )));
    }
    let frames = match duration {
        Some(d) => ((d * sr as f64).round() as u64).min(total - start_frame),
        None => total - start_frame,
    };
    let threads = match common.threads.or(cfg.render.threads).unwrap_or(0) {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(frames);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_message(out.display().to_string());
        Some(b)
    } else {
        None
    };
    let t0 = Instant::now();
    let make = || -> Result<Box<dyn Source>, audio_core::TrackError> {
        Ok(Box::new(SessionSource::new(track, opts)?))
    };
    let mut progress = |done: u64, _total: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let written = write_wav_parallel(
        &make,
        out,
        format,
        start_frame,
        Some(frames),
        threads,
        &mut progress,
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall = t0.elapsed().as_secs_f64();
    let secs = written as f64 / sr as f64;
    println!(
        "wrote {}: {:.3} s of audio ({} frames, {} Hz, {:?}) in {:.3} s ({:.0}x real time, {} thread{})",
        out.display(),
        secs,
        written,
        sr,
        format,
        wall,
        secs / wall.max(1e-9),
        threads,
        if threads == 1 { "" } else { "s" }
    );
    Ok(())
}
