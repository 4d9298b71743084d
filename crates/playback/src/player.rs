//! The cpal device sink: a thin layer that runs a [`Transport`](crate::transport::Transport) in the output callback.
//!
//! Design choice: the source is rendered **directly in the audio callback**, in 128-frame
//! blocks, rather than by a render thread feeding an `rtrb` ring. Reasons:
//! * control latency is one block plus the device buffer; a ring adds its own depth on top
//!   (a command would only be heard after everything already queued in the ring);
//! * the engine is cheap: a 128-frame block of a 10-voice track with a crossfade in progress
//!   costs well under 5 % of its real-time budget (see `benches/transport.rs`), so there is no
//!   long render to hide behind a buffer;
//! * one thread fewer to schedule, and no second place where underruns can happen.
//!
//! The callback allocates nothing, takes no lock and does no I/O: it reads the command queue,
//! renders, converts to the device's format and channel count and updates atomics. It is
//! wrapped in `assert_no_alloc`, so a process that installs `assert_no_alloc::AllocDisabler`
//! as its global allocator (the device tests do) counts any allocation on the audio thread.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use audio_core::Source;
use audio_core::dsp::crossfade::CrossfadeCurve;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::transport::{
    BLOCK, Command, SendError, Shared, Status, TransportConfig, TransportHandle, transport,
};

/// Options for [`Player::open`].
#[derive(Debug, Clone)]
pub struct PlayerConfig {
    /// Output device: an id as listed by [`output_devices`] (`"alsa:default"` or `"default"`),
    /// or a (case-insensitive) part of its name. `None`: the system default.
    pub device: Option<String>,
    /// Preferred sample rate. Used when the device supports it, else the device's default rate
    /// is used (the caller builds its source at [`Player::sample_rate`]).
    pub sample_rate: Option<u32>,
    /// Device buffer size in frames (`None`: the device's default).
    pub buffer_frames: Option<u32>,
    /// Pause/seek/stop fade and volume ramp, seconds.
    pub fade_secs: f64,
    /// Default `update_track` crossfade, seconds.
    pub crossfade_secs: f64,
    /// Bound on opening the stream.
    pub open_timeout: Duration,
    /// Start the device at once (default). `false`: the callback only starts running at
    /// [`Player::start_device`], so commands queued before it apply from output frame 0
    /// (sample-exact tests on unpaced devices).
    pub autostart: bool,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        PlayerConfig {
            device: None,
            sample_rate: None,
            buffer_frames: None,
            fade_secs: 0.010,
            crossfade_secs: 0.5,
            open_timeout: Duration::from_secs(5),
            autostart: true,
        }
    }
}

/// Errors of the player.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// No output device could be opened (no sound card, no sound server).
    #[error("no audio output device available: {0}")]
    NoDevice(String),
    /// The named device does not exist.
    #[error("audio output device '{name}' not found (available: {available})")]
    DeviceNotFound { name: String, available: String },
    /// The device exists but refused the stream.
    #[error("cannot open audio output '{device}': {msg}")]
    Open { device: String, msg: String },
    /// The stream failed while playing (device unplugged, server gone).
    #[error("audio stream failed: {0}")]
    Stream(String),
    /// A command could not be queued.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// An output device as listed by [`output_devices`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// Id to pass as [`PlayerConfig::device`] (e.g. `alsa:default`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether it is the host's default output.
    pub is_default: bool,
}

/// Lists the output devices of the default host.
pub fn output_devices() -> Result<Vec<DeviceInfo>, PlayerError> {
    let host = cpal::default_host();
    let default_id = host.default_output_device().and_then(|d| d.id().ok());
    let devs = host
        .output_devices()
        .map_err(|e| PlayerError::NoDevice(e.to_string()))?;
    let mut list: Vec<DeviceInfo> = devs
        .map(|d| {
            let id = d.id().ok();
            DeviceInfo {
                id: id.as_ref().map_or_else(|| "?".into(), |i| i.to_string()),
                name: d
                    .description()
                    .map(|x| x.name().to_string())
                    .unwrap_or_default(),
                is_default: id.is_some() && id == default_id,
            }
        })
        .collect();
    // ALSA lists only PCMs with a hint; the default one is always worth showing.
    if let Some(id) = default_id
        && !list.iter().any(|d| d.is_default)
    {
        list.insert(
            0,
            DeviceInfo {
                id: id.to_string(),
                name: "Default Audio Device".into(),
                is_default: true,
            },
        );
    }
    Ok(list)
}

