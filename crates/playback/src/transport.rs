//! The device-independent transport: commands in, blocks out.
//!
//! [`Transport`] owns the playing [`Source`] and lives on the audio thread. It takes
//! [`Command`]s from a wait-free SPSC queue (`rtrb`), renders interleaved stereo blocks and
//! applies the pause/seek fades, the master volume ramp and the `update_track` crossfade. Its
//! status goes out through atomics ([`Shared`]) and replaced sources go back to the control
//! thread through a second queue so that they are never freed on the audio thread.
//!
//! [`TransportHandle`] is the control side. Both are made by [`transport`]. Nothing here knows
//! about devices: tests feed [`Transport::process`] buffers and look at the samples at exact
//! frame positions, and `Player` is a thin cpal layer over the same pair.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use audio_core::Source;
use audio_core::dsp::crossfade::CrossfadeCurve;

/// Frames rendered per internal block: commands take effect at block boundaries (or at the
/// exact frame for scheduled ones), so this bounds the control latency inside a callback.
pub const BLOCK: usize = 128;

/// Capacity of the command queue. The garbage queue is larger (see [`transport`]).
pub const COMMAND_CAPACITY: usize = 64;

/// A transport command.
pub enum Command {
    /// Start or resume with a fade-in. From `Finished`, starts again at 0.
    Play,
    /// Fade out, then hold the position (the source is not advanced while paused).
    Pause,
    /// Same as [`Command::Play`] (kept for the API's vocabulary).
    Resume,
    /// Fade out, then go back to the start and wait.
    Stop,
    /// Jump to a frame (fade out, jump, fade in when playing; immediate when parked).
    Seek(u64),
    /// Jump to the start of the step `n` steps from the current one (clamped).
    SkipStep(i32),
    /// Master volume (linear gain, ramped over the fade time).
    SetVolume(f32),
    /// Install a new source, parked (no crossfade), at the source's own position.
    /// The caller seeks it beforehand, off the audio thread.
    SetSource(Box<dyn Source>),
    /// `update_track`: the new source takes over at the current position with a crossfade of
    /// `crossfade_frames` (immediately, without a fade, when parked).
    Replace {
        source: Box<dyn Source>,
        crossfade_frames: u32,
        curve: CrossfadeCurve,
    },
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Play => write!(f, "Play"),
            Command::Pause => write!(f, "Pause"),
            Command::Resume => write!(f, "Resume"),
            Command::Stop => write!(f, "Stop"),
            Command::Seek(x) => write!(f, "Seek({x})"),
            Command::SkipStep(n) => write!(f, "SkipStep({n})"),
            Command::SetVolume(v) => write!(f, "SetVolume({v})"),
            Command::SetSource(_) => write!(f, "SetSource(..)"),
            Command::Replace {
                crossfade_frames, ..
            } => write!(f, "Replace(xf={crossfade_frames})"),
        }
    }
}

/// A command with its timing: `at` is an output frame (count of frames [`Transport::process`]
/// has produced) at which it must take effect exactly, `None` for "as soon as possible".
struct Msg {
    at: Option<u64>,
    sent: Instant,
    cmd: Command,
}

/// What the transport is doing, as seen by the caller (the state a command asked for, from the
/// block where it was applied; a pause reports `Paused` while its fade-out is still sounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No source loaded.
    Idle = 0,
    /// Stopped at a position (after `Stop`, or a fresh source), silent.
    Stopped = 1,
    /// Playing.
    Playing = 2,
    /// Paused at a position, silent.
    Paused = 3,
    /// The source reached its end.
    Finished = 4,
    /// The output stream failed (device lost); see the player's error.
    Error = 5,
}

impl State {
    fn from_u8(v: u8) -> State {
        match v {
            1 => State::Stopped,
            2 => State::Playing,
            3 => State::Paused,
            4 => State::Finished,
            5 => State::Error,
            _ => State::Idle,
        }
    }

    /// Lower-case name (`"playing"`, ...), for status dicts and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Stopped => "stopped",
            State::Playing => "playing",
            State::Paused => "paused",
            State::Finished => "finished",
            State::Error => "error",
        }
    }
}

const NONE_U32: u32 = u32::MAX;
const NONE_U64: u64 = u64::MAX;

/// Status shared between the audio thread (writer) and the control side (reader): atomics only.
#[derive(Debug)]
pub struct Shared {
    pub(crate) state: AtomicU8,
    pub(crate) position: AtomicU64,
    pub(crate) total: AtomicU64,
    pub(crate) step: AtomicU32,
    pub(crate) step_count: AtomicU32,
    pub(crate) sample_rate: AtomicU32,
    pub(crate) volume: AtomicU32,
    pub(crate) output_frames: AtomicU64,
    pub(crate) commands_applied: AtomicU64,
    pub(crate) command_wait_ns: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) leaked: AtomicU64,
    // Written by the device layer.
    pub(crate) underruns: AtomicU64,
    pub(crate) callbacks: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) max_callback_ns: AtomicU64,
    pub(crate) device_delay_ns: AtomicU64,
    pub(crate) stream_failed: AtomicBool,
    /// Allocations seen inside the audio callback (counted only when the process installs
    /// `assert_no_alloc::AllocDisabler`, in debug builds).
    pub(crate) alloc_violations: AtomicU64,
    /// Device layer: while set, the callback writes silence without running the transport.
    pub(crate) hold: AtomicBool,
    /// Frames written while held (they precede the transport's frame 0 on the device).
    pub(crate) held_frames: AtomicU64,
}

