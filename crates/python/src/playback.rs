//! `realtime_backend` live playback: the module-level default player (`start_stream`, ...)
//! and the `Player` class (several at once, context manager). Bindings only: the work is
//! `audio_playback::Player`; the GIL is released while opening devices and building sources.

use crate::errors::{raise, track_error};
use crate::session::TrackInput;
use audio_core::TrackError;
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::LoadOptions;
use audio_playback::{Player as Core, PlayerConfig, PlayerError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Mutex;

enum Failure {
    Track(TrackError),
    Device(PlayerError),
    NotPlaying,
}

impl From<TrackError> for Failure {
    fn from(e: TrackError) -> Self {
        Failure::Track(e)
    }
}
impl From<PlayerError> for Failure {
    fn from(e: PlayerError) -> Self {
        Failure::Device(e)
    }
}

fn to_py(py: Python<'_>, f: Failure) -> PyErr {
    match f {
        Failure::Track(e) => track_error(py, e),
        Failure::Device(e) => raise(py, "DeviceError", (e.to_string(),)),
        Failure::NotPlaying => raise(
            py,
            "DeviceError",
            ("no stream is open: call start_stream() first",),
        ),
    }
}

/// One player slot: the open stream (if any) and how to open it.
struct Slot {
    player: Option<Core>,
    config: PlayerConfig,
    lenient: bool,
}

impl Slot {
    fn new(config: PlayerConfig) -> Self {
        Slot {
            player: None,
            config,
            lenient: false,
        }
    }

    /// Loads the track, opens the device if needed (at the requested or the track's rate, else
    /// the device's), builds the source at the stream's rate and plays it from `start`.
    fn start(&mut self, input: &TrackInput, start: f64, rate: Option<u32>) -> Result<(), Failure> {
        let track = input.load(LoadOptions {
            lenient: self.lenient,
            allow_long: false,
        })?;
        let want = rate
            .or(self.config.sample_rate)
            .unwrap_or(track.sample_rate);
        if self
            .player
            .as_ref()
            .is_some_and(|p| p.sample_rate() != want)
        {
            self.player = None;
        }
        if self.player.is_none() {
            self.player = Some(Core::open(&PlayerConfig {
                sample_rate: Some(want),
                ..self.config.clone()
            })?);
        }
        let p = self.player.as_mut().expect("opened above");
        let src = SessionSource::new(
            &track,
            RenderOptions {
                sample_rate: Some(p.sample_rate()),
                target_level: None,
            },
        )?;
        p.start(Box::new(src), start.max(0.0))?;
        Ok(())
    }

    fn update(&mut self, input: &TrackInput) -> Result<(), Failure> {
        let track = input.load(LoadOptions {
            lenient: self.lenient,
            allow_long: false,
        })?;
        let p = self.player.as_mut().ok_or(Failure::NotPlaying)?;
        let src = SessionSource::new(
            &track,
            RenderOptions {
                sample_rate: Some(p.sample_rate()),
                target_level: None,
            },
        )?;
        p.update_track(Box::new(src))?;
        Ok(())
    }

    fn with(
        &mut self,
        f: impl FnOnce(&mut Core) -> Result<(), PlayerError>,
    ) -> Result<(), Failure> {
        let p = self.player.as_mut().ok_or(Failure::NotPlaying)?;
        Ok(f(p)?)
    }

    fn status<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match self.player.as_mut() {
            None => {
                d.set_item("state", "idle")?;
                d.set_item("position", 0.0)?;
                d.set_item("duration", None::<f64>)?;
                d.set_item("step", None::<usize>)?;
                d.set_item("step_count", 0)?;
            }
            Some(p) => {
                let s = p.status();
                d.set_item("state", s.state.as_str())?;
                d.set_item("position", s.position_secs)?;
                d.set_item("duration", s.duration_secs)?;
                d.set_item("step", s.step)?;
                d.set_item("step_count", s.step_count)?;
                d.set_item("volume", s.volume)?;
                d.set_item("underruns", s.underruns)?;
                d.set_item("sample_rate", s.sample_rate)?;
                d.set_item("output_frames", s.output_frames)?;
                d.set_item("dsp_load", s.dsp_load)?;
                d.set_item("command_latency", s.command_latency_secs)?;
                d.set_item("device", p.device_name().to_string())?;
                d.set_item("error", p.last_error().map(str::to_string))?;
            }
        }
        Ok(d)
    }
}

/// Runs `f` on the slot with the GIL released, mapping errors.
fn detached<T: Send>(
    py: Python<'_>,
    slot: &Mutex<Slot>,
    f: impl FnOnce(&mut Slot) -> Result<T, Failure> + Send,
) -> PyResult<T> {
    py.detach(|| {
        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    })
    .map_err(|e| to_py(py, e))
}

static DEFAULT: Mutex<Option<Slot>> = Mutex::new(None);

fn default_slot<T: Send>(
    py: Python<'_>,
    f: impl FnOnce(&mut Slot) -> Result<T, Failure> + Send,
) -> PyResult<T> {
    py.detach(|| {
        let mut g = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
        f(g.get_or_insert_with(|| Slot::new(PlayerConfig::default())))
    })
    .map_err(|e| to_py(py, e))
}

/// Starts live playback of a track on the default device at `start_time` seconds.
#[pyfunction]
#[pyo3(signature = (track_json, start_time=None, *, sample_rate=None, device=None, lenient=false))]
pub fn start_stream(
    py: Python<'_>,
    track_json: &Bound<'_, PyAny>,
    start_time: Option<f64>,
    sample_rate: Option<u32>,
    device: Option<String>,
    lenient: bool,
) -> PyResult<()> {
    let input = TrackInput::extract(track_json)?;
    default_slot(py, move |s| {
        if s.config.device != device {
            s.player = None;
            s.config.device = device;
        }
        s.lenient = lenient;
        s.start(&input, start_time.unwrap_or(0.0), sample_rate)
    })
}

