//! `play` through the paced headless device of `scripts/paced-audio.sh` (a JACK dummy server
//! behind the ALSA `jack` plugin): playback runs at real-time speed and the JACK graph carries
//! the track's carriers. Runs when `PACED_AUDIO_CONF` is set (`eval "$(scripts/paced-audio.sh
//! start)"`, as `.ci/run` does); otherwise it says why it did not run and passes.

use audio_core::measure::{deinterleave, dominant_frequency, rms};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn shared() -> PathBuf {
    std::env::var_os("SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    )
}

/// The JACK output ports of the client whose name starts with `prefix`, once they exist.
fn client_ports(prefix: &str, timeout: Duration) -> Vec<String> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        let o = Command::new("jack_lsp").output().expect("jack_lsp runs");
        let ports: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect();
        if ports.len() >= 2 {
            return ports;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no JACK ports for {prefix} after {timeout:?}");
}

#[test]
fn play_is_paced_and_reaches_jack() {
    let Some(conf) = std::env::var_os("PACED_AUDIO_CONF") else {
        eprintln!(
            "skipped: PACED_AUDIO_CONF is not set; start the paced device with \
             `eval \"$(scripts/paced-audio.sh start)\"` to run this test"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let track = shared().join("tracks/01_binaural_alpha_10hz.json");
    let t0 = Instant::now();
    let player = Command::new(env!("CARGO_BIN_EXE_realtime_backend"))
        .args(["play", "--duration", "3", "--buffer", "512"])
        .arg(&track)
        .env("ALSA_CONFIG_PATH", &conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The ALSA jack plugin names its client after the program; record 1 s of what it sends.
    let ports = client_ports(
        &format!("realtime_backend.P.{}.", player.id()),
        Duration::from_secs(5),
    );
    let wav = dir.path().join("rec.wav");
    let rec = Command::new("jack_rec")
        .arg("-f")
        .arg(&wav)
        .args(["-d", "1"])
        .args(&ports[..2])
        .output()
        .unwrap();
    assert!(rec.status.success(), "jack_rec: {rec:?}");
    let out = player.wait_with_output().unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Paced: 3 s of audio take about 3 s (the unpaced null device takes ~0.01 s). The stop
    // counts frames handed to the device, so the wall time is short by up to the buffer.
    assert!(
        (2.7..10.0).contains(&wall),
        "3 s of audio took {wall:.2} s: {err}"
    );
    assert!(err.contains("played 3.0 s"), "{err}");

    let mut r = hound::WavReader::open(&wav).unwrap();
    let sr = r.spec().sample_rate as f64;
    let x: Vec<f32> = r
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect();
    assert!(x.len() as f64 >= 2.0 * 0.9 * sr, "{} samples", x.len());
    let (l, rr) = deinterleave(&x);
    // The track: carriers 195 / 205 Hz (200 +- 10/2), amplitude 0.5 before the gain stage.
    for (ch, want) in [(&l, 195.0), (&rr, 205.0)] {
        let f = dominant_frequency(ch, sr, 50.0, 2000.0);
        assert!((f - want).abs() < 1.0, "peak {f:.2} Hz, want {want}");
        assert!(rms(ch) > 0.1, "rms {}", rms(ch));
    }
}