impl Shared {
    fn new(sample_rate: u32) -> Self {
        Shared {
            state: AtomicU8::new(State::Idle as u8),
            position: AtomicU64::new(0),
            total: AtomicU64::new(NONE_U64),
            step: AtomicU32::new(NONE_U32),
            step_count: AtomicU32::new(0),
            sample_rate: AtomicU32::new(sample_rate),
            volume: AtomicU32::new(1f32.to_bits()),
            output_frames: AtomicU64::new(0),
            commands_applied: AtomicU64::new(0),
            command_wait_ns: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            leaked: AtomicU64::new(0),
            underruns: AtomicU64::new(0),
            callbacks: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            max_callback_ns: AtomicU64::new(0),
            device_delay_ns: AtomicU64::new(0),
            stream_failed: AtomicBool::new(false),
            alloc_violations: AtomicU64::new(0),
            hold: AtomicBool::new(false),
            held_frames: AtomicU64::new(0),
        }
    }

    /// A consistent-enough snapshot (each field is read once; fields may be from adjacent blocks).
    pub fn snapshot(&self) -> Status {
        let sr = self.sample_rate.load(Relaxed).max(1);
        let pos = self.position.load(Relaxed);
        let total = self.total.load(Relaxed);
        let step = self.step.load(Relaxed);
        let callbacks = self.callbacks.load(Relaxed);
        let out = self.output_frames.load(Relaxed);
        let state = if self.stream_failed.load(Relaxed) {
            State::Error
        } else {
            State::from_u8(self.state.load(Relaxed))
        };
        Status {
            state,
            sample_rate: sr,
            position_frames: pos,
            position_secs: pos as f64 / sr as f64,
            duration_secs: (total != NONE_U64).then(|| total as f64 / sr as f64),
            step: (step != NONE_U32).then_some(step as usize),
            step_count: self.step_count.load(Relaxed) as usize,
            volume: f32::from_bits(self.volume.load(Relaxed)),
            output_frames: out,
            underruns: self.underruns.load(Relaxed),
            callbacks,
            dsp_load: if out > 0 {
                self.busy_ns.load(Relaxed) as f64 * 1e-9 / (out as f64 / sr as f64)
            } else {
                0.0
            },
            max_callback_secs: self.max_callback_ns.load(Relaxed) as f64 * 1e-9,
            device_delay_secs: self.device_delay_ns.load(Relaxed) as f64 * 1e-9,
            command_latency_secs: (self.command_wait_ns.load(Relaxed)
                + self.device_delay_ns.load(Relaxed)) as f64
                * 1e-9,
            commands_applied: self.commands_applied.load(Relaxed),
            rejected_commands: self.rejected.load(Relaxed),
            alloc_violations: self.alloc_violations.load(Relaxed),
        }
    }
}

/// A snapshot of the transport and stream status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Requested/actual state.
    pub state: State,
    /// Output sample rate (Hz).
    pub sample_rate: u32,
    /// Position of the (incoming, during a crossfade) source, frames.
    pub position_frames: u64,
    /// Same in seconds.
    pub position_secs: f64,
    /// Length of the source, if known.
    pub duration_secs: Option<f64>,
    /// Step playing at the position, for sources with steps.
    pub step: Option<usize>,
    /// Number of steps (0 for sources without steps).
    pub step_count: usize,
    /// Master volume target.
    pub volume: f32,
    /// Frames produced for the device so far (silence included).
    pub output_frames: u64,
    /// Device underruns (xruns) reported by the stream.
    pub underruns: u64,
    /// Audio callbacks so far.
    pub callbacks: u64,
    /// Time spent in the callback / audio time produced (0.01 = 1 % of one core).
    pub dsp_load: f64,
    /// Longest single callback.
    pub max_callback_secs: f64,
    /// Device buffer delay from the callback to the speaker, as last reported by the stream.
    pub device_delay_secs: f64,
    /// Last command: time from the call to its first output sample, plus the device delay.
    pub command_latency_secs: f64,
    /// Commands applied so far.
    pub commands_applied: u64,
    /// Commands rejected on the audio thread (wrong sample rate, nothing loaded).
    pub rejected_commands: u64,
    /// Allocations seen on the audio thread (debug builds with `AllocDisabler` installed).
    pub alloc_violations: u64,
}

/// Control side of a [`Transport`]: pushes commands, reads status, frees replaced sources.
pub struct TransportHandle {
    commands: rtrb::Producer<Msg>,
    garbage: rtrb::Consumer<Box<dyn Source>>,
    shared: Arc<Shared>,
    sample_rate: u32,
}

/// Why a command could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The audio thread has not taken the earlier commands (stream stalled or stopped).
    #[error(
        "the command queue is full ({COMMAND_CAPACITY} commands pending): the audio stream is not running"
    )]
    QueueFull(Command),
    /// The source's sample rate differs from the output's.
    #[error(
        "the source renders at {source_rate} Hz but the output runs at {output_rate} Hz; build it at {output_rate} Hz"
    )]
    SampleRate { source_rate: u32, output_rate: u32 },
}

impl TransportHandle {
    /// Queues `cmd` to take effect at the next block.
    pub fn send(&mut self, cmd: Command) -> Result<(), SendError> {
        self.push(None, cmd)
    }

    /// Queues `cmd` to take effect exactly at output frame `at` (frames produced by the
    /// transport so far, silence included). Queued commands are applied in order, so a later
    /// immediate command waits behind a scheduled one: meant for tests and sample-exact cues.
    pub fn schedule(&mut self, at: u64, cmd: Command) -> Result<(), SendError> {
        self.push(Some(at), cmd)
    }

    fn push(&mut self, at: Option<u64>, cmd: Command) -> Result<(), SendError> {
        // Free replaced sources first: keeps the garbage queue from ever filling up (it holds at
        // most one entry per command queued since the last drain).
        self.drain_garbage();
        if let Command::SetSource(s) | Command::Replace { source: s, .. } = &cmd
            && s.sample_rate() != self.sample_rate
        {
            return Err(SendError::SampleRate {
                source_rate: s.sample_rate(),
                output_rate: self.sample_rate,
            });
        }
        self.commands
            .push(Msg {
                at,
                sent: Instant::now(),
                cmd,
            })
            .map_err(|rtrb::PushError::Full(m)| SendError::QueueFull(m.cmd))
    }

