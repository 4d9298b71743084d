//! `realtime_backend` live playback: the module-level default player (`start_stream`, ...)
//! and the `Player` class (several at once, context manager). Bindings only: the work is
//! `audio_playback::Player`; the GIL is released while opening devices and building sources.
//!
//! Pushed clips (`push_clip_samples`): each player keeps a staging buffer per overlay clip.
//! Whenever a clip is finished (and while it is pushed, after every doubling of its length
//! beyond 2 s) a new `SessionSource` is built here, off the audio thread, with that clip's
//! audio taken from the staging buffer (`ClipSource::Samples`) and handed over like
//! `update_track` (same position, crossfade). Clips with an empty `file_path` are silent until
//! pushed; with `clips_pushed=True` no clip file is read at all.

use crate::errors::{raise, track_error};
use crate::session::TrackInput;
use audio_core::TrackError;
use audio_core::render::{ClipSource, RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use audio_playback::{Player as Core, PlayerConfig, PlayerError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Arc, Mutex};

enum Failure {
    Track(TrackError),
    Device(PlayerError),
    NotPlaying,
    /// `push_clip_samples` index past the track's clips.
    ClipIndex(String),
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
        Failure::ClipIndex(msg) => raise(py, "ClipIndexError", (msg,)),
    }
}

/// Pushed audio of one overlay clip.
#[derive(Default)]
struct Staged {
    /// Interleaved stereo at the stream's rate.
    buf: Vec<f32>,
    /// `finished=True` was pushed; the next push starts the clip over.
    finished: bool,
    /// Samples of `buf` in the source last handed to the player.
    handed: usize,
}

/// Most clip indices a caller may push for before a track is loaded.
const MAX_CLIPS: usize = 4096;

/// Converts `samples` (numpy array of any shape and float dtype, or any buffer/sequence of
/// floats) to a flat f32 vector, checking the documented errors (GIL held).
fn clip_samples(samples: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
    let py = samples.py();
    let bad = |msg: String| crate::errors::raise(py, "ClipSamplesError", (msg,));
    let np = py.import("numpy")?;
    let arr = np
        .getattr("ascontiguousarray")?
        .call1((samples, np.getattr("float32")?))
        .and_then(|a| a.call_method1("reshape", (-1,)))
        .map_err(|e| {
            bad(format!(
                "samples must be float32 numbers (a numpy array or a sequence): {e}"
            ))
        })?;
    let arr = arr
        .cast_into::<PyArray1<f32>>()
        .map_err(|e| bad(e.to_string()))?;
    if arr.len() % 2 != 0 {
        return Err(bad(format!(
            "samples must be interleaved stereo (an even count), got {}",
            arr.len()
        )));
    }
    let v = arr
        .readonly()
        .as_slice()
        .map_err(|e| bad(e.to_string()))?
        .to_vec();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("sample {i} is not finite")));
    }
    Ok(v)
}

/// One player slot: the open stream (if any) and how to open it.
struct Slot {
    player: Option<Core>,
    config: PlayerConfig,
    lenient: bool,
    /// The track playing (rebuilt when clips are pushed).
    track: Option<Track>,
    /// Pushed clip audio by clip index; kept across `start`/`update` until `clear_clips`.
    clips: Vec<Staged>,
    /// Do not read clip files: clips are silent until pushed.
    clips_pushed: bool,
}

impl Slot {
    fn new(config: PlayerConfig) -> Self {
        Slot {
            player: None,
            config,
            lenient: false,
            track: None,
            clips: Vec::new(),
            clips_pushed: false,
        }
    }

    /// Builds the source of `track` at `rate`, pushed clip audio overriding the files.
    fn build(&mut self, track: &Track, rate: u32) -> Result<SessionSource, TrackError> {
        let sources: Vec<ClipSource> = (0..track.clips.len())
            .map(|i| match self.clips.get_mut(i) {
                Some(c) if !c.buf.is_empty() => {
                    c.handed = c.buf.len();
                    ClipSource::Samples(Arc::from(c.buf.as_slice()))
                }
                _ if self.clips_pushed => ClipSource::Silent,
                _ => ClipSource::FileOrSilent,
            })
            .collect();
        let opts = RenderOptions {
            sample_rate: Some(rate),
            target_level: None,
        };
        SessionSource::with_clip_sources(track, opts, &sources)
    }

    /// Appends pushed audio of clip `index`; hands a rebuilt source to the player when the
    /// clip is finished, or has doubled (by at least 2 s) since the last hand-over.
    fn push(&mut self, index: usize, samples: Vec<f32>, finished: bool) -> Result<(), Failure> {
        let limit = self.track.as_ref().map_or(MAX_CLIPS, |t| t.clips.len());
        if index >= limit {
            return Err(Failure::ClipIndex(match &self.track {
                Some(_) => format!(
                    "clip index {index} out of range: the track has {limit} clip(s) (clips[0..{limit}])"
                ),
                None => format!("clip index {index} out of range (at most {MAX_CLIPS} clips)"),
            }));
        }
        if self.clips.len() <= index {
            self.clips.resize_with(index + 1, Staged::default);
        }
        let c = &mut self.clips[index];
        if c.finished {
            *c = Staged::default();
        }
        c.buf.extend_from_slice(&samples);
        c.finished = finished;
        let Some(rate) = self.player.as_ref().map(Core::sample_rate) else {
            return Ok(());
        };
        let Some(track) = self.track.take() else {
            return Ok(());
        };
        let grown = c.buf.len() - c.handed;
        let due = finished || grown >= (4 * rate as usize).max(c.handed);
        let result = if due && grown > 0 {
            self.build(&track, rate)
                .map_err(Failure::from)
                .and_then(|src| {
                    let p = self.player.as_mut().expect("checked above");
                    Ok(p.update_track(Box::new(src))?)
                })
        } else {
            Ok(())
        };
        self.track = Some(track);
        result
    }