fn find_device(host: &cpal::Host, name: &str) -> Result<cpal::Device, PlayerError> {
    let list: Vec<cpal::Device> = host
        .output_devices()
        .map(|d| d.collect())
        .unwrap_or_default();
    let lname = name.to_lowercase();
    let id_of = |d: &cpal::Device| d.id().map(|i| (i.to_string(), i.id().to_string())).ok();
    // Exact id first (with or without the host prefix), then a part of the name.
    if let Some(d) = list
        .iter()
        .find(|d| id_of(d).is_some_and(|(full, bare)| full == name || bare == name))
    {
        return Ok(d.clone());
    }
    if let Some(d) = list.iter().find(|d| {
        d.description()
            .is_ok_and(|x| x.name().to_lowercase().contains(&lname))
    }) {
        return Ok(d.clone());
    }
    // ALSA opens PCM names that are not listed (no hint): try it as an id.
    let bare = name
        .strip_prefix(&format!("{}:", host.id()))
        .unwrap_or(name);
    if let Some(d) = host.device_by_id(&cpal::DeviceId::new(host.id(), bare))
        && d.default_output_config().is_ok()
    {
        return Ok(d);
    }
    let available = list
        .iter()
        .filter_map(|d| id_of(d).map(|x| x.0))
        .collect::<Vec<_>>()
        .join(", ");
    Err(PlayerError::DeviceNotFound {
        name: name.to_string(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available
        },
    })
}

/// A live output stream playing one source at a time, controlled without locks.
///
/// Commands return as soon as they are queued; they take effect within one 128-frame block
/// plus the device buffer. Replaced sources are freed on the calling thread, never on the
/// audio thread.
pub struct Player {
    // Field order: the stream (and with it the audio thread and the transport) is dropped
    // first, then the handle frees what the transport handed back.
    stream: cpal::Stream,
    handle: TransportHandle,
    errors: rtrb::Consumer<cpal::Error>,
    last_error: Option<String>,
    device_name: String,
    channels: u16,
    sample_format: SampleFormat,
    crossfade_secs: f64,
}

