//! `waveform` (audio file -> PNG) and `analyze` (recording vs exercise MIDI).

use crate::CliError;
use audio_core::analysis::{AnalysisError, AnalysisOptions, analyze_files};
use audio_core::waveform::{
    ChannelMode, WaveformError, WaveformOptions, parse_color, waveform_png_file,
};
use std::path::PathBuf;

/// Arguments of `realtime_backend waveform`.
#[derive(clap::Args, Debug)]
pub struct WaveformArgs {
    /// Audio file (WAV/FLAC/MP3/OGG).
    pub input: PathBuf,
    /// Output PNG file.
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long, default_value_t = 1000)]
    pub width: u32,
    #[arg(long, default_value_t = 200)]
    pub height: u32,
    /// `mixed` (one lane) or `both` (a lane per channel).
    #[arg(long, default_value = "mixed")]
    pub channels: String,
    /// Min..max colour (#rgb, #rrggbb or #rrggbbaa).
    #[arg(long, default_value = "#3b82f6")]
    pub color: String,
    /// RMS colour, or `none`.
    #[arg(long, default_value = "#1e40af")]
    pub rms_color: String,
    #[arg(long, default_value = "#ffffff")]
    pub background: String,
    /// Draw a time axis along the bottom.
    #[arg(long)]
    pub time_axis: bool,
}

/// Arguments of `realtime_backend analyze`.
#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// The student's recording (WAV/FLAC/MP3/OGG).
    pub recording: PathBuf,
    /// The exercise as a MIDI file.
    pub midi: PathBuf,
    /// Print the full JSON report instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// On-time tolerance in milliseconds (after removing tempo ratio and offset).
    #[arg(long, default_value_t = 50.0)]
    pub tolerance_ms: f64,
}

fn color(s: &str, what: &str) -> Result<[u8; 4], CliError> {
    parse_color(s).ok_or_else(|| {
        CliError::Input(format!(
            "--{what}: expected #rgb, #rrggbb or #rrggbbaa, got {s:?}"
        ))
    })
}

/// Writes the PNG.
pub fn waveform(a: &WaveformArgs) -> Result<(), CliError> {
    let o = WaveformOptions {
        width: a.width,
        height: a.height,
        channels: ChannelMode::parse(&a.channels).ok_or_else(|| {
            CliError::Input(format!(
                "--channels: expected mixed or both, got {:?}",
                a.channels
            ))
        })?,
        color: color(&a.color, "color")?,
        rms_color: if a.rms_color.eq_ignore_ascii_case("none") {
            None
        } else {
            Some(color(&a.rms_color, "rms-color")?)
        },
        background: color(&a.background, "background")?,
        time_axis: a.time_axis,
        ..WaveformOptions::default()
    };
    let png = waveform_png_file(&a.input, &o).map_err(|e| match e {
        WaveformError::Encode(_) => CliError::Runtime(e.to_string()),
        _ => CliError::Input(e.to_string()),
    })?;
    std::fs::write(&a.output, png)
        .map_err(|e| CliError::Runtime(format!("{}: cannot write: {e}", a.output.display())))?;
    println!("{} ({}x{})", a.output.display(), a.width, a.height);
    Ok(())
}

/// Prints the summary (or JSON).
pub fn analyze(a: &AnalyzeArgs) -> Result<(), CliError> {
    let o = AnalysisOptions {
        rhythm_tolerance_ms: a.tolerance_ms,
        ..AnalysisOptions::default()
    };
    let r = analyze_files(&a.recording, &a.midi, &o)
        .map_err(|e: AnalysisError| CliError::Input(e.to_string()))?;
    if a.json {
        println!("{}", r.to_json());
        return Ok(());
    }
    println!(
        "pitch accuracy   {:5.1} %  ({} of {} notes at the written pitch)",
        r.pitch_accuracy * 100.0,
        r.notes_matched - r.wrong_pitch_notes.len(),
        r.notes_expected
    );
    println!(
        "rhythm accuracy  {:5.1} %  (within {} ms after removing tempo and offset)",
        r.rhythm_accuracy * 100.0,
        r.rhythm_tolerance_ms
    );
    println!(
        "tempo ratio      {:.3}    ({:.0} % of the written tempo), offset {:.2} s",
        r.tempo_ratio,
        100.0 / r.tempo_ratio,
        r.offset_seconds
    );
    println!(
        "notes            {} expected, {} matched, {} missed, {} extra, {} wrong pitch; mean |deviation| {:.0} ms",
        r.notes_expected,
        r.notes_matched,
        r.missed_notes.len(),
        r.extra_notes.len(),
        r.wrong_pitch_notes.len(),
        r.mean_abs_deviation_ms
    );
    for w in &r.wrong_pitch_notes {
        println!(
            "  wrong pitch  note {:4} at {:7.2} s: {} played as {}",
            w.note_index, w.played_time, w.expected_pitch, w.played_pitch
        );
    }
    for m in &r.missed_notes {
        println!(
            "  missed       note {:4} at {:7.2} s: pitch {}",
            m.note_index, m.aligned_expected_time, m.pitch
        );
    }
    for x in &r.extra_notes {
        println!(
            "  extra        at {:7.2} s: pitch {}",
            x.played_time, x.pitch
        );
    }
    for d in r.timing_deviations.iter().filter(|d| !d.on_time) {
        println!(
            "  off time     note {:4} at {:7.2} s: {:+.0} ms",
            d.note_index, d.played_time, d.deviation_ms
        );
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!("backend: {}", r.backend);
    Ok(())
}