    /// Forgets pushed audio (one clip or all); the track plays on with the clip files.
    fn clear_clips(&mut self, index: Option<usize>) {
        match index {
            Some(i) => {
                if let Some(c) = self.clips.get_mut(i) {
                    *c = Staged::default();
                }
            }
            None => self.clips.clear(),
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
        // A new device is held (silent, clock stopped) until the source is queued: building a
        // long track takes a while, and the held device must not count those frames as played.
        let fresh = self.player.is_none();
        if fresh {
            self.player = Some(Core::open(&PlayerConfig {
                sample_rate: Some(want),
                autostart: false,
                ..self.config.clone()
            })?);
        }
        let rate = self.player.as_ref().expect("opened above").sample_rate();
        let src = match self.build(&track, rate) {
            Ok(src) => src,
            Err(e) => {
                if fresh {
                    self.player = None;
                }
                return Err(e.into());
            }
        };
        let p = self.player.as_mut().expect("opened above");
        p.start(Box::new(src), start.max(0.0))?;
        if fresh {
            p.start_device()?;
        }
        self.track = Some(track);
        Ok(())
    }

    fn update(&mut self, input: &TrackInput) -> Result<(), Failure> {
        let track = input.load(LoadOptions {
            lenient: self.lenient,
            allow_long: false,
        })?;
        let rate = self
            .player
            .as_ref()
            .ok_or(Failure::NotPlaying)?
            .sample_rate();
        let src = self.build(&track, rate)?;
        let p = self.player.as_mut().ok_or(Failure::NotPlaying)?;
        p.update_track(Box::new(src))?;
        self.track = Some(track);
        Ok(())
    }

    /// Releases the device and forgets the track and pushed clips.
    fn close(&mut self) {
        self.player = None;
        self.track = None;
        self.clips.clear();
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
#[pyo3(signature = (track_json, start_time=None, *, sample_rate=None, device=None, lenient=false, clips_pushed=false))]
pub fn start_stream(
    py: Python<'_>,
    track_json: &Bound<'_, PyAny>,
    start_time: Option<f64>,
    sample_rate: Option<u32>,
    device: Option<String>,
    lenient: bool,
    clips_pushed: bool,
) -> PyResult<()> {
    let input = TrackInput::extract(track_json)?;
    default_slot(py, move |s| {
        if s.config.device != device {
            s.player = None;
            s.config.device = device;
        }
        s.lenient = lenient;
        s.clips_pushed = clips_pushed;
        s.start(&input, start_time.unwrap_or(0.0), sample_rate)
    })
}

/// Stops and releases the device; harmless when nothing plays.
#[pyfunction]
pub fn stop_stream(py: Python<'_>) -> PyResult<()> {
    default_slot(py, |s| {
        s.close();
        Ok(())
    })
}

/// Streams decoded audio of overlay clip `index` (interleaved stereo f32 at the stream rate)
/// to the default player; `finished=True` marks its end.
#[pyfunction]
#[pyo3(signature = (index, samples, finished=false))]
pub fn push_clip_samples(
    py: Python<'_>,
    index: i64,
    samples: &Bound<'_, PyAny>,
    finished: bool,
) -> PyResult<()> {
    let index = clip_index(py, index)?;
    let v = clip_samples(samples)?;
    default_slot(py, move |s| s.push(index, v, finished))
}

/// Forgets pushed clip audio (clip `index`, or all clips) of the default player.
#[pyfunction]
#[pyo3(signature = (index=None))]
pub fn clear_clip_samples(py: Python<'_>, index: Option<i64>) -> PyResult<()> {
    let index = index.map(|i| clip_index(py, i)).transpose()?;
    default_slot(py, move |s| {
        s.clear_clips(index);
        Ok(())
    })
}

fn clip_index(py: Python<'_>, index: i64) -> PyResult<usize> {
    usize::try_from(index).map_err(|_| {
        raise(
            py,
            "ClipIndexError",
            (format!("clip index {index} out of range: must be >= 0"),),
        )
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
    #[pyo3(signature = (track_json, start_time=0.0, *, clips_pushed=false))]
    fn start(
        &self,
        py: Python<'_>,
        track_json: &Bound<'_, PyAny>,
        start_time: f64,
        clips_pushed: bool,
    ) -> PyResult<()> {
        let input = TrackInput::extract(track_json)?;
        detached(py, &self.slot, move |s| {
            s.clips_pushed = clips_pushed;
            s.start(&input, start_time, None)
        })
    }
    /// Streams decoded audio of overlay clip `index` (see `push_clip_samples`).
    #[pyo3(signature = (index, samples, finished=false))]
    fn push_clip_samples(
        &self,
        py: Python<'_>,
        index: i64,
        samples: &Bound<'_, PyAny>,
        finished: bool,
    ) -> PyResult<()> {
        let index = clip_index(py, index)?;
        let v = clip_samples(samples)?;
        detached(py, &self.slot, move |s| s.push(index, v, finished))
    }
    #[pyo3(signature = (index=None))]
    fn clear_clip_samples(&self, py: Python<'_>, index: Option<i64>) -> PyResult<()> {
        let index = index.map(|i| clip_index(py, i)).transpose()?;
        detached(py, &self.slot, move |s| {
            s.clear_clips(index);
            Ok(())
        })
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
            s.close();
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
    m.add_function(wrap_pyfunction!(push_clip_samples, m)?)?;
    m.add_function(wrap_pyfunction!(clear_clip_samples, m)?)?;
    m.add_class::<Player>()
}