    /// Drops the sources the audio thread has finished with (called by every other method).
    pub fn drain_garbage(&mut self) -> usize {
        let mut n = 0;
        while let Ok(s) = self.garbage.pop() {
            drop(s);
            n += 1;
        }
        n
    }

    /// Current status.
    pub fn status(&mut self) -> Status {
        self.drain_garbage();
        self.shared.snapshot()
    }

    /// The shared status atomics (the device layer writes its counters there).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Output sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Commands queued and not yet taken by the audio thread.
    pub fn pending_commands(&self) -> usize {
        COMMAND_CAPACITY - self.commands.slots()
    }
}

/// Options of a [`Transport`].
#[derive(Debug, Clone, Copy)]
pub struct TransportConfig {
    /// Output sample rate; every source must render at this rate.
    pub sample_rate: u32,
    /// Pause/stop/seek fade length and volume ramp, seconds.
    pub fade_secs: f64,
}

impl TransportConfig {
    /// 10 ms fades.
    pub fn new(sample_rate: u32) -> Self {
        TransportConfig {
            sample_rate,
            fade_secs: 0.010,
        }
    }
}

/// Makes a connected transport (for the audio thread) and its handle (for the control thread).
pub fn transport(config: TransportConfig) -> (Transport, TransportHandle) {
    let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(COMMAND_CAPACITY);
    // One slot per command that can be queued or in flight between two drains, plus spares.
    let (gb_tx, gb_rx) = rtrb::RingBuffer::new(2 * COMMAND_CAPACITY + 4);
    let shared = Arc::new(Shared::new(config.sample_rate));
    let fade_len = ((config.fade_secs * config.sample_rate as f64).round() as u32).max(1);
    let t = Transport {
        commands: cmd_rx,
        garbage: gb_tx,
        shared: shared.clone(),
        sample_rate: config.sample_rate,
        current: None,
        incoming: None,
        pending: None,
        xf_pos: 0,
        xf_len: 0,
        xf_curve: CrossfadeCurve::Linear,
        scratch: vec![0.0; 2 * BLOCK],
        fade_len,
        fade_pos: 0,
        fade_up: false,
        after_fade: After::Nothing,
        pending_seek: None,
        vol: 1.0,
        vol_target: 1.0,
        vol_step: 0.0,
        state: State::Idle,
        out_frames: 0,
        last_command: None,
    };
    let h = TransportHandle {
        commands: cmd_tx,
        garbage: gb_rx,
        shared,
        sample_rate: config.sample_rate,
    };
    (t, h)
}

/// What to do when a fade-out reaches silence.
#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    /// Fade back in (a seek while playing).
    Nothing,
    Pause,
    Stop,
}

/// The audio-thread side: renders the source with fades, volume and crossfade.
///
/// Allocates only in [`transport`]; [`Transport::process`] allocates nothing, takes no lock and
/// does no I/O (checked with `assert_no_alloc` in the tests).
pub struct Transport {
    commands: rtrb::Consumer<Msg>,
    garbage: rtrb::Producer<Box<dyn Source>>,
    shared: Arc<Shared>,
    sample_rate: u32,
    current: Option<Box<dyn Source>>,
    /// Source fading in during an `update_track` crossfade.
    incoming: Option<Box<dyn Source>>,
    /// A replacement that arrived during a crossfade: starts when the current one ends.
    pending: Option<(Box<dyn Source>, u32, CrossfadeCurve)>,
    xf_pos: u32,
    xf_len: u32,
    xf_curve: CrossfadeCurve,
    scratch: Vec<f32>,
    fade_len: u32,
    /// Fade gain position in frames, 0 = silent, `fade_len` = full.
    fade_pos: u32,
    fade_up: bool,
    after_fade: After,
    pending_seek: Option<u64>,
    vol: f32,
    vol_target: f32,
    vol_step: f32,
    state: State,
    out_frames: u64,
    last_command: Option<Instant>,
}

