//! Maps core errors to the documented Python exceptions of `audio_engine.errors`.
//!
//! Every class there also derives from `RuntimeError`, the failure type existing callers
//! catch (`python-api.md`).

use audio_core::TrackError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Instantiates `audio_engine.errors.<class>(*args)` as a `PyErr`.
pub fn raise<A>(py: Python<'_>, class: &str, args: A) -> PyErr
where
    A: for<'py> pyo3::call::PyCallArgs<'py>,
{
    let made = py
        .import("audio_engine.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1(args));
    match made {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => PyRuntimeError::new_err(format!("audio_engine.errors.{class} unavailable: {e}")),
    }
}

/// `TrackError` -> `TrackFormatError` (ValueError), `AudioFileNotFoundError`
/// (FileNotFoundError), `AudioIOError` (OSError) or `AudioDecodeError` (ValueError).
pub fn track_error(py: Python<'_>, e: TrackError) -> PyErr {
    let msg = e.to_string();
    match &e {
        TrackError::Io { path, source } => {
            let class = if source.kind() == std::io::ErrorKind::NotFound {
                "AudioFileNotFoundError"
            } else {
                "AudioIOError"
            };
            raise(
                py,
                class,
                (
                    source.raw_os_error().unwrap_or(2),
                    msg,
                    path.display().to_string(),
                ),
            )
        }
        TrackError::Write { path, source } => raise(
            py,
            "AudioIOError",
            (
                source.raw_os_error().unwrap_or(5),
                msg,
                path.display().to_string(),
            ),
        ),
        TrackError::Decode { .. } => raise(py, "AudioDecodeError", (msg,)),
        _ => raise(py, "TrackFormatError", (msg,)),
    }
}
