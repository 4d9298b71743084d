//! `rust_audio_engine` MIDI rendering: `synthesize_midi`, `batch_synthesize_midi`, `render_midi`.
//! The Python package wraps these (GPU flag reporting, `engine="fluidsynth"`).

use crate::errors::raise;
use crate::session::Progress;
use audio_core::midi::{
    MidiError, MidiOptions, batch_map, default_soundfont_path, output_path_for, render_midi_file,
    render_midi_to_vec,
};
use audio_core::render::wav::WavFormat;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::Mutex;

/// `MidiError` -> `AudioFileNotFoundError` (FileNotFoundError), `AudioIOError` (OSError) or
/// `MidiError` (ValueError).
pub fn midi_error(py: Python<'_>, e: MidiError) -> PyErr {
    let msg = e.to_string();
    match &e {
        MidiError::Io { path, source } | MidiError::Write { path, source } => {
            let class = if e.is_not_found() {
                "AudioFileNotFoundError"
            } else {
                "AudioIOError"
            };
            raise(
                py,
                class,
                (
                    source
                        .raw_os_error()
                        .unwrap_or(if e.is_not_found() { 2 } else { 5 }),
                    msg,
                    path.display().to_string(),
                ),
            )
        }
        _ => raise(py, "MidiError", (msg,)),
    }
}

fn options(sample_rate: u32, reverb: bool, jobs: usize) -> MidiOptions {
    let mut o = MidiOptions {
        sample_rate,
        channel_groups: jobs.clamp(1, 16),
        ..MidiOptions::default()
    };
    if !reverb {
        o.reverb = None;
    }
    o
}

fn format_of(py: Python<'_>, f: &str) -> PyResult<WavFormat> {
    WavFormat::parse(f).ok_or_else(|| {
        raise(
            py,
            "MidiError",
            (format!("unknown sample format {f:?} (wav16, wav24, f32)"),),
        )
    })
}

/// Renders one MIDI file to a WAV file; returns the seconds of audio written.
#[pyfunction]
#[pyo3(signature = (midi_path, output_path, soundfont_path=None, sample_rate=44100, reverb=true, *, format="wav16", jobs=1, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn synthesize_midi(
    py: Python<'_>,
    midi_path: PathBuf,
    output_path: PathBuf,
    soundfont_path: Option<PathBuf>,
    sample_rate: u32,
    reverb: bool,
    format: &str,
    jobs: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<f64> {
    let format = format_of(py, format)?;
    let sf = soundfont_path.unwrap_or_else(default_soundfont_path);
    let opts = options(sample_rate, reverb, jobs);
    let mut progress = Progress::new(progress);
    py.detach(move || {
        render_midi_file(&midi_path, &output_path, &sf, &opts, format, &mut |f| {
            progress.report((f * 1e6) as u64, 1_000_000)
        })
    })
    .map(|r| r.seconds)
    .map_err(|e| midi_error(py, e))
}

/// Renders many MIDI files into `output_dir` (`<stem>.wav`) on `jobs` threads (0 = all
/// cores). Returns one dict per input, in order: `path`, `output`, `duration` (seconds or
/// None), `error` (message or None), `error_type` (Python class name or None), `device`.
/// One bad file does not stop the batch.
#[pyfunction]
#[pyo3(signature = (midi_paths, output_dir, soundfont_path=None, sample_rate=44100, reverb=true, *, format="wav16", jobs=0, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn batch_synthesize_midi<'py>(
    py: Python<'py>,
    midi_paths: Vec<PathBuf>,
    output_dir: PathBuf,
    soundfont_path: Option<PathBuf>,
    sample_rate: u32,
    reverb: bool,
    format: &str,
    jobs: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let format = format_of(py, format)?;
    let sf = soundfont_path.unwrap_or_else(default_soundfont_path);
    let opts = options(sample_rate, reverb, 1);
    std::fs::create_dir_all(&output_dir).map_err(|e| {
        midi_error(
            py,
            MidiError::Write {
                path: output_dir.clone(),
                source: e,
            },
        )
    })?;
    let total = midi_paths.len().max(1) as u64;
    let progress = Mutex::new((Progress::new(progress), 0u64));
    let results = py.detach(|| {
        batch_map(&midi_paths, jobs, |p| {
            let out = output_path_for(p, &output_dir);
            let r = render_midi_file(p, &out, &sf, &opts, format, &mut |_| {});
            if let Ok(mut g) = progress.lock() {
                g.1 += 1;
                let done = g.1;
                g.0.report(done, total);
            }
            (out, r)
        })
    });
    let mut list = Vec::with_capacity(results.len());
    for (p, (out, r)) in midi_paths.iter().zip(results) {
        let d = PyDict::new(py);
        d.set_item("path", p.display().to_string())?;
        d.set_item("output", out.display().to_string())?;
        match r {
            Ok(rep) => {
                d.set_item("duration", rep.seconds)?;
                d.set_item("error", py.None())?;
                d.set_item("error_type", py.None())?;
                d.set_item("device", rep.device)?;
            }
            Err(e) => {
                let err = midi_error(py, e);
                let name = err.get_type(py).name()?.to_string();
                d.set_item("duration", py.None())?;
                d.set_item("error", err.value(py).str()?.to_string())?;
                d.set_item("error_type", name)?;
                d.set_item("device", py.None())?;
            }
        }
        list.push(d);
    }
    Ok(list)
}

/// Renders a MIDI file into a float32 numpy array of shape (frames, 2).
#[pyfunction]
#[pyo3(signature = (midi_path, soundfont_path=None, sample_rate=44100, reverb=true, *, jobs=1, progress=None))]
pub fn render_midi<'py>(
    py: Python<'py>,
    midi_path: PathBuf,
    soundfont_path: Option<PathBuf>,
    sample_rate: u32,
    reverb: bool,
    jobs: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let sf = soundfont_path.unwrap_or_else(default_soundfont_path);
    let opts = options(sample_rate, reverb, jobs);
    let mut progress = Progress::new(progress);
    let (samples, _) = py
        .detach(move || {
            render_midi_to_vec(&midi_path, &sf, &opts, &mut |f| {
                progress.report((f * 1e6) as u64, 1_000_000)
            })
        })
        .map_err(|e| midi_error(py, e))?;
    let frames = samples.len() / 2;
    let arr = PyArray1::from_vec(py, samples);
    Ok(arr.reshape([frames, 2])?.into_any())
}
