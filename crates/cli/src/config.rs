//! `config.toml`: defaults for the CLI (`generate-config` writes a documented one).

use crate::CliError;
use serde::Deserialize;
use std::path::Path;

/// Settings read from `config.toml` (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub render: RenderConfig,
    pub playback: PlaybackConfig,
    pub gpu: GpuConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderConfig {
    /// wav16, wav24 or f32.
    pub format: Option<String>,
    /// Final peak level (0..1]; default: the track's normalization_level.
    pub target_level: Option<f64>,
    /// Render threads (0 = all cores).
    pub threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaybackConfig {
    /// Output device name (default device when absent).
    pub device: Option<String>,
    /// Frames per device buffer.
    pub buffer_frames: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpuConfig {
    /// Request the GPU path (none exists yet: the CPU path runs and says so).
    pub enabled: bool,
}

const DEFAULT: &str = r#"# realtime_backend configuration. Every key is optional.

[render]
# Sample format of written files: "wav16" (default), "wav24" or "f32".
format = "wav16"
# Final peak level in (0, 1]. Absent: the track's normalization_level (0.95 by default).
# 0.25 reproduces the editor's own renders.
# target_level = 0.95
# Render threads; 0 = all cores.
threads = 0

[playback]
# Output device name as listed by `realtime_backend devices`; absent = the default device.
# device = "default"
# Frames per device buffer (latency = buffer_frames / sample rate).
buffer_frames = 512

[gpu]
# There is no GPU path yet: when true the CPU path runs and a warning says so.
enabled = false
"#;

/// Loads `path` (a missing file gives the defaults only when `optional`).
pub fn load(path: &Path, optional: bool) -> Result<Config, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Config::default());
        }
        Err(e) => return Err(CliError::Input(format!("{}: {e}", path.display()))),
    };
    toml::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Writes the documented default configuration to `out`.
pub fn generate(out: &Path) -> Result<(), CliError> {
    std::fs::write(out, DEFAULT)
        .map_err(|e| CliError::Runtime(format!("{}: {e}", out.display())))?;
    println!("wrote {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_config_parses() {
        let c: super::Config = toml::from_str(super::DEFAULT).unwrap();
        assert_eq!(c.render.format.as_deref(), Some("wav16"));
        assert_eq!(c.playback.buffer_frames, Some(512));
        assert!(!c.gpu.enabled);
    }
}