impl Transport {
    /// Output sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Frames produced so far (silence included): the clock of scheduled commands.
    pub fn output_frames(&self) -> u64 {
        self.out_frames
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Status atomics, for the device layer's counters.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Renders `out.len() / 2` interleaved stereo frames, applying the commands that are due.
    pub fn process(&mut self, out: &mut [f32]) {
        let frames = out.len() / 2;
        let mut done = 0;
        while done < frames {
            self.apply_due_commands();
            let mut n = BLOCK.min(frames - done);
            // Split the block at the next scheduled command and at the end of a fade, so both
            // happen at their exact frame.
            if let Ok(Msg { at: Some(at), .. }) = self.commands.peek() {
                n = n.min((at - self.out_frames) as usize);
            }
            if self.fading() {
                let left = if self.fade_up {
                    self.fade_len - self.fade_pos
                } else {
                    self.fade_pos
                };
                n = n.min(left as usize);
            }
            let block = &mut out[2 * done..2 * (done + n)];
            self.render(block);
            self.out_frames += n as u64;
            if let Some(sent) = self.last_command.take() {
                // Time from the call to the end of the block that carries its first sample.
                let wait = Instant::now().saturating_duration_since(sent).as_nanos() as u64;
                self.shared.command_wait_ns.store(wait, Relaxed);
            }
            done += n;
        }
        self.publish();
    }

    fn fading(&self) -> bool {
        if self.fade_up {
            self.fade_pos < self.fade_len
        } else {
            self.fade_pos > 0
        }
    }

    /// The source that defines the position: the incoming one during a crossfade.
    fn main(&self) -> Option<&dyn Source> {
        self.incoming.as_deref().or(self.current.as_deref())
    }

    fn apply_due_commands(&mut self) {
        loop {
            match self.commands.peek() {
                Ok(Msg { at: Some(at), .. }) if *at > self.out_frames => return,
                Ok(_) => {}
                Err(_) => return,
            }
            let Ok(msg) = self.commands.pop() else { return };
            self.last_command = Some(msg.sent);
            self.shared.commands_applied.fetch_add(1, Relaxed);
            self.apply(msg.cmd);
        }
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Play | Command::Resume => {
                if self.current.is_none() {
                    self.reject();
                    return;
                }
                if self.state == State::Finished {
                    self.seek_now(0);
                }
                self.state = State::Playing;
                self.after_fade = After::Nothing;
                // A seek fading out keeps fading; it comes back up after the jump.
                if self.pending_seek.is_none() {
                    self.fade_up = true;
                }
            }
            Command::Pause => {
                if self.state == State::Playing {
                    self.state = State::Paused;
                    self.after_fade = After::Pause;
                    self.fade_up = false;
                }
            }
            Command::Stop => match self.state {
                State::Playing => {
                    self.state = State::Stopped;
                    self.after_fade = After::Stop;
                    self.fade_up = false;
                }
                State::Paused | State::Finished => {
                    self.state = State::Stopped;
                    if self.fading() {
                        self.after_fade = After::Stop;
                    } else {
                        self.finish_crossfade();
                        self.seek_now(0);
                    }
                }
                _ => {}
            },
            Command::Seek(frame) => self.seek(frame),
            Command::SkipStep(n) => {
                let Some(src) = self.main() else {
                    self.reject();
                    return;
                };
                let count = src.step_count();
                if count == 0 {
                    self.reject();
                    return;
                }
                // During a seek's fade-out, count from the seek target (repeated `next` presses).
                let cur = match self.pending_seek {
                    Some(f) => step_at(src, count, f),
                    None => src.current_step().unwrap_or(0),
                };
                let target = (cur as i64 + n as i64).clamp(0, count as i64 - 1) as usize;
                match src.step_start_frame(target) {
                    Some(f) => self.seek(f),
                    None => self.reject(),
                }
            }
            Command::SetVolume(v) => {
                let v = if v.is_finite() {
                    v.clamp(0.0, 4.0)
                } else {
                    self.vol_target
                };
                self.vol_target = v;
                self.vol_step = (v - self.vol) / self.fade_len as f32;
                self.shared.volume.store(v.to_bits(), Relaxed);
            }
            Command::SetSource(mut s) => {
                if s.sample_rate() != self.sample_rate {
                    self.reject();
                    self.discard(s);
                    return;
                }
                if let Some(old) = self.incoming.take() {
                    self.discard(old);
                }
                if let Some((old, _, _)) = self.pending.take() {
                    self.discard(old);
                }
                if let Some(t) = s.total_frames()
                    && s.position() > t
                {
                    s.seek(t);
                }
                if let Some(old) = self.current.replace(s) {
                    self.discard(old);
                }
                self.state = State::Stopped;
                self.fade_pos = 0;
                self.fade_up = false;
                self.after_fade = After::Nothing;
                self.pending_seek = None;
            }
            Command::Replace {
                source,
                crossfade_frames,
                curve,
            } => {
                if source.sample_rate() != self.sample_rate {
                    self.reject();
                    self.discard(source);
                    return;
                }
                let audible = self.state == State::Playing || self.fading();
                if self.current.is_none() || !audible || crossfade_frames == 0 {
                    // Parked (or no fade asked): swap now, at the old position.
                    self.finish_crossfade();
                    if let Some((p, _, _)) = self.pending.take() {
                        self.discard(p);
                    }
                    let pos = self.current.as_ref().map(|c| c.position());
                    let mut s = source;
                    if let Some(pos) = pos {
                        s.seek(pos);
                    }
                    if let Some(old) = self.current.replace(s) {
                        self.discard(old);
                    }
                    if self.state == State::Idle {
                        self.state = State::Stopped;
                    }
                } else if self.incoming.is_some() {
                    if let Some((p, _, _)) = self.pending.replace((source, crossfade_frames, curve))
                    {
                        self.discard(p);
                    }
                } else {
                    self.start_crossfade(source, crossfade_frames, curve);
                }
            }
        }
    }

    fn start_crossfade(&mut self, mut s: Box<dyn Source>, len: u32, curve: CrossfadeCurve) {
        if let Some(pos) = self.current.as_ref().map(|c| c.position()) {
            s.seek(pos);
        }
        self.incoming = Some(s);
        self.xf_pos = 0;
        self.xf_len = len.max(1);
        self.xf_curve = curve;
    }

    /// Ends a crossfade at once: the incoming source becomes the current one.
    fn finish_crossfade(&mut self) {
        if let Some(inc) = self.incoming.take()
            && let Some(old) = self.current.replace(inc)
        {
            self.discard(old);
        }
        if let Some((p, len, curve)) = self.pending.take() {
            if self.state == State::Playing || self.fading() {
                self.start_crossfade(p, len, curve);
            } else if let Some(pos) = self.current.as_ref().map(|c| c.position()) {
                let mut p = p;
                p.seek(pos);
                if let Some(old) = self.current.replace(p) {
                    self.discard(old);
                }
            }
        }
    }

    fn seek(&mut self, frame: u64) {
        if self.current.is_none() {
            self.reject();
            return;
        }
        if self.state == State::Playing || self.fading() {
            // Fade out, jump when silent, fade back in (unless a pause/stop is also pending).
            self.pending_seek = Some(frame);
            if self.state == State::Playing {
                self.fade_up = false;
                self.after_fade = After::Nothing;
            }
        } else {
            if self.state == State::Finished {
                self.state = State::Paused;
            }
            self.seek_now(frame);
        }
    }

    fn seek_now(&mut self, frame: u64) {
        self.finish_crossfade();
        if let Some(s) = self.current.as_mut() {
            let f = s.total_frames().map_or(frame, |t| frame.min(t));
            s.seek(f);
        }
        self.pending_seek = None;
    }

    fn reject(&mut self) {
        self.shared.rejected.fetch_add(1, Relaxed);
    }

