//! MIDI file -> WAV file, the shared body of the CLI `midi` command and the Python API.

use std::path::{Path, PathBuf};

use super::{MidiError, MidiOptions, MidiSong, MidiSource, load_soundfont};
use crate::TrackError;
use crate::render::wav::{WavFormat, write_wav};
use crate::source::Source;

/// What a file render produced.
#[derive(Debug, Clone, PartialEq)]
pub struct MidiRenderReport {
    /// Frames written.
    pub frames: u64,
    /// Output sample rate.
    pub sample_rate: u32,
    /// Seconds of audio written.
    pub seconds: f64,
    /// Which path ran: always `"cpu"` (there is no GPU path; callers asking for one are told).
    pub device: &'static str,
    /// Problems tolerated while loading the MIDI file.
    pub warnings: Vec<String>,
}

/// Renders `midi` with `soundfont` (cached) into `output` (temporary file + rename: on error
/// nothing is left at `output`). `progress` gets the fraction done.
pub fn render_midi_file(
    midi: &Path,
    output: &Path,
    soundfont: &Path,
    options: &MidiOptions,
    format: WavFormat,
    progress: &mut dyn FnMut(f64),
) -> Result<MidiRenderReport, MidiError> {
    let song = MidiSong::load(midi)?;
    let sf = load_soundfont(soundfont)?;
    let mut src = MidiSource::new(&song, &sf, options)?;
    let estimate = (src.events_end_frame() + options.sample_rate as u64).max(1);
    let frames = write_wav(&mut src, output, format, None, &mut |done, _| {
        progress((done as f64 / estimate as f64).min(0.99))
    })
    .map_err(|e| write_error(output, e))?;
    progress(1.0);
    Ok(MidiRenderReport {
        frames,
        sample_rate: options.sample_rate,
        seconds: frames as f64 / options.sample_rate as f64,
        device: "cpu",
        warnings: song.warnings,
    })
}

/// Renders `midi` into memory: interleaved stereo `f32`, plus the report.
pub fn render_midi_to_vec(
    midi: &Path,
    soundfont: &Path,
    options: &MidiOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<(Vec<f32>, MidiRenderReport), MidiError> {
    let song = MidiSong::load(midi)?;
    let sf = load_soundfont(soundfont)?;
    let mut src = MidiSource::new(&song, &sf, options)?;
    let audio = src.render_to_end(progress);
    let frames = src.position();
    Ok((
        audio,
        MidiRenderReport {
            frames,
            sample_rate: options.sample_rate,
            seconds: frames as f64 / options.sample_rate as f64,
            device: "cpu",
            warnings: song.warnings,
        },
    ))
}

/// Output path for `midi` in `dir`: same stem, `.wav`.
pub fn output_path_for(midi: &Path, dir: &Path) -> PathBuf {
    let stem = midi
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| "out".into());
    dir.join(stem).with_extension("wav")
}

fn write_error(output: &Path, e: TrackError) -> MidiError {
    match e {
        TrackError::Write { path, source } | TrackError::Io { path, source } => {
            MidiError::Write { path, source }
        }
        other => MidiError::Write {
            path: output.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}
