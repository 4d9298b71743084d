//! `realtime_backend`: render and play session tracks (and MIDI) from the command line.
//!
//! Exit codes: 0 ok, 1 runtime error, 2 bad input (bad arguments, bad track, missing files).

mod analysis_cmd;
mod config;
mod midi_cmd;
mod play_cmd;
mod render_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Command-line errors with their exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: exit code 2.
    Input(String),
    /// Failure while working: exit code 1.
    Runtime(String),
}

impl From<audio_core::TrackError> for CliError {
    fn from(e: audio_core::TrackError) -> Self {
        if e.is_bad_input() {
            CliError::Input(e.to_string())
        } else {
            CliError::Runtime(e.to_string())
        }
    }
}

#[derive(Parser)]
#[command(
    name = "realtime_backend",
    version,
    about = "Render and stream session tracks (binaural beats, isochronic tones, noise) and MIDI"
)]
struct Cli {
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// `true`/`false` as the original CLI spells them.
fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {s:?}")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Original interface: with `--generate true` write the track's outputFilename; otherwise stream it live.
    Run {
        /// Track-definition JSON file.
        #[arg(long)]
        path: PathBuf,
        /// true: render to the track's `outputFilename` (relative to the JSON file); false: play live.
        #[arg(long, default_value = "false", value_parser = parse_bool, action = clap::ArgAction::Set)]
        generate: bool,
        /// Start position in seconds.
        #[arg(long, default_value_t = 0.0)]
        start: f64,
        /// Use the GPU path (none exists: the CPU path runs and says so).
        #[arg(long, default_value = "false", value_parser = parse_bool, action = clap::ArgAction::Set)]
        gpu: bool,
        #[command(flatten)]
        common: render_cmd::CommonArgs,
    },
    /// Render a track (or a window of it) to a WAV file.
    Render {
        /// Track-definition JSON file.
        track: PathBuf,
        /// Output WAV file.
        #[arg(short, long)]
        output: PathBuf,
        /// Start of the window in seconds.
        #[arg(long, default_value_t = 0.0)]
        start: f64,
        /// Length of the window in seconds (default: to the end).
        #[arg(long)]
        duration: Option<f64>,
        /// Sample format: wav16, wav24 or f32.
        #[arg(long)]
        format: Option<String>,
        /// Output sample rate in Hz (default: the track's).
        #[arg(long)]
        rate: Option<u32>,
        #[command(flatten)]
        common: render_cmd::CommonArgs,
    },
    /// Stream a track to the audio device (keys: p/space, left/right, n/b, +/-, q).
    Play(play_cmd::PlayArgs),
    /// List the audio output devices.
    Devices,
    /// Render MIDI file(s) with a SoundFont to WAV.
    Midi(midi_cmd::MidiArgs),
    /// Draw an audio file's waveform as a PNG picture.
    Waveform(analysis_cmd::WaveformArgs),
    /// Compare a recording with the exercise's MIDI (pitch, rhythm, missed/extra notes).
    Analyze(analysis_cmd::AnalyzeArgs),
    /// Write a default configuration file.
    GenerateConfig {
        /// Where to write it.
        #[arg(long, default_value = "config.toml")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp(None)
        .init();
    let result = match cli.command {
        Command::Run {
            path,
            generate: false,
            start,
            common,
            ..
        } => play_cmd::run_live(&path, start, common.lenient),
        Command::Play(args) => play_cmd::play(&args),
        Command::Devices => play_cmd::devices(),
        Command::Run {
            path,
            generate,
            start,
            gpu,
            common,
        } => render_cmd::run(&path, generate, start, gpu, &common),
        Command::Render {
            track,
            output,
            start,
            duration,
            format,
            rate,
            common,
        } => render_cmd::render(
            &track,
            &output,
            start,
            duration,
            format.as_deref(),
            rate,
            &common,
        ),
        Command::GenerateConfig { out } => config::generate(&out),
        Command::Midi(args) => midi_cmd::run(&args),
        Command::Waveform(args) => analysis_cmd::waveform(&args),
        Command::Analyze(args) => analysis_cmd::analyze(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Input(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(CliError::Runtime(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}
