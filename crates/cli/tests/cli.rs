//! The CLI as a user runs it: exit codes, messages, no partial files, sample-exact output.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_realtime_backend"))
}

fn shared() -> PathBuf {
    std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `render` on `json`; returns (exit code, stderr, whether any file appeared in the dir besides the input).
fn render_bad(json: &str) -> (i32, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "t.json", json);
    let out = dir.path().join("out.wav");
    let o = bin()
        .arg("render")
        .arg(&t)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        files > 1,
    )
}

const OK_VOICE: &str =
    r#"{"synth_function_name": "binaural_beat", "params": {"baseFreq": 200, "beatFreq": 10}}"#;

#[test]
fn syntax_error_names_line_and_column() {
    let (code, err, wrote) =
        render_bad("{\n  \"global_settings\": {\"sample_rate\": 44100},\n  \"steps\": [,]\n}");
    assert_eq!(code, 2);
    assert!(
        err.contains("t.json") && err.contains("line 3") && err.contains("column"),
        "{err}"
    );
    assert!(!wrote);
}

#[test]
fn wrong_type_missing_field_nan_unknown_function() {
    let cases = [
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"duration": "long", "voices": []}]}"#,
            "steps[0].duration",
        ),
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"voices": []}]}"#,
            "missing field `duration`",
        ),
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"duration": NaN, "voices": []}]}"#,
            "line 1",
        ),
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 5, "voices": [{"synth_function_name": "warp_drive"}]}]}"#,
            "unknown synth function 'warp_drive'",
        ),
        (
            r#"{"global_settings": {"sample_rate": 1000}, "steps": []}"#,
            "sample_rate",
        ),
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"duration": -5, "voices": []}]}"#,
            "steps[0].duration: must be a finite number >= 0",
        ),
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 5, "voices": [{"synth_function_name": "binaural_beat", "params": {"beatFreq": -3}}]}]}"#,
            "steps[0].voices[0].params.beatFreq",
        ),
        (
            r#"{"global_settings": {"sample_rate": 44100}, "steps": [{"duration": 90000, "voices": []}]}"#,
            "24 h",
        ),
    ];
    for (json, want) in cases {
        let (code, err, wrote) = render_bad(json);
        assert_eq!(code, 2, "{json}: {err}");
        assert!(err.contains(want), "{json}: expected {want:?} in {err}");
        assert!(!wrote, "{json}: left a file");
    }
}

#[test]
fn missing_clip_file_is_named() {
    let json = format!(
        r#"{{"global_settings": {{"sample_rate": 44100}}, "steps": [{{"duration": 2, "voices": [{OK_VOICE}]}}],
        "clips": [{{"path": "no_such_clip.wav", "start_time": 0.5}}]}}"#
    );
    let (code, err, wrote) = render_bad(&json);
    assert_eq!(code, 2);
    assert!(err.contains("no_such_clip.wav"), "{err}");
    assert!(!wrote);
}

#[test]
fn unknown_function_lenient_skips_with_warning() {
    let dir = tempfile::tempdir().unwrap();
    let json = format!(
        r#"{{"global_settings": {{"sample_rate": 44100}}, "steps": [{{"duration": 2, "voices": [{OK_VOICE}, {{"synth_function_name": "dual_pulse_binaural"}}]}}]}}"#
    );
    let t = write(dir.path(), "t.json", &json);
    let out = dir.path().join("o.wav");
    let o = bin()
        .args(["render", "--lenient"])
        .arg(&t)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not supported yet"));
    let r = hound::WavReader::open(&out).unwrap();
    assert_eq!(r.duration(), 2 * 44100);
}

#[test]
fn render_window_formats_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let t = shared().join("tracks/03_meditation_alpha_to_delta.json");
    for (fmt, bits) in [("wav16", 16), ("wav24", 24), ("f32", 32)] {
        let out = dir.path().join(format!("o_{fmt}.wav"));
        let o = bin()
            .args([
                "render",
                "--start",
                "10",
                "--duration",
                "2.5",
                "--rate",
                "48000",
                "--format",
                fmt,
            ])
            .arg(&t)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("x real time"), "{stdout}");
        let r = hound::WavReader::open(&out).unwrap();
        assert_eq!(r.spec().bits_per_sample, bits);
        assert_eq!(r.spec().sample_rate, 48000);
        assert_eq!(r.duration(), 120_000);
    }
}

#[test]
fn run_generate_writes_output_filename_next_to_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = format!(
        r#"{{"global_settings": {{"sample_rate": 22050, "output_filename": "sub/gen.wav"}}, "steps": [{{"duration": 1.5, "voices": [{OK_VOICE}]}}]}}"#
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let t = write(dir.path(), "t.json", &json);
    let o = bin()
        .args(["run", "--path"])
        .arg(&t)
        .args(["--generate", "true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = hound::WavReader::open(dir.path().join("sub/gen.wav")).unwrap();
    assert_eq!(r.duration(), 33075);
}

#[test]
fn generate_config_writes_toml() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("config.toml");
    let o = bin()
        .args(["generate-config", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("[render]") && text.contains("[playback]"));
}

#[test]
fn failed_write_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = shared().join("tracks/01_binaural_alpha_10hz.json");
    let out = dir.path().join("missing_dir/out.wav");
    let o = bin()
        .arg("render")
        .arg(&t)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
}

/// `play song.mid` through the real ALSA path (a `file` plugin over a `null` slave): the
/// capture holds the first notes of the C-major scale.
#[test]
fn play_midi_through_alsa_capture() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("asound.conf");
    let cap = dir.path().join("capture.raw");
    std::fs::write(
        &conf,
        format!("pcm.!default {{\n type file\n slave.pcm {{ type null }}\n file \"{}\"\n format \"raw\"\n}}\n", cap.display()),
    )
    .unwrap();
    let midi = shared().join("midi/01_melody_c_major_scale.mid");
    let o = bin()
        .args(["play", "--duration", "3", "--buffer", "512"])
        .arg(&midi)
        .env("ALSA_CONFIG_PATH", &conf)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&cap).unwrap();
    let x: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let left: Vec<f32> = x.iter().step_by(2).copied().collect();
    // The unpaced device may take silence before the transport starts (Player::held_frames):
    // the played audio begins at the first sound.
    let first = left
        .iter()
        .position(|v| v.abs() > 1e-6)
        .expect("the capture holds sound");
    let audio = &left[first..];
    assert!(
        audio.len() >= 3 * 44100 - 4410,
        "captured {} frames of audio",
        audio.len()
    );
    let audio = &audio[..3 * 44100 - 4410];
    let rms = (audio.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / audio.len() as f64).sqrt();
    assert!(rms > 0.01, "capture is quiet (rms {rms})");
    assert!(audio.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
}
