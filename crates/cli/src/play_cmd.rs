//! `play T.json` and `run --path T.json --start S` (live): stream a track to the audio device
//! with a status line and keys; `devices`: list the outputs.
//!
//! Keys (on a terminal): `p`/space pause/resume, left/right seek 10 s, `n`/`b` next/previous
//! step, `+`/`-` volume, `q` or Ctrl+C quit (the terminal is put in non-canonical mode with
//! `stty`, so Ctrl+C arrives as a key and playback stops cleanly).

use crate::CliError;
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use audio_playback::{Player, PlayerConfig, PlayerError, State, output_devices};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Arguments of `play`.
#[derive(clap::Args, Debug)]
pub struct PlayArgs {
    /// Track-definition JSON file, or a MIDI file (`.mid`/`.midi`, played with `--soundfont`).
    pub track: PathBuf,
    /// SoundFont for MIDI files (default: $RUST_AUDIO_ENGINE_SOUNDFONT or TimGM6mb.sf2).
    #[arg(long)]
    pub soundfont: Option<PathBuf>,
    /// MIDI: turn the reverb off.
    #[arg(long)]
    pub no_reverb: bool,
    /// Start position in seconds.
    #[arg(long, default_value_t = 0.0)]
    pub start: f64,
    /// Output device (id from `devices`, or part of its name).
    #[arg(long)]
    pub device: Option<String>,
    /// Master volume (linear gain).
    #[arg(long, default_value_t = 1.0)]
    pub volume: f32,
    /// Stop after this many seconds of output (default: the end of the track).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Device buffer in frames (default: the device's).
    #[arg(long)]
    pub buffer: Option<u32>,
    /// Skip voices with unknown or unsupported synth functions.
    #[arg(long)]
    pub lenient: bool,
}

impl From<PlayerError> for CliError {
    fn from(e: PlayerError) -> Self {
        CliError::Runtime(e.to_string())
    }
}

/// `devices`: one output per line, the default marked with `*`.
pub fn devices() -> Result<(), CliError> {
    for d in output_devices()? {
        println!(
            "{} {}  {}",
            if d.is_default { "*" } else { " " },
            d.id,
            d.name
        );
    }
    Ok(())
}

/// Puts the terminal in non-canonical, no-echo, no-signal mode; restores it on drop.
struct RawTerminal(Option<String>);

impl RawTerminal {
    fn enter() -> RawTerminal {
        let stty = |args: &[&str]| {
            std::process::Command::new("stty")
                .args(args)
                .stdin(std::process::Stdio::inherit())
                .output()
                .ok()
                .filter(|o| o.status.success())
        };
        let saved = stty(&["-g"]).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if saved.is_some() {
            stty(&["-icanon", "-echo", "-isig", "min", "1"]);
        }
        RawTerminal(saved)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(s) = &self.0 {
            let _ = std::process::Command::new("stty")
                .arg(s)
                .stdin(std::process::Stdio::inherit())
                .status();
        }
    }
}

enum Key {
    Pause,
    Seek(f64),
    Step(i32),
    Volume(f32),
    Quit,
}