    /// Hands a source to the control thread to be freed there.
    fn discard(&mut self, s: Box<dyn Source>) {
        if let Err(rtrb::PushError::Full(s)) = self.garbage.push(s) {
            // Cannot happen with the queue sizes of `transport` (see TransportHandle::push);
            // leaking beats freeing on the audio thread.
            std::mem::forget(s);
            self.shared.leaked.fetch_add(1, Relaxed);
        }
    }

    fn render(&mut self, out: &mut [f32]) {
        let n = out.len() / 2;
        let audible = self.current.is_some() && (self.fade_pos > 0 || self.fade_up);
        if !audible {
            out.fill(0.0);
            self.ramp_volume(n);
            return;
        }
        let cur = self.current.as_mut().expect("checked above");
        let got_cur = cur.render_block(out);
        let mut got_main = got_cur;
        if let Some(inc) = self.incoming.as_mut() {
            let buf = &mut self.scratch[..2 * n];
            got_main = inc.render_block(buf);
            let len = self.xf_len as f64;
            for (i, (o, x)) in out.chunks_exact_mut(2).zip(buf.chunks_exact(2)).enumerate() {
                let r = ((self.xf_pos as usize + i + 1) as f64 / len).min(1.0);
                let (g_out, g_in) = self.xf_curve.gains(r);
                o[0] = o[0] * g_out + x[0] * g_in;
                o[1] = o[1] * g_out + x[1] * g_in;
            }
            self.xf_pos = self.xf_pos.saturating_add(n as u32);
            if self.xf_pos >= self.xf_len {
                self.finish_crossfade();
            }
        }
        // Fade and volume, per frame. The fade is a raised-sine (smooth at both ends).
        let fade_len = self.fade_len as f32;
        for o in out.chunks_exact_mut(2) {
            if self.fade_up {
                self.fade_pos = (self.fade_pos + 1).min(self.fade_len);
            } else {
                self.fade_pos = self.fade_pos.saturating_sub(1);
            }
            let r = self.fade_pos as f32 / fade_len;
            let s = (r * std::f32::consts::FRAC_PI_2).sin();
            if self.vol != self.vol_target {
                self.vol += self.vol_step;
                if (self.vol_step >= 0.0 && self.vol >= self.vol_target)
                    || (self.vol_step < 0.0 && self.vol <= self.vol_target)
                {
                    self.vol = self.vol_target;
                }
            }
            let g = s * s * self.vol;
            o[0] *= g;
            o[1] *= g;
        }
        if got_main < n {
            // The source ended inside this block (the rest is its zero padding).
            self.finish_crossfade();
            self.state = State::Finished;
            self.fade_pos = 0;
            self.fade_up = false;
            self.after_fade = After::Nothing;
            return;
        }
        if !self.fade_up && self.fade_pos == 0 {
            self.on_silent();
        }
    }

    fn ramp_volume(&mut self, n: usize) {
        if self.vol != self.vol_target {
            self.vol += self.vol_step * n as f32;
            if (self.vol_step >= 0.0 && self.vol >= self.vol_target)
                || (self.vol_step < 0.0 && self.vol <= self.vol_target)
            {
                self.vol = self.vol_target;
            }
        }
    }

    /// A fade-out reached silence: do what it was for.
    fn on_silent(&mut self) {
        if let Some(f) = self.pending_seek.take() {
            self.seek_now(f);
        }
        match self.after_fade {
            After::Nothing => {
                if self.state == State::Playing {
                    self.fade_up = true;
                }
            }
            After::Pause => {}
            After::Stop => {
                self.finish_crossfade();
                self.seek_now(0);
            }
        }
        self.after_fade = After::Nothing;
    }

    fn publish(&mut self) {
        let sh = &self.shared;
        sh.output_frames.store(self.out_frames, Relaxed);
        sh.state.store(self.state as u8, Relaxed);
        let pending = self.pending_seek;
        match self.main() {
            Some(s) => {
                sh.position.store(pending.unwrap_or(s.position()), Relaxed);
                sh.total
                    .store(s.total_frames().unwrap_or(NONE_U64), Relaxed);
                sh.step
                    .store(s.current_step().map_or(NONE_U32, |x| x as u32), Relaxed);
                sh.step_count.store(s.step_count() as u32, Relaxed);
            }
            None => {
                sh.position.store(0, Relaxed);
                sh.total.store(NONE_U64, Relaxed);
                sh.step.store(NONE_U32, Relaxed);
                sh.step_count.store(0, Relaxed);
            }
        }
    }
}