impl Player {
    /// Opens the output stream (silent until a source is loaded and played).
    pub fn open(config: &PlayerConfig) -> Result<Player, PlayerError> {
        let host = cpal::default_host();
        let device = match &config.device {
            Some(name) => find_device(&host, name)?,
            None => host.default_output_device().ok_or_else(|| {
                PlayerError::NoDevice(format!("the {} host has no default output", host.id()))
            })?,
        };
        let device_name = device
            .id()
            .map(|i| i.to_string())
            .unwrap_or_else(|_| "?".into());
        let default = device.default_output_config().map_err(|e| {
            let msg = format!(
                "the default output '{device_name}' cannot be opened ({e}); no sound card or sound \
                 server is reachable (headless: see the README's ALSA capture recipe)"
            );
            if config.device.is_none() {
                PlayerError::NoDevice(msg)
            } else {
                PlayerError::Open {
                    device: device_name.clone(),
                    msg: e.to_string(),
                }
            }
        })?;
        let format = default.sample_format();
        let channels = default.channels();
        // Keep the caller's rate when the device has it (the voices are parametric, so any
        // rate works; the caller builds its source at `sample_rate()`).
        let rate = config
            .sample_rate
            .filter(|&r| {
                device.supported_output_configs().is_ok_and(|mut it| {
                    it.any(|c| {
                        c.sample_format() == format
                            && c.channels() == channels
                            && c.contains_rate(r)
                    })
                })
            })
            .unwrap_or(default.sample_rate());
        let stream_config = cpal::StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size: config
                .buffer_frames
                .map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
        };
        let (transport, handle) = transport(TransportConfig {
            sample_rate: rate,
            fade_secs: config.fade_secs,
        });
        // cpal's ALSA worker can run the callback before `play()` (seen with the null device
        // under load), so "not started" is enforced here: silence, transport clock stopped.
        handle.shared().hold.store(!config.autostart, Relaxed);
        let (err_tx, errors) = rtrb::RingBuffer::new(32);
        let shared = handle.shared().clone();
        let timeout = Some(config.open_timeout);
        let built = match format {
            SampleFormat::F32 => {
                build::<f32>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            SampleFormat::F64 => {
                build::<f64>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            SampleFormat::I16 => {
                build::<i16>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            SampleFormat::I32 => {
                build::<i32>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            SampleFormat::U16 => {
                build::<u16>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            SampleFormat::U8 => {
                build::<u8>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            SampleFormat::I8 => {
                build::<i8>(&device, stream_config, transport, shared, err_tx, timeout)
            }
            other => {
                return Err(PlayerError::Open {
                    device: device_name,
                    msg: format!("unsupported sample format {other}"),
                });
            }
        };
        let stream = built.map_err(|e| PlayerError::Open {
            device: device_name.clone(),
            msg: e.to_string(),
        })?;
        stream.play().map_err(|e| PlayerError::Open {
            device: device_name.clone(),
            msg: e.to_string(),
        })?;
        Ok(Player {
            stream,
            handle,
            errors,
            last_error: None,
            device_name,
            channels,
            sample_format: format,
            crossfade_secs: config.crossfade_secs,
        })
    }

    /// Starts the device stream (only needed with [`PlayerConfig::autostart`] `false`).
    pub fn start_device(&mut self) -> Result<(), PlayerError> {
        self.handle.shared().hold.store(false, Relaxed);
        self.stream.play().map_err(|e| PlayerError::Open {
            device: self.device_name.clone(),
            msg: e.to_string(),
        })
    }

    /// Output sample rate: sources must be built at this rate.
    pub fn sample_rate(&self) -> u32 {
        self.handle.sample_rate()
    }

    /// Device id (e.g. `alsa:default`).
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Device channel count (the stereo source is down-mixed to 1 or padded with silence).
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Device sample format.
    pub fn sample_format(&self) -> SampleFormat {
        self.sample_format
    }

    /// Loads `source` (parked, at its own position: seek it before if needed).
    pub fn load(&mut self, source: Box<dyn Source>) -> Result<(), PlayerError> {
        self.send(Command::SetSource(source))
    }

    /// Loads `source`, seeks it to `start_secs` and plays it.
    pub fn start(
        &mut self,
        mut source: Box<dyn Source>,
        start_secs: f64,
    ) -> Result<(), PlayerError> {
        source.seek_seconds(start_secs);
        self.load(source)?;
        self.send(Command::Play)
    }

    /// Plays (or resumes) with a short fade-in.
    pub fn play(&mut self) -> Result<(), PlayerError> {
        self.send(Command::Play)
    }

    /// Pauses after a short fade-out.
    pub fn pause(&mut self) -> Result<(), PlayerError> {
        self.send(Command::Pause)
    }

    /// Resumes where it paused.
    pub fn resume(&mut self) -> Result<(), PlayerError> {
        self.send(Command::Resume)
    }

    /// Fades out and goes back to the start.
    pub fn stop(&mut self) -> Result<(), PlayerError> {
        self.send(Command::Stop)
    }

    /// Seeks to `seconds` (faded when playing).
    pub fn seek(&mut self, seconds: f64) -> Result<(), PlayerError> {
        let f = (seconds.max(0.0) * self.sample_rate() as f64).round() as u64;
        self.send(Command::Seek(f))
    }

    /// Jumps `n` steps forward (negative: back), clamped to the track.
    pub fn skip_step(&mut self, n: i32) -> Result<(), PlayerError> {
        self.send(Command::SkipStep(n))
    }

    /// Master volume (linear gain, 0..=4), ramped.
    pub fn set_volume(&mut self, gain: f32) -> Result<(), PlayerError> {
        self.send(Command::SetVolume(gain))
    }

    /// Replaces the source while playing; it takes over at the current position with the
    /// configured crossfade.
    pub fn update_track(&mut self, source: Box<dyn Source>) -> Result<(), PlayerError> {
        let secs = self.crossfade_secs;
        self.update_track_with(source, secs, CrossfadeCurve::Linear)
    }

    /// [`Player::update_track`] with an explicit crossfade.
    pub fn update_track_with(
        &mut self,
        source: Box<dyn Source>,
        crossfade_secs: f64,
        curve: CrossfadeCurve,
    ) -> Result<(), PlayerError> {
        let crossfade_frames = (crossfade_secs.max(0.0) * self.sample_rate() as f64).round() as u32;
        self.send(Command::Replace {
            source,
            crossfade_frames,
            curve,
        })
    }

    /// Queues any command.
    pub fn send(&mut self, cmd: Command) -> Result<(), PlayerError> {
        self.check()?;
        Ok(self.handle.send(cmd)?)
    }

    /// Queues a command for an exact output frame (see [`TransportHandle::schedule`]).
    pub fn schedule(&mut self, at_output_frame: u64, cmd: Command) -> Result<(), PlayerError> {
        self.check()?;
        Ok(self.handle.schedule(at_output_frame, cmd)?)
    }

    /// Frames the device received before [`Player::start_device`] (silence): where the
    /// transport's frame 0 lies in a capture of the device output.
    pub fn held_frames(&self) -> u64 {
        self.handle.shared().held_frames.load(Relaxed)
    }

    /// Commands queued and not yet taken by the audio thread.
    pub fn pending_commands(&self) -> usize {
        self.handle.pending_commands()
    }

    /// Status snapshot (also frees replaced sources and collects stream errors).
    pub fn status(&mut self) -> Status {
        self.collect_errors();
        self.handle.status()
    }

    /// The last stream error reported by the device, if any.
    pub fn last_error(&mut self) -> Option<&str> {
        self.collect_errors();
        self.last_error.as_deref()
    }

    /// `Err` once the stream has failed (device lost); the player must then be reopened.
    pub fn check(&mut self) -> Result<(), PlayerError> {
        self.collect_errors();
        if self.handle.shared().stream_failed.load(Relaxed) {
            return Err(PlayerError::Stream(
                self.last_error
                    .clone()
                    .unwrap_or_else(|| "stream stopped".into()),
            ));
        }
        Ok(())
    }

    /// Waits until the device has taken `frames` output frames (silence included), the stream
    /// failed, or `timeout` passed. Returns whether the frames were reached.
    pub fn wait_output_frames(&mut self, frames: u64, timeout: Duration) -> bool {
        let t0 = Instant::now();
        loop {
            let sh = self.handle.shared();
            if sh.output_frames.load(Relaxed) >= frames {
                return true;
            }
            if sh.stream_failed.load(Relaxed) || t0.elapsed() > timeout {
                return false;
            }
            self.handle.drain_garbage();
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn collect_errors(&mut self) {
        while let Ok(e) = self.errors.pop() {
            self.last_error = Some(e.to_string());
        }
    }
}

/// Fatal stream errors: the stream will not produce audio again.
fn is_fatal(kind: cpal::ErrorKind) -> bool {
    use cpal::ErrorKind as K;
    matches!(
        kind,
        K::DeviceNotAvailable | K::StreamInvalidated | K::HostUnavailable | K::PermissionDenied
    )
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut transport: crate::Transport,
    shared: Arc<Shared>,
    mut err_tx: rtrb::Producer<cpal::Error>,
    timeout: Option<Duration>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let ch = config.channels.max(1) as usize;
    let mut scratch = vec![0.0f32; 2 * BLOCK];
    let sh = shared.clone();
    let data_cb = move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
        if sh.hold.load(Relaxed) {
            data.fill(T::EQUILIBRIUM);
            sh.held_frames.fetch_add((data.len() / ch) as u64, Relaxed);
            return;
        }
        assert_no_alloc::assert_no_alloc(|| {
            let t0 = Instant::now();
            for chunk in data.chunks_mut(BLOCK * ch) {
                let n = chunk.len() / ch;
                let buf = &mut scratch[..2 * n];
                transport.process(buf);
                for (o, s) in chunk.chunks_exact_mut(ch).zip(buf.chunks_exact(2)) {
                    if ch == 1 {
                        o[0] = T::from_sample(0.5 * (s[0] + s[1]));
                    } else {
                        o[0] = T::from_sample(s[0]);
                        o[1] = T::from_sample(s[1]);
                        for x in &mut o[2..] {
                            *x = T::EQUILIBRIUM;
                        }
                    }
                }
                for x in &mut chunk[n * ch..] {
                    *x = T::EQUILIBRIUM;
                }
            }
            let ts = info.timestamp();
            let delay = ts
                .playback
                .saturating_duration_since(ts.callback)
                .as_nanos() as u64;
            let dt = t0.elapsed().as_nanos() as u64;
            sh.device_delay_ns.store(delay, Relaxed);
            sh.callbacks.fetch_add(1, Relaxed);
            sh.busy_ns.fetch_add(dt, Relaxed);
            sh.max_callback_ns.fetch_max(dt, Relaxed);
        });
        #[cfg(debug_assertions)]
        sh.alloc_violations
            .store(assert_no_alloc::violation_count() as u64, Relaxed);
    };
    let err_cb = move |e: cpal::Error| {
        if e.kind() == cpal::ErrorKind::Xrun {
            shared.underruns.fetch_add(1, Relaxed);
            return;
        }
        if is_fatal(e.kind()) {
            shared.stream_failed.store(true, Relaxed);
        }
        let _ = err_tx.push(e);
    };
    device.build_output_stream::<T, _, _>(config, data_cb, err_cb, timeout)
}