/// Stops and releases the device; harmless when nothing plays.
#[pyfunction]
pub fn stop_stream(py: Python<'_>) -> PyResult<()> {
    default_slot(py, |s| {
        s.player = None;
        Ok(())
    })
}

/// Pauses (short fade-out), keeping the position.
#[pyfunction]
pub fn pause_stream(py: Python<'_>) -> PyResult<()> {
    default_slot(py, |s| s.with(Core::pause))
}

/// Resumes at the paused position.
#[pyfunction]
pub fn resume_stream(py: Python<'_>) -> PyResult<()> {
    default_slot(py, |s| s.with(Core::resume))
}

/// Seeks the playing stream to `position` seconds.
#[pyfunction]
pub fn start_from(py: Python<'_>, position: f64) -> PyResult<()> {
    default_slot(py, move |s| s.with(|p| p.seek(position)))
}

/// Replaces the track while playing, keeping the position (crossfade).
#[pyfunction]
pub fn update_track(py: Python<'_>, track_json: &Bound<'_, PyAny>) -> PyResult<()> {
    let input = TrackInput::extract(track_json)?;
    default_slot(py, move |s| s.update(&input))
}

/// Jumps `n` steps forward (negative: back).
#[pyfunction]
#[pyo3(signature = (n=1))]
pub fn skip_step(py: Python<'_>, n: i32) -> PyResult<()> {
    default_slot(py, move |s| s.with(|p| p.skip_step(n)))
}

/// Master volume (linear gain, 0..4).
#[pyfunction]
pub fn set_volume(py: Python<'_>, x: f32) -> PyResult<()> {
    default_slot(py, move |s| s.with(|p| p.set_volume(x)))
}

/// The GUI's volume slider: linear gain clamped to 0..1.
#[pyfunction]
pub fn set_master_gain(py: Python<'_>, gain: f32) -> PyResult<()> {
    default_slot(py, move |s| {
        s.with(|p| {
            p.set_volume(if gain.is_finite() {
                gain.clamp(0.0, 1.0)
            } else {
                1.0
            })
        })
    })
}

/// Status of the default player as a dict (`state`, `position`, `duration`, `step`, ...).
#[pyfunction]
pub fn status<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let mut g = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
    match g.as_mut() {
        Some(s) => s.status(py),
        None => Slot::new(PlayerConfig::default()).status(py),
    }
}

/// A player of its own (several can play at once); a context manager that closes the device.
#[pyclass(module = "realtime_backend")]
pub struct Player {
    slot: Mutex<Slot>,
}

#[pymethods]
impl Player {
    #[new]
    #[pyo3(signature = (device=None, sample_rate=None, buffer_frames=None, crossfade=0.5, lenient=false))]
    fn new(
        device: Option<String>,
        sample_rate: Option<u32>,
        buffer_frames: Option<u32>,
        crossfade: f64,
        lenient: bool,
    ) -> Self {
        let config = PlayerConfig {
            device,
            sample_rate,
            buffer_frames,
            crossfade_secs: crossfade,
            ..PlayerConfig::default()
        };
        let mut slot = Slot::new(config);
        slot.lenient = lenient;
        Player {
            slot: Mutex::new(slot),
        }
    }

    /// Opens the device if needed and plays the track from `start_time`.
    #[pyo3(signature = (track_json, start_time=0.0))]
    fn start(
        &self,
        py: Python<'_>,
        track_json: &Bound<'_, PyAny>,
        start_time: f64,
    ) -> PyResult<()> {
        let input = TrackInput::extract(track_json)?;
        detached(py, &self.slot, move |s| s.start(&input, start_time, None))
    }
    fn pause(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.slot, |s| s.with(Core::pause))
    }
    fn resume(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.slot, |s| s.with(Core::resume))
    }
    /// Fades out and returns to the start (the device stays open).
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.slot, |s| s.with(Core::stop))
    }
    fn seek(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        detached(py, &self.slot, move |s| s.with(|p| p.seek(seconds)))
    }
    fn update_track(&self, py: Python<'_>, track_json: &Bound<'_, PyAny>) -> PyResult<()> {
        let input = TrackInput::extract(track_json)?;
        detached(py, &self.slot, move |s| s.update(&input))
    }
    #[pyo3(signature = (n=1))]
    fn skip_step(&self, py: Python<'_>, n: i32) -> PyResult<()> {
        detached(py, &self.slot, move |s| s.with(|p| p.skip_step(n)))
    }
    fn set_volume(&self, py: Python<'_>, x: f32) -> PyResult<()> {
        detached(py, &self.slot, move |s| s.with(|p| p.set_volume(x)))
    }
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .status(py)
    }
    /// Releases the device (idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.slot, |s| {
            s.player = None;
            Ok(())
        })
    }
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

/// Adds the playback functions and the `Player` class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(start_stream, m)?)?;
    m.add_function(wrap_pyfunction!(stop_stream, m)?)?;
    m.add_function(wrap_pyfunction!(pause_stream, m)?)?;
    m.add_function(wrap_pyfunction!(resume_stream, m)?)?;
    m.add_function(wrap_pyfunction!(start_from, m)?)?;
    m.add_function(wrap_pyfunction!(update_track, m)?)?;
    m.add_function(wrap_pyfunction!(skip_step, m)?)?;
    m.add_function(wrap_pyfunction!(set_volume, m)?)?;
    m.add_function(wrap_pyfunction!(set_master_gain, m)?)?;
    m.add_function(wrap_pyfunction!(status, m)?)?;
    m.add_class::<Player>()
}