/// Index of the step that contains `frame` (the last one starting at or before it).
fn step_at(src: &dyn Source, count: usize, frame: u64) -> usize {
    (0..count)
        .rev()
        .find(|&i| src.step_start_frame(i).is_some_and(|s| s <= frame))
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use audio_core::measure;
    use std::f64::consts::TAU;
    use std::sync::atomic::AtomicUsize;

    pub const SR: u32 = 44_100;

    /// Test source: step `i` is a sine of `freqs[i]` Hz (amplitude 0.5), each step `step_len`
    /// frames; the sample at frame `n` is a pure function of `n` (sample-exact seek).
    pub struct Sine {
        pub freqs: Vec<f64>,
        pub step_len: u64,
        pub pos: u64,
        pub drops: Option<Arc<AtomicUsize>>,
    }

    impl Sine {
        pub fn new(freqs: &[f64], step_secs: f64) -> Box<Sine> {
            Box::new(Sine {
                freqs: freqs.to_vec(),
                step_len: (step_secs * SR as f64) as u64,
                pos: 0,
                drops: None,
            })
        }
        pub fn at(&self, n: u64) -> f32 {
            let step = ((n / self.step_len) as usize).min(self.freqs.len() - 1);
            (0.5 * (TAU * self.freqs[step] * n as f64 / SR as f64).sin()) as f32
        }
        fn total(&self) -> u64 {
            self.step_len * self.freqs.len() as u64
        }
    }

    impl Drop for Sine {
        fn drop(&mut self) {
            if let Some(d) = &self.drops {
                d.fetch_add(1, Relaxed);
            }
        }
    }

    impl Source for Sine {
        fn sample_rate(&self) -> u32 {
            SR
        }
        fn total_frames(&self) -> Option<u64> {
            Some(self.total())
        }
        fn position(&self) -> u64 {
            self.pos
        }
        fn render_block(&mut self, out: &mut [f32]) -> usize {
            let mut got = 0;
            for fr in out.chunks_exact_mut(2) {
                let v = if self.pos < self.total() {
                    got += 1;
                    let v = self.at(self.pos);
                    self.pos += 1;
                    v
                } else {
                    0.0
                };
                fr[0] = v;
                fr[1] = v;
            }
            got
        }
        fn seek(&mut self, frame: u64) {
            self.pos = frame.min(self.total());
        }
        fn step_count(&self) -> usize {
            self.freqs.len()
        }
        fn current_step(&self) -> Option<usize> {
            Some(((self.pos / self.step_len) as usize).min(self.freqs.len() - 1))
        }
        fn step_start_frame(&self, index: usize) -> Option<u64> {
            (index < self.freqs.len()).then(|| index as u64 * self.step_len)
        }
    }

    fn new_transport() -> (Transport, TransportHandle) {
        transport(TransportConfig::new(SR))
    }

    /// Renders `frames` frames in blocks of `chunk`; returns the left channel.
    fn run(t: &mut Transport, frames: usize, chunk: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; 2 * frames];
        for c in out.chunks_mut(2 * chunk) {
            t.process(c);
        }
        for fr in out.chunks_exact(2) {
            assert_eq!(fr[0], fr[1]);
        }
        out.iter().step_by(2).copied().collect()
    }

    fn fade_len() -> usize {
        (0.010 * SR as f64).round() as usize
    }

    fn assert_matches(
        out: &[f32],
        range: std::ops::Range<usize>,
        src: &Sine,
        src_start: u64,
        gain: f32,
    ) {
        for (k, i) in range.enumerate() {
            let want = src.at(src_start + k as u64) * gain;
            assert!(
                (out[i] - want).abs() < 1e-6,
                "frame {i}: got {} want {want} (source frame {})",
                out[i],
                src_start + k as u64
            );
        }
    }

    #[test]
    fn play_renders_the_source_after_a_fade_in() {
        let (mut t, mut h) = new_transport();
        let reference = Sine::new(&[440.0], 10.0);
        h.send(Command::SetSource(Sine::new(&[440.0], 10.0)))
            .unwrap();
        assert_eq!(
            run(&mut t, 1000, 128),
            vec![0.0; 1000],
            "loaded but not playing: silence"
        );
        h.send(Command::Play).unwrap();
        let out = run(&mut t, SR as usize, 128);
        let f = fade_len();
        assert_matches(&out, f..out.len(), &reference, f as u64, 1.0);
        // The fade-in rises smoothly from 0.
        assert!(out[0].abs() < 1e-4 && measure::max_step(&out[..f + 10]) < 0.07);
        let st = h.status();
        assert_eq!(
            (st.state, st.position_frames, st.step, st.step_count),
            (State::Playing, SR as u64, Some(0), 1)
        );
        assert_eq!(st.duration_secs, Some(10.0));
        assert!((measure::dominant_frequency(&out, SR as f64, 20.0, 2000.0) - 440.0).abs() < 0.05);
    }

    #[test]
    fn pause_fades_to_silence_and_resume_continues_the_phase() {
        let (mut t, mut h) = new_transport();
        let src = Sine::new(&[440.0], 10.0);
        h.send(Command::SetSource(Sine::new(&[440.0], 10.0)))
            .unwrap();
        h.send(Command::Play).unwrap();
        h.schedule(10_000, Command::Pause).unwrap();
        h.schedule(30_000, Command::Resume).unwrap();
        let out = run(&mut t, 50_000, 512);
        let f = fade_len();
        // Untouched up to the pause frame, then a fade with no click, then exact silence.
        assert_matches(&out, f..10_000, &src, f as u64, 1.0);
        assert!(out[10_000].abs() > 0.0 && measure::max_step(&out[9_000..10_000 + f + 10]) < 0.07);
        assert!(
            out[10_000 + f - 1..30_000].iter().all(|v| *v == 0.0),
            "silent while paused"
        );
        // Resume continues at the source frame where the fade ended: phase-continuous.
        assert_matches(&out, 30_000 + f..50_000, &src, (10_000 + f + f) as u64, 1.0);
        assert_eq!(h.status().position_frames, (10_000 + f + 20_000) as u64);
    }

    #[test]
    fn scheduled_commands_apply_at_their_exact_frame_in_any_block_size() {
        let make = |chunk: usize| {
            let (mut t, mut h) = new_transport();
            h.send(Command::SetSource(Sine::new(&[300.0, 500.0, 700.0], 1.0)))
                .unwrap();
            h.send(Command::Play).unwrap();
            h.schedule(1_001, Command::SetVolume(0.25)).unwrap();
            h.schedule(5_003, Command::Seek(70_000)).unwrap();
            h.schedule(9_999, Command::Pause).unwrap();
            h.schedule(12_345, Command::Play).unwrap();
            h.schedule(20_000, Command::SkipStep(1)).unwrap();
            run(&mut t, 30_000, chunk)
        };
        let a = make(128);
        for chunk in [1, 7, 100, 441, 4096] {
            assert_eq!(make(chunk), a, "block size {chunk}");
        }
        // The volume ramp starts exactly at frame 1001.
        let src = Sine::new(&[300.0, 500.0, 700.0], 1.0);
        assert_matches(&a, 500..1_001, &src, 500, 1.0);
        assert!(
            (a[1_001 + 3 * fade_len()] - src.at(1_001 + 3 * fade_len() as u64) * 0.25).abs() < 1e-6
        );
    }

    #[test]
    fn seek_lands_on_the_requested_frame() {
        let (mut t, mut h) = new_transport();
        let src = Sine::new(&[300.0, 500.0, 700.0], 1.0);
        h.send(Command::SetSource(Sine::new(&[300.0, 500.0, 700.0], 1.0)))
            .unwrap();
        h.send(Command::Play).unwrap();
        h.schedule(20_000, Command::Seek(2 * SR as u64 + 1234))
            .unwrap();
        let out = run(&mut t, 40_000, 256);
        let f = fade_len();
        // Fade out from 20000 for f frames, jump, fade in for f frames, then exact.
        assert_matches(&out, f..20_000, &src, f as u64, 1.0);
        assert_matches(
            &out,
            20_000 + 2 * f..40_000,
            &src,
            2 * SR as u64 + 1234 + f as u64,
            1.0,
        );
        assert!(
            measure::max_step(&out[19_000..20_000 + 3 * f]) < 0.07,
            "no click at the jump"
        );
        let tail = &out[20_000 + 2 * f..];
        assert!((measure::dominant_frequency(tail, SR as f64, 20.0, 2000.0) - 700.0).abs() < 0.5);
        // Seek while paused applies at once and is reported.
        h.send(Command::Pause).unwrap();
        run(&mut t, 1000, 128);
        h.send(Command::Seek(SR as u64 / 2)).unwrap();
        run(&mut t, 128, 128);
        let st = h.status();
        assert_eq!(
            (st.state, st.position_frames, st.step),
            (State::Paused, SR as u64 / 2, Some(0))
        );
    }

    #[test]
    fn skip_step_moves_between_steps_and_clamps() {
        let (mut t, mut h) = new_transport();
        h.send(Command::SetSource(Sine::new(&[300.0, 500.0, 700.0], 1.0)))
            .unwrap();
        h.send(Command::Play).unwrap();
        run(&mut t, 10_000, 128);
        h.send(Command::SkipStep(1)).unwrap();
        h.send(Command::SkipStep(1)).unwrap(); // during the first skip's fade: counts from its target
        let out = run(&mut t, 20_000, 128);
        let st = h.status();
        assert_eq!(st.step, Some(2), "{st:?}");
        let tail = &out[2_000..];
        assert!((measure::dominant_frequency(tail, SR as f64, 20.0, 2000.0) - 700.0).abs() < 0.5);
        h.send(Command::SkipStep(5)).unwrap(); // clamped to the last step: its start
        run(&mut t, 2_000, 128);
        assert_eq!(h.status().step, Some(2));
        h.send(Command::SkipStep(-1)).unwrap();
        let out = run(&mut t, 20_000, 128);
        assert_eq!(h.status().step, Some(1));
        assert!(
            (measure::dominant_frequency(&out[2_000..], SR as f64, 20.0, 2000.0) - 500.0).abs()
                < 0.5
        );
        h.send(Command::SkipStep(-9)).unwrap();
        run(&mut t, 2_000, 128);
        assert_eq!(h.status().step, Some(0));
    }

    #[test]
    fn volume_is_ramped_and_exact() {
        let (mut t, mut h) = new_transport();
        let src = Sine::new(&[440.0], 10.0);
        h.send(Command::SetSource(Sine::new(&[440.0], 10.0)))
            .unwrap();
        h.send(Command::Play).unwrap();
        h.schedule(5_000, Command::SetVolume(0.5)).unwrap();
        let out = run(&mut t, 20_000, 128);
        assert_matches(
            &out,
            5_000 + fade_len()..20_000,
            &src,
            (5_000 + fade_len()) as u64,
            0.5,
        );
        assert!(measure::max_step(&out[4_000..7_000]) < 0.07);
        assert_eq!(h.status().volume, 0.5);
    }

    #[test]
    fn update_track_crossfades_to_the_new_source_at_the_same_position() {
        let (mut t, mut h) = new_transport();
        let (a, b) = (Sine::new(&[200.0], 10.0), Sine::new(&[330.0], 10.0));
        h.send(Command::SetSource(Sine::new(&[200.0], 10.0)))
            .unwrap();
        h.send(Command::Play).unwrap();
        let x = 22_050usize;
        let xf = 11_025usize;
        h.schedule(
            x as u64,
            Command::Replace {
                source: Sine::new(&[330.0], 10.0),
                crossfade_frames: xf as u32,
                curve: CrossfadeCurve::Linear,
            },
        )
        .unwrap();
        let out = run(&mut t, 3 * SR as usize, 128);
        let f = fade_len();
        assert_matches(&out, f..x, &a, f as u64, 1.0);
        for i in x..x + xf {
            let r = (i - x + 1) as f32 / xf as f32;
            let want = a.at(i as u64) * (1.0 - r) + b.at(i as u64) * r;
            assert!((out[i] - want).abs() < 1e-5, "frame {i}");
        }
        assert_matches(&out, x + xf..out.len(), &b, (x + xf) as u64, 1.0);
        assert!(
            (measure::dominant_frequency(&out[x + xf..], SR as f64, 20.0, 2000.0) - 330.0).abs()
                < 0.05
        );
        // The old source was handed back, not dropped on the "audio thread".
        assert_eq!(h.drain_garbage(), 1);
        // Parked: a replacement swaps at once, at the same position.
        h.send(Command::Pause).unwrap();
        run(&mut t, 1_000, 128);
        let pos = h.status().position_frames;
        h.send(Command::Replace {
            source: Sine::new(&[500.0], 10.0),
            crossfade_frames: 1000,
            curve: CrossfadeCurve::Linear,
        })
        .unwrap();
        run(&mut t, 128, 128);
        assert_eq!(h.status().position_frames, pos);
    }

    #[test]
    fn replaced_sources_are_dropped_on_the_control_side() {
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = |f: f64| {
            let mut s = Sine::new(&[f], 10.0);
            s.drops = Some(drops.clone());
            s
        };
        let (mut t, mut h) = new_transport();
        h.send(Command::SetSource(counted(200.0))).unwrap();
        h.send(Command::Play).unwrap();
        run(&mut t, 1_000, 128);
        h.send(Command::Replace {
            source: counted(300.0),
            crossfade_frames: 500,
            curve: CrossfadeCurve::Linear,
        })
        .unwrap();
        // A second replacement during the crossfade waits, a third one supersedes the second.
        h.send(Command::Replace {
            source: counted(400.0),
            crossfade_frames: 500,
            curve: CrossfadeCurve::Linear,
        })
        .unwrap();
        h.send(Command::Replace {
            source: counted(500.0),
            crossfade_frames: 500,
            curve: CrossfadeCurve::Linear,
        })
        .unwrap();
        run(&mut t, 5_000, 128);
        assert_eq!(
            drops.load(Relaxed),
            0,
            "nothing dropped by the transport itself"
        );
        assert_eq!(h.drain_garbage(), 3);
        assert_eq!(drops.load(Relaxed), 3);
        let out = run(&mut t, SR as usize, 128);
        assert!((measure::dominant_frequency(&out, SR as f64, 20.0, 2000.0) - 500.0).abs() < 0.05);
    }

    #[test]
    fn stop_returns_to_the_start_and_end_of_source_finishes() {
        let (mut t, mut h) = new_transport();
        let src = Sine::new(&[300.0, 600.0], 0.5);
        h.send(Command::SetSource(Sine::new(&[300.0, 600.0], 0.5)))
            .unwrap();
        h.send(Command::Play).unwrap();
        run(&mut t, 30_000, 128);
        h.send(Command::Stop).unwrap();
        let out = run(&mut t, 5_000, 128);
        assert!(out[fade_len() + 128..].iter().all(|v| *v == 0.0));
        let st = h.status();
        assert_eq!((st.state, st.position_frames), (State::Stopped, 0));
        h.send(Command::Play).unwrap();
        let out = run(&mut t, SR as usize + 1_000, 128);
        let f = fade_len();
        assert_matches(&out, f..SR as usize, &src, f as u64, 1.0);
        assert!(
            out[SR as usize..].iter().all(|v| *v == 0.0),
            "silence after the end"
        );
        let st = h.status();
        assert_eq!((st.state, st.position_frames), (State::Finished, SR as u64));
        // Play after the end starts again from 0.
        h.send(Command::Play).unwrap();
        run(&mut t, 1_000, 128);
        assert_eq!(h.status().position_frames, 1_000);
    }

    #[test]
    fn rejects_wrong_rate_and_commands_without_a_source() {
        let (mut t, mut h) = new_transport();
        struct Other;
        impl Source for Other {
            fn sample_rate(&self) -> u32 {
                48_000
            }
            fn total_frames(&self) -> Option<u64> {
                None
            }
            fn position(&self) -> u64 {
                0
            }
            fn render_block(&mut self, out: &mut [f32]) -> usize {
                out.fill(0.0);
                out.len() / 2
            }
            fn seek(&mut self, _: u64) {}
        }
        assert!(matches!(
            h.send(Command::SetSource(Box::new(Other))),
            Err(SendError::SampleRate {
                source_rate: 48_000,
                output_rate: SR
            })
        ));
        h.send(Command::Play).unwrap();
        h.send(Command::Seek(5)).unwrap();
        assert_eq!(run(&mut t, 256, 128), vec![0.0; 256]);
        let st = h.status();
        assert_eq!(
            (st.state, st.rejected_commands, st.commands_applied),
            (State::Idle, 2, 2)
        );
        for _ in 0..COMMAND_CAPACITY {
            h.send(Command::Pause).unwrap();
        }
        assert!(matches!(
            h.send(Command::Pause),
            Err(SendError::QueueFull(_))
        ));
    }

    /// No allocation (or free) in `process` across every command, including replacements.
    #[cfg(debug_assertions)]
    #[test]
    fn process_never_allocates() {
        let (mut t, mut h) = new_transport();
        let mut out = vec![0.0f32; 2 * 512];
        let cycle = |t: &mut Transport, out: &mut [f32]| {
            assert_no_alloc::assert_no_alloc(|| {
                for _ in 0..20 {
                    t.process(out);
                }
            })
        };
        let before = assert_no_alloc::violation_count();
        h.send(Command::SetSource(Sine::new(&[300.0, 500.0, 700.0], 0.5)))
            .unwrap();
        cycle(&mut t, &mut out);
        let cmds: Vec<Box<dyn Fn() -> Command>> = vec![
            Box::new(|| Command::Play),
            Box::new(|| Command::SetVolume(0.3)),
            Box::new(|| Command::Seek(30_000)),
            Box::new(|| Command::SkipStep(1)),
            Box::new(|| Command::SkipStep(-1)),
            Box::new(|| Command::Replace {
                source: Sine::new(&[350.0], 2.0),
                crossfade_frames: 3_000,
                curve: CrossfadeCurve::EqualPower,
            }),
            Box::new(|| Command::Replace {
                source: Sine::new(&[360.0], 2.0),
                crossfade_frames: 3_000,
                curve: CrossfadeCurve::Linear,
            }),
            Box::new(|| Command::Pause),
            Box::new(|| Command::Replace {
                source: Sine::new(&[370.0], 2.0),
                crossfade_frames: 3_000,
                curve: CrossfadeCurve::Linear,
            }),
            Box::new(|| Command::Resume),
            Box::new(|| Command::Stop),
            Box::new(|| Command::Play),
            Box::new(|| Command::SetSource(Sine::new(&[380.0], 2.0))),
            Box::new(|| Command::Play),
        ];
        for c in &cmds {
            h.send(c()).unwrap();
            cycle(&mut t, &mut out);
        }
        assert_eq!(
            assert_no_alloc::violation_count() - before,
            0,
            "allocations on the audio path"
        );
        // The guard works: an allocation inside it is counted.
        assert_no_alloc::assert_no_alloc(|| drop(std::hint::black_box(vec![1u8; 16])));
        assert!(assert_no_alloc::violation_count() > before);
    }
}
