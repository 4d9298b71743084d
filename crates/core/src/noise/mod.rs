//! Coloured noise and the swept-notch noise voice (FORMAT §10.5, §8).
//!
//! * [`ColoredNoise`]: seekable, deterministic stereo coloured noise (frequency-domain shaping,
//!   overlap-added frames; any position costs two frames). RMS [`NOISE_RMS`] per channel.
//! * [`NoiseSweptNotch`]: the `noise_swept_notch` voice (alias `noise`) and its `_transition`
//!   variant: coloured noise through cascaded RBJ notch biquads whose centres an LFO sweeps.
//!   Built by [`build_noise_voice`].
//! * [`BackgroundNoise`]: the track-long noise bed of §8.
//!
//! Levels: the unit noise has RMS `1 / 6.5` and is hard-limited at 1.0 (6.5 sigma: a sample
//! reaches it with probability < 1.3e-9), so a voice's `peak_bound()` is exactly
//! `amp * amplitude` and the mixer's group normalization can never clip.

mod background;
mod color;
mod config;
mod generator;
mod notch;
mod voice;

#[cfg(test)]
mod tests;

pub use background::BackgroundNoise;
pub use color::ColorSpec;
pub use config::{LfoWave, NoiseConfig, Sweep};
pub use generator::{ColoredNoise, FRAME, NOISE_RMS, PEAK_SIGMAS};
pub use voice::NoiseSweptNotch;

use crate::TrackError;
use crate::dsp::transition::Ramp;
use crate::track::params::Params;
use crate::voices::{Voice, VoiceContext};

/// Builds a `noise_swept_notch` voice (`transition = false`) or its `_transition` variant
/// from its params. `ctx.seed` seeds the noise unless the params give `seed`.
pub fn build_noise_voice(
    transition: bool,
    params: &Params,
    ctx: &VoiceContext,
) -> Result<Box<dyn Voice>, TrackError> {
    let cfg = NoiseConfig::from_params(params, transition, ctx.seed)?;
    let ramp = if transition {
        Ramp::from_params(params, ctx.step_duration, ctx.sample_rate)?
    } else {
        Ramp::none()
    };
    Ok(Box::new(NoiseSweptNotch::new(&cfg, ctx.sample_rate, ramp)))
}
