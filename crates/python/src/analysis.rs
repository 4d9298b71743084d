//! `rust_audio_engine` waveform pictures and performance analysis. The Python package wraps
//! these (`generate_waveform`, `analyze_performance`, `analyze`).

use crate::errors::raise;
use crate::midi::midi_error;
use audio_core::analysis::{AnalysisError, AnalysisOptions, analyze_files};
use audio_core::waveform::{
    ChannelMode, WaveformError, WaveformOptions, parse_color, waveform_png, waveform_png_file,
};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::{Path, PathBuf};

fn io_error(py: Python<'_>, path: &Path, source: &std::io::Error, msg: String) -> PyErr {
    let nf = source.kind() == std::io::ErrorKind::NotFound;
    let class = if nf {
        "AudioFileNotFoundError"
    } else {
        "AudioIOError"
    };
    raise(
        py,
        class,
        (
            source.raw_os_error().unwrap_or(if nf { 2 } else { 5 }),
            msg,
            path.display().to_string(),
        ),
    )
}

/// `WaveformError` -> `AudioFileNotFoundError`, `AudioIOError`, `AudioDecodeError` or
/// `AnalysisError` (bad settings).
fn waveform_error(py: Python<'_>, e: WaveformError) -> PyErr {
    let msg = e.to_string();
    match &e {
        WaveformError::Io { path, source } => io_error(py, path, source, msg),
        WaveformError::Decode { .. } => raise(py, "AudioDecodeError", (msg,)),
        _ => raise(py, "AnalysisError", (msg,)),
    }
}

/// `AnalysisError` -> the classes above, or `MidiError` for the MIDI file.
fn analysis_error(py: Python<'_>, e: AnalysisError) -> PyErr {
    let msg = e.to_string();
    match e {
        AnalysisError::Io { path, source } => io_error(py, &path, &source, msg),
        AnalysisError::Decode { .. } => raise(py, "AudioDecodeError", (msg,)),
        AnalysisError::Midi(m) => midi_error(py, m),
        AnalysisError::Input(_) => raise(py, "AnalysisError", (msg,)),
    }
}

#[allow(clippy::too_many_arguments)]
fn options(
    py: Python<'_>,
    width: u32,
    height: u32,
    channels: &str,
    color: &str,
    rms_color: Option<&str>,
    background: &str,
    time_axis: bool,
    axis_color: &str,
) -> PyResult<WaveformOptions> {
    let col = |s: &str, what: &str| {
        parse_color(s).ok_or_else(|| raise(py, "AnalysisError", (format!("invalid waveform settings: {what} must be #rgb, #rrggbb or #rrggbbaa, got {s:?}"),)))
    };
    let mode = ChannelMode::parse(channels).ok_or_else(|| {
        raise(
            py,
            "AnalysisError",
            (format!(
                "invalid waveform settings: channels must be 'mixed' or 'both', got {channels:?}"
            ),),
        )
    })?;
    Ok(WaveformOptions {
        width,
        height,
        channels: mode,
        color: col(color, "color")?,
        rms_color: rms_color.map(|c| col(c, "rms_color")).transpose()?,
        background: col(background, "background")?,
        time_axis,
        axis_color: col(axis_color, "axis_color")?,
    })
}

/// PNG of an audio file (WAV/FLAC/MP3/OGG).
#[pyfunction]
#[pyo3(signature = (path, width=1000, height=200, *, channels="mixed", color="#3b82f6", rms_color=Some("#1e40af"), background="#ffffff", time_axis=false, axis_color="#444444"))]
#[allow(clippy::too_many_arguments)]
pub fn waveform_png_from_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    width: u32,
    height: u32,
    channels: &str,
    color: &str,
    rms_color: Option<&str>,
    background: &str,
    time_axis: bool,
    axis_color: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let o = options(
        py, width, height, channels, color, rms_color, background, time_axis, axis_color,
    )?;
    let png = py
        .detach(|| waveform_png_file(&path, &o))
        .map_err(|e| waveform_error(py, e))?;
    Ok(PyBytes::new(py, &png))
}

/// PNG of interleaved float32 samples.
#[pyfunction]
#[pyo3(signature = (samples, channels, sample_rate, width=1000, height=200, *, mode="mixed", color="#3b82f6", rms_color=Some("#1e40af"), background="#ffffff", time_axis=false, axis_color="#444444"))]
#[allow(clippy::too_many_arguments)]
pub fn waveform_png_from_samples<'py>(
    py: Python<'py>,
    samples: PyReadonlyArray1<'py, f32>,
    channels: usize,
    sample_rate: u32,
    width: u32,
    height: u32,
    mode: &str,
    color: &str,
    rms_color: Option<&str>,
    background: &str,
    time_axis: bool,
    axis_color: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let o = options(
        py, width, height, mode, color, rms_color, background, time_axis, axis_color,
    )?;
    let x = samples.as_slice()?;
    let png = py
        .detach(|| waveform_png(x, channels, sample_rate, &o))
        .map_err(|e| waveform_error(py, e))?;
    Ok(PyBytes::new(py, &png))
}

/// Analysis report as JSON (see `audio_core::analysis::AnalysisReport`).
#[pyfunction]
#[pyo3(signature = (recording_path, expected_midi_path, *, rhythm_tolerance_ms=50.0))]
pub fn analyze_performance_json(
    py: Python<'_>,
    recording_path: PathBuf,
    expected_midi_path: PathBuf,
    rhythm_tolerance_ms: f64,
) -> PyResult<String> {
    let o = AnalysisOptions {
        rhythm_tolerance_ms,
        ..AnalysisOptions::default()
    };
    py.detach(|| analyze_files(&recording_path, &expected_midi_path, &o))
        .map(|r| r.to_json())
        .map_err(|e| analysis_error(py, e))
}
