//! Device-path tests through real ALSA: the `file` plugin over a `null` slave captures every
//! sample the player wrote (recipe: ../shared/NOTES.md). The device is not paced, so transport
//! commands are scheduled at output frames and the capture is compared sample by sample.
//!
//! The ALSA configuration is per process, so every test re-runs this test binary as a child
//! (`--exact <name>`) with its own `ALSA_CONFIG_PATH`; the child plays and checks its status,
//! the parent analyses the capture file. Each child is bounded by a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};
use std::time::{Duration, Instant};

use audio_core::Source;
use audio_core::dsp::crossfade::CrossfadeCurve;
use audio_core::measure;
use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use audio_playback::{Command, Player, PlayerConfig, PlayerError, State};

// Counts allocations made inside the callback's `assert_no_alloc` section (debug builds).
#[global_allocator]
static ALLOC_GUARD: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const SR: u32 = 44_100;
const FADE: usize = 441; // 10 ms at 44.1 kHz (PlayerConfig default)

/// Test source shaped like example track 01 (binaural 200 Hz / 10 Hz beat: carriers 195 / 205
/// Hz) for 20 s, then a 10 s step of 300 Hz / 6 Hz. Each sample is a pure function of its frame
/// (sample-exact seek), like the engine's sources; `capture_real_track` plays the real example
/// file through the session-track engine.
#[derive(Clone, Copy)]
struct Spec {
    base: f64,
    beat: f64,
    sr: u32,
}

fn spec(base: f64, beat: f64) -> Spec {
    Spec { base, beat, sr: SR }
}

struct Binaural {
    spec: Spec,
    pos: u64,
}

impl Binaural {
    fn step_len(&self, i: usize) -> u64 {
        [20, 10][i] * self.spec.sr as u64
    }
}

impl Source for Binaural {
    fn sample_rate(&self) -> u32 {
        self.spec.sr
    }
    fn total_frames(&self) -> Option<u64> {
        Some(30 * self.spec.sr as u64)
    }
    fn position(&self) -> u64 {
        self.pos
    }
    fn render_block(&mut self, out: &mut [f32]) -> usize {
        let total = self.total_frames().unwrap();
        let mut got = 0;
        for fr in out.chunks_exact_mut(2) {
            if self.pos >= total {
                fr.fill(0.0);
                continue;
            }
            let (base, beat) = if self.pos < self.step_len(0) {
                (self.spec.base, self.spec.beat)
            } else {
                (300.0, 6.0)
            };
            let t = self.pos as f64 / self.spec.sr as f64;
            fr[0] = (0.5 * (std::f64::consts::TAU * (base - beat / 2.0) * t).sin()) as f32;
            fr[1] = (0.5 * (std::f64::consts::TAU * (base + beat / 2.0) * t).sin()) as f32;
            self.pos += 1;
            got += 1;
        }
        got
    }
    fn seek(&mut self, frame: u64) {
        self.pos = frame.min(self.total_frames().unwrap());
    }
    fn step_count(&self) -> usize {
        2
    }
    fn current_step(&self) -> Option<usize> {
        Some(usize::from(self.pos >= self.step_len(0)))
    }
    fn step_start_frame(&self, index: usize) -> Option<u64> {
        [Some(0), Some(self.step_len(0)), None][index.min(2)]
    }
}

fn source(spec: &Spec) -> Box<dyn Source> {
    Box::new(Binaural {
        spec: *spec,
        pos: 0,
    })
}

/// Offline render of `frames` frames from `start` (the reference for the capture).
fn offline(spec: &Spec, start: u64, frames: usize) -> Vec<f32> {
    let mut s = source(spec);
    s.seek(start);
    let mut out = vec![0.0; 2 * frames];
    s.render_block(&mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Child-process plumbing.

const CHILD_ENV: &str = "PLAYBACK_TEST_CHILD_DIR";

fn capture_conf(dir: &Path) -> String {
    format!(
        "pcm.!default {{\n type file\n slave.pcm {{ type null }}\n file \"{}/capture.raw\"\n format \"raw\"\n}}\n",
        dir.display()
    )
}

/// In the child: `Some(dir)`. In the parent: runs `name` in a child with `conf` as its whole
/// ALSA configuration, asserts it succeeded within `timeout`, and returns `None` plus the dir.
fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_ENV).map(PathBuf::from)
}

