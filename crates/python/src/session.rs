//! `realtime_backend` offline rendering: `render_full_wav`, `render_sample_wav`, `render_track`.

use crate::errors::track_error;
use audio_core::render::wav::{WavFormat, render_to_vec, write_wav};
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use audio_core::{Source, TrackError};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::path::PathBuf;

/// A track argument: JSON text, a dict, or a path (str or os.PathLike).
pub enum TrackInput {
    Json(String),
    Path(PathBuf),
}

impl TrackInput {
    /// Converts the Python argument (GIL held).
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        if let Ok(s) = obj.cast::<PyString>() {
            let s: String = s.extract()?;
            return Ok(if s.trim_start().starts_with('{') {
                TrackInput::Json(s)
            } else {
                TrackInput::Path(PathBuf::from(s))
            });
        }
        if obj.cast::<PyDict>().is_ok() {
            let text: String = py
                .import("json")?
                .getattr("dumps")?
                .call1((obj,))?
                .extract()?;
            return Ok(TrackInput::Json(text));
        }
        let p: PathBuf = py
            .import("os")?
            .getattr("fspath")?
            .call1((obj,))?
            .extract()
            .map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(
                    "track_json must be a JSON string, a dict or a path",
                )
            })?;
        Ok(TrackInput::Path(p))
    }

    /// Loads and validates the track (no GIL needed).
    pub fn load(&self, opts: LoadOptions) -> Result<Track, TrackError> {
        match self {
            // In-memory JSON: relative clip paths resolve against the working directory.
            TrackInput::Json(s) => {
                Track::from_json_str(s, "<track>", Some(PathBuf::from(".")), opts)
            }
            TrackInput::Path(p) => Track::from_path(p, opts),
        }
    }
}

/// Calls the optional Python progress callback with a fraction, at most every ~1 %.
pub struct Progress {
    cb: Option<Py<PyAny>>,
    last: f64,
}

impl Progress {
    pub fn new(cb: Option<Py<PyAny>>) -> Self {
        Progress { cb, last: -1.0 }
    }

    /// Reports `done / total`; takes the GIL only when a callback is set.
    pub fn report(&mut self, done: u64, total: u64) {
        let Some(cb) = &self.cb else { return };
        let frac = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        if frac - self.last < 0.01 && frac < 1.0 {
            return;
        }
        self.last = frac;
        Python::attach(|py| {
            if let Err(e) = cb.call1(py, (frac,)) {
                e.print(py); // a failing callback must not abort the render
            }
        });
    }
}