fn key_reader() -> mpsc::Receiver<Key> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut b = [0u8; 1];
        let mut esc = 0;
        while stdin.read(&mut b).is_ok_and(|n| n == 1) {
            let key = match (esc, b[0]) {
                (0, 0x1b) => {
                    esc = 1;
                    continue;
                }
                (1, b'[') => {
                    esc = 2;
                    continue;
                }
                (2, b'C') => Some(Key::Seek(10.0)),
                (2, b'D') => Some(Key::Seek(-10.0)),
                (_, b'p' | b' ') => Some(Key::Pause),
                (_, b'n') => Some(Key::Step(1)),
                (_, b'b') => Some(Key::Step(-1)),
                (_, b'+' | b'=') => Some(Key::Volume(1.25)),
                (_, b'-') => Some(Key::Volume(0.8)),
                (_, b'q' | 0x03 | 0x04) => Some(Key::Quit),
                _ => None,
            };
            esc = 0;
            if let Some(k) = key
                && tx.send(k).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// The first `beatFreq` of a voice in the step at `secs`, for the status line.
fn beat_at(track: &Track, step: Option<usize>) -> Option<f64> {
    let s = track.steps.get(step?)?;
    s.voices
        .iter()
        .find_map(|v| v.params.get("beatFreq").and_then(|x| x.as_f64()))
}

fn fmt_time(s: f64) -> String {
    let s = s.max(0.0);
    format!("{:02}:{:04.1}", (s / 60.0) as u64, s % 60.0)
}

/// `play T.json`.
pub fn play(args: &PlayArgs) -> Result<(), CliError> {
    if !args.start.is_finite() || args.start < 0.0 {
        return Err(CliError::Input(format!(
            "--start must be a number >= 0, got {}",
            args.start
        )));
    }
    let is_midi = args
        .track
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"));
    if is_midi {
        return play_midi(args);
    }
    let track = Track::from_path(
        &args.track,
        LoadOptions {
            lenient: args.lenient,
            allow_long: false,
        },
    )?;
    for w in &track.warnings {
        eprintln!("warning: {w}");
    }
    let cfg = PlayerConfig {
        device: args.device.clone(),
        sample_rate: Some(track.sample_rate),
        buffer_frames: args.buffer,
        // Held until the source is loaded: building it (SoundFont synth, reverb plans) takes a
        // while, and an unpaced device would otherwise count idle frames against --duration.
        autostart: false,
        ..PlayerConfig::default()
    };
    let mut player = Player::open(&cfg)?;
    if player.sample_rate() != track.sample_rate {
        eprintln!(
            "note: the device runs at {} Hz; rendering at that rate",
            player.sample_rate()
        );
    }
    let source = SessionSource::new(
        &track,
        RenderOptions {
            sample_rate: Some(player.sample_rate()),
            target_level: None,
        },
    )?;
    player.set_volume(args.volume)?;
    player.start(Box::new(source), args.start)?;
    player.start_device()?;
    let stop_at = args
        .duration
        .map(|d| (d.max(0.0) * player.sample_rate() as f64) as u64);
    let result = run_loop(&mut player, Some(&track), stop_at);
    summary(&mut player);
    result
}

fn summary(player: &mut Player) {
    let st = player.status();
    eprintln!(
        "played {:.1} s on {} at {} Hz: underruns {}, audio-thread load {:.3} % of one core, longest callback {:.0} us, {} frames per callback, device delay {:.1} ms",
        st.output_frames as f64 / st.sample_rate as f64,
        player.device_name(),
        st.sample_rate,
        st.underruns,
        100.0 * st.dsp_load,
        st.max_callback_secs * 1e6,
        st.output_frames / st.callbacks.max(1),
        st.device_delay_secs * 1e3
    );
}

/// `play song.mid --soundfont F`: the same player and keys over a [`MidiSource`](audio_core::midi::MidiSource).
fn play_midi(args: &PlayArgs) -> Result<(), CliError> {
    use audio_core::midi::{
        MidiOptions, MidiSong, MidiSource, default_soundfont_path, load_soundfont,
    };
    let midi_err = |e: audio_core::midi::MidiError| {
        if e.is_bad_input() {
            CliError::Input(e.to_string())
        } else {
            CliError::Runtime(e.to_string())
        }
    };
    let song = MidiSong::load(&args.track).map_err(midi_err)?;
    let sf_path = args
        .soundfont
        .clone()
        .unwrap_or_else(default_soundfont_path);
    let sf = load_soundfont(&sf_path).map_err(midi_err)?;
    let cfg = PlayerConfig {
        device: args.device.clone(),
        sample_rate: Some(44_100),
        buffer_frames: args.buffer,
        // Held until the source is loaded: building it (SoundFont synth, reverb plans) takes a
        // while, and an unpaced device would otherwise count idle frames against --duration.
        autostart: false,
        ..PlayerConfig::default()
    };
    let mut player = Player::open(&cfg)?;
    let mut opts = MidiOptions {
        sample_rate: player.sample_rate(),
        ..MidiOptions::default()
    };
    if args.no_reverb {
        opts.reverb = None;
    }
    let source = MidiSource::new(&song, &sf, &opts).map_err(midi_err)?;
    player.set_volume(args.volume)?;
    player.start(Box::new(source), args.start)?;
    player.start_device()?;
    let stop_at = args
        .duration
        .map(|d| (d.max(0.0) * player.sample_rate() as f64) as u64);
    let result = run_loop(&mut player, None, stop_at);
    summary(&mut player);
    result
}

/// `run --path T.json --start S` without `--generate true`.
pub fn run_live(path: &Path, start: f64, lenient: bool) -> Result<(), CliError> {
    play(&PlayArgs {
        track: path.to_path_buf(),
        start,
        soundfont: None,
        no_reverb: false,
        device: None,
        volume: 1.0,
        duration: None,
        buffer: None,
        lenient,
    })
}

fn run_loop(
    player: &mut Player,
    track: Option<&Track>,
    stop_at: Option<u64>,
) -> Result<(), CliError> {
    let tty = std::io::stdin().is_terminal();
    let _raw = tty.then(RawTerminal::enter);
    let keys = tty.then(key_reader);
    let show = std::io::stderr().is_terminal();
    let result = loop {
        if let Err(e) = player.check() {
            break Err(CliError::from(e));
        }
        let st = player.status();
        if show {
            let beat = track
                .and_then(|t| beat_at(t, st.step))
                .map_or(String::new(), |b| format!("  beat {b:.2} Hz"));
            eprint!(
                "\r{:8} {} / {}  step {} of {}{beat}  vol {:.2}  underruns {}   ",
                st.state.as_str(),
                fmt_time(st.position_secs),
                fmt_time(st.duration_secs.unwrap_or(0.0)),
                st.step.map_or(0, |s| s + 1),
                st.step_count,
                st.volume,
                st.underruns
            );
            let _ = std::io::stderr().flush();
        }
        if st.state == State::Finished || stop_at.is_some_and(|f| st.output_frames >= f) {
            break Ok(());
        }
        if let Some(rx) = &keys {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Key::Quit) => {
                    let _ = player.pause();
                    std::thread::sleep(Duration::from_millis(30)); // let the fade-out play
                    break Ok(());
                }
                Ok(Key::Pause) => {
                    if st.state == State::Playing {
                        player.pause()?
                    } else {
                        player.play()?
                    }
                }
                Ok(Key::Seek(d)) => player.seek((st.position_secs + d).max(0.0))?,
                Ok(Key::Step(n)) => player.skip_step(n)?,
                Ok(Key::Volume(f)) => player.set_volume((st.volume * f).clamp(0.0, 4.0))?,
                Err(_) => {}
            }
        } else {
            std::thread::sleep(Duration::from_millis(if stop_at.is_some() {
                2
            } else {
                50
            }));
        }
    };
    if show {
        eprintln!();
    }
    result
}
