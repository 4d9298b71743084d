//! Control latency on a real (paced) device: plays a track and sends a volume command every
//! `~97 ms` (not a multiple of the callback period, so commands land at every phase of it),
//! then prints the time from each call to the end of the callback block that carries its first
//! sample, and that plus the device delay (what reaches the speaker).
//!
//! `cargo run --release -p audio-playback --example control_latency -- T.json [SECONDS] [BUFFER] [DEVICE]`
//! (headless: under `eval "$(scripts/paced-audio.sh start)"`; on the unpaced capture device the
//! numbers mean nothing).

use audio_core::render::{RenderOptions, SessionSource};
use audio_core::track::{LoadOptions, Track};
use audio_playback::{Player, PlayerConfig};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: control_latency T.json [SECONDS] [BUFFER] [DEVICE]")?;
    let secs: f64 = args.get(2).map_or(Ok(10.0), |s| s.parse())?;
    let buffer: Option<u32> = args.get(3).map(|s| s.parse()).transpose()?;
    let device = args.get(4).cloned();
    let track = Track::from_path(std::path::Path::new(path), LoadOptions::default())?;
    let mut player = Player::open(&PlayerConfig {
        sample_rate: Some(track.sample_rate),
        buffer_frames: buffer,
        device,
        ..PlayerConfig::default()
    })?;
    let source = SessionSource::new(
        &track,
        RenderOptions {
            sample_rate: Some(player.sample_rate()),
            target_level: None,
        },
    )?;
    player.start(Box::new(source), 0.0)?;
    std::thread::sleep(Duration::from_millis(500)); // past the start-up fill
    let (mut wait, mut total) = (Vec::new(), Vec::new());
    let t0 = Instant::now();
    let mut gain = 1.0f32;
    while t0.elapsed().as_secs_f64() < secs {
        let applied = player.status().commands_applied;
        gain = if gain == 1.0 { 0.99 } else { 1.0 };
        player.set_volume(gain)?;
        let sent = Instant::now();
        while player.status().commands_applied == applied {
            player.check()?;
            if sent.elapsed() > Duration::from_secs(2) {
                return Err("a command was not applied within 2 s".into());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let st = player.status();
        wait.push((st.command_latency_secs - st.device_delay_secs) * 1e3);
        total.push(st.command_latency_secs * 1e3);
        std::thread::sleep(Duration::from_millis(97));
    }
    let st = player.status();
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        format!(
            "mean {mean:.2} ms, p50 {:.2}, p99 {:.2}, max {:.2}",
            v[v.len() / 2],
            v[(v.len() * 99 / 100).min(v.len() - 1)],
            v[v.len() - 1]
        )
    };
    println!(
        "{} commands on {} at {} Hz, {} frames per callback, underruns {}",
        wait.len(),
        player.device_name(),
        st.sample_rate,
        st.output_frames / st.callbacks.max(1),
        st.underruns
    );
    println!("call -> end of the block carrying it: {}", stats(&mut wait));
    println!("  + device delay (to the speaker):   {}", stats(&mut total));
    Ok(())
}
