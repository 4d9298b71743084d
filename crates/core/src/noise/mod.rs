//! Coloured noise and the swept-notch noise voice (FORMAT §10.5, §8).
pub fn build_noise_voice(
    transition: bool,
    params: &crate::track::params::Params,
    ctx: &crate::voices::VoiceContext,
) -> Result<Box<dyn crate::voices::Voice>, crate::TrackError> {
    Err(crate::TrackError::Unsupported {
        file: params.file.to_string(),
        path: params.path.clone(),
        name: "noise_swept_notch".into(),
    })
}