fn run_child(name: &str, conf: impl Fn(&Path) -> String, timeout: Duration) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("playback-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf_path = dir.join("asound.conf");
    std::fs::write(&conf_path, conf(&dir)).unwrap();
    let mut child = Proc::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .env("ALSA_CONFIG_PATH", &conf_path)
        .env("HOME", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match status {
        None => panic!("child {name} hung (killed after {timeout:?}):\n{text}"),
        Some(s) => assert!(
            s.success() && text.contains("1 passed"),
            "child {name} failed ({s}):\n{text}"
        ),
    }
    dir
}

fn read_capture(dir: &Path) -> Vec<f32> {
    eprintln!(
        "child status: {}",
        std::fs::read_to_string(dir.join("status.txt")).unwrap_or_default()
    );
    // Frames the device took before the transport started (see Player::held_frames).
    let offset: usize =
        std::fs::read_to_string(dir.join("offset.txt")).map_or(0, |s| s.trim().parse().unwrap());
    let bytes = std::fs::read(dir.join("capture.raw")).expect("capture file");
    assert!(
        bytes[..(8 * offset).min(bytes.len())]
            .iter()
            .all(|b| *b == 0),
        "held frames must be silent"
    );
    bytes[(8 * offset).min(bytes.len())..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn test_config() -> PlayerConfig {
    PlayerConfig {
        sample_rate: Some(SR),
        buffer_frames: Some(512),
        autostart: false,
        ..PlayerConfig::default()
    }
}

/// Plays until `frames` output frames, then checks the stream and the allocation guard.
fn play_until(p: &mut Player, frames: u64) {
    p.start_device().unwrap();
    assert!(
        p.wait_output_frames(frames, Duration::from_secs(20)),
        "stream stalled: {:?}",
        p.status()
    );
    let st = p.status();
    if let Some(dir) = child_dir() {
        std::fs::write(dir.join("offset.txt"), p.held_frames().to_string()).unwrap();
        std::fs::write(
            dir.join("status.txt"),
            format!(
                "{st:?}\npending {} error: {:?}",
                p.pending_commands(),
                p.last_error()
            ),
        )
        .unwrap();
    }
    p.check().unwrap();
    assert_eq!(st.alloc_violations, 0, "allocation in the audio callback");
    assert!(st.callbacks > 0);
}

fn left(x: &[f32]) -> Vec<f32> {
    x.iter().step_by(2).copied().collect()
}
fn right(x: &[f32]) -> Vec<f32> {
    x.iter().skip(1).step_by(2).copied().collect()
}

/// Asserts capture frames `[at, at + n)` equal the offline render from `src_frame`.
fn assert_same(cap: &[f32], at: usize, reference: &[f32], what: &str) {
    let n = reference.len() / 2;
    let got = &cap[2 * at..2 * (at + n)];
    let worst = got
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "{what}: capture differs from the offline render by {worst}"
    );
}

// ---------------------------------------------------------------------------------------------

/// Play 1 s, pause 0.5 s, resume 1 s, seek to 10 s and play 1 s: carriers, beat rate, silence
/// while paused, phase-continuous resume and the seek target, all against the offline render.
#[test]
fn capture_play_pause_resume_seek() {
    let json = spec(200.0, 10.0);
    if let Some(_dir) = child_dir() {
        let mut p = Player::open(&test_config()).unwrap();
        assert_eq!((p.sample_rate(), p.channels()), (SR, 2));
        p.load(source(&json)).unwrap();
        p.play().unwrap();
        p.schedule(44_100, Command::Pause).unwrap();
        p.schedule(66_150, Command::Resume).unwrap();
        p.schedule(110_250, Command::Seek(10 * SR as u64)).unwrap();
        p.schedule(154_350, Command::Pause).unwrap();
        play_until(&mut p, 160_000);
        let st = p.status();
        assert_eq!(st.state, State::Paused);
        assert_eq!(st.position_frames, 10 * SR as u64 + 44_100);
        assert_eq!(
            (st.step, st.step_count, st.duration_secs),
            (Some(0), 2, Some(30.0))
        );
        return;
    }
    let dir = run_child(
        "capture_play_pause_resume_seek",
        capture_conf,
        Duration::from_secs(60),
    );
    let cap = read_capture(&dir);
    assert!(
        cap.len() >= 2 * 160_000,
        "captured {} frames",
        cap.len() / 2
    );
    // 1) Playing from 0: identical to the offline render after the fade-in.
    assert_same(
        &cap,
        FADE,
        &offline(&json, FADE as u64, 44_100 - FADE),
        "first second",
    );
    let (l, r) = (
        left(&cap[2 * 4410..2 * 44_100]),
        right(&cap[2 * 4410..2 * 44_100]),
    );
    let fl = measure::dominant_frequency(&l, SR as f64, 20.0, 1000.0);
    let fr = measure::dominant_frequency(&r, SR as f64, 20.0, 1000.0);
    assert!(
        (fl - 195.0).abs() < 0.2 && (fr - 205.0).abs() < 0.2,
        "carriers {fl} / {fr}"
    );
    assert!(((fr - fl) - 10.0).abs() < 0.3, "beat {}", fr - fl);
    // 2) Pause at 1 s: fade without a click, then exact silence until the resume at 1.5 s.
    assert!(
        measure::max_step(&left(&cap[2 * 43_000..2 * 46_000])) < 0.05,
        "click at the pause"
    );
    assert!(
        cap[2 * (44_100 + FADE)..2 * 66_150]
            .iter()
            .all(|v| *v == 0.0),
        "silence while paused"
    );
    assert!(measure::rms(&left(&cap[2 * 44_000..2 * 44_100])) > 0.1);
    // 3) Resume continues at the source frame where the fade ended (phase-continuous).
    let resumed = 44_100 + FADE; // source frame at the resume
    assert_same(
        &cap,
        66_150 + FADE,
        &offline(&json, (resumed + FADE) as u64, 110_250 - 66_150 - FADE),
        "after resume",
    );
    // 4) Seek at 2.5 s to 10 s: after the fade-out and fade-in the capture is the render at 10 s.
    let after = 110_250 + 2 * FADE;
    assert_same(
        &cap,
        after,
        &offline(&json, (10 * SR) as u64 + FADE as u64, 154_350 - after),
        "after seek",
    );
    assert!(
        measure::max_step(&left(&cap[2 * 109_000..2 * 112_000])) < 0.05,
        "click at the seek"
    );
    // 5) Final pause: silent tail.
    assert!(
        cap[2 * (154_350 + FADE)..2 * 160_000]
            .iter()
            .all(|v| *v == 0.0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `update_track` while playing: within the crossfade the capture moves from the 10 Hz beat
/// (195/205 Hz) to the edited 4 Hz beat (198/202 Hz), and after it equals the new track's render.
#[test]
fn capture_update_track_crossfades_to_new_beat() {
    let (old, new) = (spec(200.0, 10.0), spec(200.0, 4.0));
    let (at, xf) = (44_100u64, 22_050usize);
    if let Some(_dir) = child_dir() {
        let mut p = Player::open(&test_config()).unwrap();
        p.start(source(&old), 0.0).unwrap();
        p.schedule(
            at,
            Command::Replace {
                source: source(&new),
                crossfade_frames: xf as u32,
                curve: CrossfadeCurve::Linear,
            },
        )
        .unwrap();
        p.schedule(at + 3 * SR as u64, Command::SkipStep(1))
            .unwrap();
        p.schedule(at + 4 * SR as u64, Command::SetVolume(0.5))
            .unwrap();
        play_until(&mut p, at + 5 * SR as u64);
        let st = p.status();
        assert_eq!(
            (st.state, st.step, st.volume),
            (State::Playing, Some(1), 0.5)
        );
        return;
    }
    let dir = run_child(
        "capture_update_track_crossfades_to_new_beat",
        capture_conf,
        Duration::from_secs(60),
    );
    let cap = read_capture(&dir);
    let at = at as usize;
    let beat = |a: usize, b: usize| {
        let fl = measure::dominant_frequency(&left(&cap[2 * a..2 * b]), SR as f64, 20.0, 1000.0);
        let fr = measure::dominant_frequency(&right(&cap[2 * a..2 * b]), SR as f64, 20.0, 1000.0);
        (fl, fr)
    };
    let (l0, r0) = beat(4410, at);
    assert!(
        (l0 - 195.0).abs() < 0.2 && (r0 - 205.0).abs() < 0.2,
        "before: {l0} / {r0}"
    );
    let (l1, r1) = beat(at + xf, at + xf + 2 * SR as usize);
    assert!(
        (l1 - 198.0).abs() < 0.2 && (r1 - 202.0).abs() < 0.2,
        "after: {l1} / {r1}"
    );
    // Exactly the new track from the end of the crossfade (same position: no jump in time).
    assert_same(
        &cap,
        at + xf,
        &offline(&new, (at + xf) as u64, 2 * SR as usize),
        "after the crossfade",
    );
    // Inside the crossfade: the linear mix of both renders.
    let (a, b) = (offline(&old, at as u64, xf), offline(&new, at as u64, xf));
    for i in (0..xf).step_by(97) {
        let g = (i + 1) as f32 / xf as f32;
        let want = a[2 * i] * (1.0 - g) + b[2 * i] * g;
        assert!(
            (cap[2 * (at + i)] - want).abs() < 1e-5,
            "crossfade frame {i}"
        );
    }
    // SkipStep(1) at +3 s: step 2 is 300 Hz / 6 Hz beat (297/303 Hz).
    let skip = at + 3 * SR as usize;
    let (l2, r2) = beat(skip + 2 * FADE, skip + SR as usize);
    assert!(
        (l2 - 297.0).abs() < 0.3 && (r2 - 303.0).abs() < 0.3,
        "after skip: {l2} / {r2}"
    );
    assert_same(
        &cap,
        skip + 2 * FADE,
        &offline(&new, 20 * SR as u64 + FADE as u64, 10_000),
        "step 2 start",
    );
    // SetVolume(0.5) at +4 s: level drops by 6.02 dB after the ramp.
    let v = skip + SR as usize;
    let db0 = measure::rms_dbfs(&left(&cap[2 * (v - 20_000)..2 * v]));
    let db1 = measure::rms_dbfs(&left(&cap[2 * (v + 1000)..2 * (v + 21_000)]));
    assert!((db0 - db1 - 6.02).abs() < 0.1, "volume {db0} -> {db1}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A source that allocates in `render_block`: the callback's guard must see it (proves the
/// allocation checks of the other device tests can fail).
#[test]
fn capture_alloc_guard_sees_an_allocating_source() {
    struct Leaky(u64);
    impl Source for Leaky {
        fn sample_rate(&self) -> u32 {
            SR
        }
        fn total_frames(&self) -> Option<u64> {
            None
        }
        fn position(&self) -> u64 {
            self.0
        }
        fn render_block(&mut self, out: &mut [f32]) -> usize {
            let v = std::hint::black_box(vec![0.0f32; out.len()]);
            out.copy_from_slice(&v);
            self.0 += out.len() as u64 / 2;
            out.len() / 2
        }
        fn seek(&mut self, f: u64) {
            self.0 = f;
        }
    }
    if child_dir().is_some() {
        let mut p = Player::open(&test_config()).unwrap();
        p.start(Box::new(Leaky(0)), 0.0).unwrap();
        p.start_device().unwrap();
        assert!(p.wait_output_frames(10_000, Duration::from_secs(20)));
        let v = p.status().alloc_violations;
        assert!(v > 0, "allocations in the callback were not counted");
        return;
    }
    let dir = run_child(
        "capture_alloc_guard_sees_an_allocating_source",
        capture_conf,
        Duration::from_secs(60),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// No usable default device and an unknown named device: documented errors, fast, no panic.
#[test]
fn missing_device_is_a_clear_error() {
    if child_dir().is_some() {
        let t0 = Instant::now();
        let cfg = PlayerConfig {
            sample_rate: Some(SR),
            ..PlayerConfig::default()
        };
        match Player::open(&cfg) {
            Err(PlayerError::NoDevice(msg)) => {
                assert!(
                    msg.contains("default") && msg.contains("no sound card"),
                    "{msg}"
                );
                println!("default: {}", PlayerError::NoDevice(msg));
            }
            Err(e) => panic!("wrong error: {e:?}"),
            Ok(_) => panic!("opened a device that does not exist"),
        }
        let cfg = PlayerConfig {
            device: Some("no_such_device".into()),
            ..cfg
        };
        match Player::open(&cfg) {
            Err(e @ PlayerError::DeviceNotFound { .. }) => {
                assert!(e.to_string().contains("'no_such_device' not found"), "{e}");
                println!("named: {e}");
            }
            Err(e) => panic!("wrong error: {e:?}"),
            Ok(_) => panic!("opened a device that does not exist"),
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "took {:?}",
            t0.elapsed()
        );
        return;
    }
    // An ALSA configuration that defines no PCM at all (like a server without a sound card).
    let dir = run_child(
        "missing_device_is_a_clear_error",
        |_| "# nothing\n".into(),
        Duration::from_secs(30),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A named device chosen by id (an ALSA PCM with a hint) at a rate other than the default.
#[test]
fn capture_named_device_at_48k() {
    let json = spec(200.0, 10.0);
    if child_dir().is_some() {
        let cfg = PlayerConfig {
            device: Some("testcap".into()),
            sample_rate: Some(48_000),
            ..test_config()
        };
        let mut p = Player::open(&cfg).unwrap();
        assert_eq!(p.device_name(), "alsa:testcap");
        assert_eq!(p.sample_rate(), 48_000);
        p.start(source(&Spec { sr: 48_000, ..json }), 0.0).unwrap();
        play_until(&mut p, 48_000);
        let st = p.status();
        assert!(
            st.state == State::Playing && st.position_frames >= 48_000 - 480,
            "{st:?}"
        );
        return;
    }
    let conf = |d: &Path| {
        format!(
            "pcm.testcap {{ type file slave.pcm {{ type null }} file \"{}/capture.raw\" format \"raw\" hint {{ show on description \"test capture\" }} }}\n",
            d.display()
        )
    };
    let dir = run_child("capture_named_device_at_48k", conf, Duration::from_secs(60));
    let cap = read_capture(&dir);
    // The null device defaults to F32 stereo; this checks the 48 kHz render of the carriers.
    let l = left(&cap[2 * 4800..2 * 48_000]);
    let fl = measure::dominant_frequency(&l, 48_000.0, 20.0, 1000.0);
    let rms: Vec<f64> = cap.chunks(2 * 4800).take(12).map(measure::rms).collect();
    assert!(
        (fl - 195.0).abs() < 0.2,
        "{fl}; {} frames, rms per 0.1 s {rms:?}",
        cap.len() / 2
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real example track 01 through the session-track engine: carriers 195 / 205 Hz and the
/// exact offline render.
#[test]
fn capture_real_track() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/tracks/01_binaural_alpha_10hz.json"
    );
    let make = || -> Box<dyn Source> {
        let track =
            Track::from_path(Path::new(path), LoadOptions::default()).expect("example track");
        Box::new(
            SessionSource::new(
                &track,
                RenderOptions {
                    sample_rate: Some(SR),
                    target_level: None,
                },
            )
            .expect("source"),
        )
    };
    if child_dir().is_some() {
        let mut p = Player::open(&test_config()).unwrap();
        p.start(make(), 0.0).unwrap();
        play_until(&mut p, 3 * SR as u64);
        return;
    }
    let dir = run_child("capture_real_track", capture_conf, Duration::from_secs(60));
    let cap = read_capture(&dir);
    let mut reference = vec![0.0; 2 * 3 * SR as usize];
    make().render_block(&mut reference);
    assert_same(&cap, FADE, &reference[2 * FADE..], "real track");
    let fl =
        measure::dominant_frequency(&left(&cap[..2 * 3 * SR as usize]), SR as f64, 20.0, 1000.0);
    let fr =
        measure::dominant_frequency(&right(&cap[..2 * 3 * SR as usize]), SR as f64, 20.0, 1000.0);
    assert!(
        (fl - 195.0).abs() < 0.2 && (fr - 205.0).abs() < 0.2,
        "carriers {fl} / {fr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
