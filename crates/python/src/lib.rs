//! The one native extension, `audio_engine._native`, behind the `realtime_backend` and
//! `rust_audio_engine` Python packages. Bindings only: convert arguments, release the GIL,
//! map errors to the classes in `audio_engine.errors`.

mod analysis;
mod errors;
mod midi;
mod playback;
mod session;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(session::render_full_wav, m)?)?;
    m.add_function(wrap_pyfunction!(session::render_sample_wav, m)?)?;
    m.add_function(wrap_pyfunction!(session::render_track, m)?)?;
    m.add_function(wrap_pyfunction!(session::validate_track, m)?)?;
    playback::register(m)?;
    m.add_function(wrap_pyfunction!(midi::synthesize_midi, m)?)?;
    m.add_function(wrap_pyfunction!(midi::batch_synthesize_midi, m)?)?;
    m.add_function(wrap_pyfunction!(midi::render_midi, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::waveform_png_from_file, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::waveform_png_from_samples, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::analyze_performance_json, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