fn render_file(
    py: Python<'_>,
    track: &Bound<'_, PyAny>,
    out_path: PathBuf,
    start: f64,
    duration: Option<f64>,
    format: &str,
    target_level: Option<f64>,
    lenient: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<f64> {
    let input = TrackInput::extract(track)?;
    let format = WavFormat::parse(format).ok_or_else(|| {
        crate::errors::raise(
            py,
            "TrackFormatError",
            (format!(
                "unknown sample format {format:?} (wav16, wav24, f32)"
            ),),
        )
    })?;
    check_window(py, start, duration)?;
    let mut progress = Progress::new(progress);
    let result = py.detach(move || -> Result<f64, TrackError> {
        let track = input.load(LoadOptions {
            lenient,
            allow_long: false,
        })?;
        let mut src = SessionSource::new(
            &track,
            RenderOptions {
                sample_rate: None,
                target_level,
            },
        )?;
        let sr = src.sample_rate() as f64;
        src.seek((start * sr).round() as u64);
        let frames = duration.map(|d| (d * sr).round() as u64);
        let frames = frames.map(|f| {
            f.min(
                src.total_frames()
                    .unwrap_or(0)
                    .saturating_sub(src.position()),
            )
        });
        let n = write_wav(&mut src, &out_path, format, frames, &mut |d, t| {
            progress.report(d, t)
        })?;
        Ok(n as f64 / sr)
    });
    result.map_err(|e| track_error(py, e))
}

fn check_window(py: Python<'_>, start: f64, duration: Option<f64>) -> PyResult<()> {
    if !start.is_finite() || start < 0.0 {
        return Err(crate::errors::raise(
            py,
            "TrackFormatError",
            (format!("start must be a number >= 0, got {start}"),),
        ));
    }
    if let Some(d) = duration {
        if !d.is_finite() || d <= 0.0 {
            return Err(crate::errors::raise(
                py,
                "TrackFormatError",
                (format!("duration must be a number > 0, got {d}"),),
            ));
        }
    }
    Ok(())
}

/// Renders the whole track to a WAV file; returns the seconds written.
#[pyfunction]
#[pyo3(signature = (track_json, out_path, *, format="wav16", target_level=None, lenient=false, progress=None))]
pub fn render_full_wav(
    py: Python<'_>,
    track_json: &Bound<'_, PyAny>,
    out_path: PathBuf,
    format: &str,
    target_level: Option<f64>,
    lenient: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<f64> {
    render_file(
        py,
        track_json,
        out_path,
        0.0,
        None,
        format,
        target_level,
        lenient,
        progress,
    )
}

/// Renders a window (default: the first 60 s) to a WAV file; returns the seconds written.
#[pyfunction]
#[pyo3(signature = (track_json, out_path, duration=60.0, start_time=0.0, *, format="wav16", target_level=None, lenient=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn render_sample_wav(
    py: Python<'_>,
    track_json: &Bound<'_, PyAny>,
    out_path: PathBuf,
    duration: f64,
    start_time: f64,
    format: &str,
    target_level: Option<f64>,
    lenient: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<f64> {
    render_file(
        py,
        track_json,
        out_path,
        start_time,
        Some(duration),
        format,
        target_level,
        lenient,
        progress,
    )
}

/// Renders to a float32 numpy array of shape (frames, 2).
#[pyfunction]
#[pyo3(signature = (track_json, start=0.0, duration=None, sample_rate=None, *, target_level=None, lenient=false))]
pub fn render_track<'py>(
    py: Python<'py>,
    track_json: &Bound<'py, PyAny>,
    start: f64,
    duration: Option<f64>,
    sample_rate: Option<u32>,
    target_level: Option<f64>,
    lenient: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let input = TrackInput::extract(track_json)?;
    check_window(py, start, duration)?;
    let samples = py
        .detach(move || -> Result<Vec<f32>, TrackError> {
            let track = input.load(LoadOptions {
                lenient,
                allow_long: false,
            })?;
            let mut src = SessionSource::new(
                &track,
                RenderOptions {
                    sample_rate,
                    target_level,
                },
            )?;
            let sr = src.sample_rate() as f64;
            src.seek((start * sr).round() as u64);
            let frames = duration.map(|d| (d * sr).round() as u64);
            let frames = frames.map(|f| {
                f.min(
                    src.total_frames()
                        .unwrap_or(0)
                        .saturating_sub(src.position()),
                )
            });
            Ok(render_to_vec(&mut src, frames))
        })
        .map_err(|e| track_error(py, e))?;
    let frames = samples.len() / 2;
    // Zero-copy: numpy takes ownership of the Vec.
    let arr = PyArray1::from_vec(py, samples);
    Ok(arr.reshape([frames, 2])?.into_any())
}

/// Validates a track without rendering; returns its length in seconds.
#[pyfunction]
#[pyo3(signature = (track_json, *, lenient=false))]
pub fn validate_track(
    py: Python<'_>,
    track_json: &Bound<'_, PyAny>,
    lenient: bool,
) -> PyResult<f64> {
    let input = TrackInput::extract(track_json)?;
    py.detach(move || -> Result<f64, TrackError> {
        let track = input.load(LoadOptions {
            lenient,
            allow_long: false,
        })?;
        let src = SessionSource::new(&track, RenderOptions::default())?;
        Ok(src.total_frames().unwrap_or(0) as f64 / src.sample_rate() as f64)
    })
    .map_err(|e| track_error(py, e))
}
