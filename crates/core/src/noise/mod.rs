//! Coloured noise and the swept-notch noise voice (FORMAT §10.5, §8).

// Placeholder until the noise module lands (another branch).
pub fn build_noise_voice(
    _transition: bool,
    params: &crate::track::params::Params,
    _ctx: &crate::voices::VoiceContext,
) -> Result<Box<dyn crate::voices::Voice>, crate::TrackError> {
    Err(crate::TrackError::Unsupported {
        file: params.file.to_string(),
        path: params.path.clone(),
        name: "noise_swept_notch".into(),
    })
}

/// Placeholder until the noise module lands (another branch).
pub struct BackgroundNoise;

impl BackgroundNoise {
    pub fn from_json(
        _obj: &serde_json::Map<String, serde_json::Value>,
        _base_dir: Option<&std::path::Path>,
        _file: &str,
        _sample_rate: u32,
        _track_frames: u64,
    ) -> Result<Option<Self>, crate::TrackError> {
        Ok(None)
    }
    pub fn render(&mut self, _pos: u64, _left: &mut [f32], _right: &mut [f32]) {}
    pub fn peak_bound(&self) -> f32 {
        0.0
    }
}
