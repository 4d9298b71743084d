//! Synth voices: one type per synth function of FORMAT.md §10-§11, built from the small pieces
//! in [`crate::dsp`].
//!
//! A voice renders one step: sample `0` is the step start. It keeps its own step-relative
//! position, renders planar stereo blocks, and can [`Voice::seek`] to any position with the
//! state (phases) a full render would have there.

use crate::error::TrackError;
use crate::track::params::Params;

pub mod am;
pub mod binaural;
mod common;
pub mod isochronic;
pub mod monaural;
pub mod qam;
pub mod spatial;
mod stereo_tone;

/// Carrier phases in cycles (`[0, 1)`) of the two oscillators a voice carries across a step
/// boundary: left/right carriers (binaural, isochronic, QAM) or lower/upper tone (monaural).
pub type CarrierPhases = [f64; 2];

/// What a voice needs to know about its step and the track.
#[derive(Debug, Clone)]
pub struct VoiceContext {
    /// Output sample rate in Hz.
    pub sample_rate: u32,
    /// Step length in samples: `floor(duration * sr)`.
    pub step_frames: u64,
    /// Step duration in seconds (as written in the file).
    pub step_duration: f64,
    /// Carrier phases inherited from the matching voice of the previous step (phase carry,
    /// FORMAT §4.2); replaces the voice's own start phases when present.
    pub inherited_phases: Option<CarrierPhases>,
    /// Seed for random voices (noise), derived from the track position of the voice so that
    /// renders are reproducible.
    pub seed: u64,
}

/// A voice of one step.
pub trait Voice: Send {
    /// Renders the next `left.len()` frames (`left.len() == right.len()`), overwriting both
    /// buffers, and advances the position. Never allocates. Past the step end it keeps
    /// producing the signal (the scheduler decides what is used).
    fn render(&mut self, left: &mut [f32], right: &mut [f32]);

    /// Moves to step-relative sample `pos`, with the state a full render would have there.
    fn seek(&mut self, pos: u64);

    /// An upper bound of `|sample|` over the whole step, both channels, before the volume
    /// envelope. Used for the group normalization (FORMAT §6) without rendering twice.
    fn peak_bound(&self) -> f32;

    /// Carrier phases at step-relative sample `pos`, for voices whose phase carries over to
    /// the next step; `None` for the others.
    fn carrier_phases_at(&self, _pos: u64) -> Option<CarrierPhases> {
        None
    }
}

/// The synth functions this engine recognises (base names; the `_transition` flag is separate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SynthKind {
    BinauralBeat,
    IsochronicTone,
    QamBeat,
    MonauralBeatStereoAmps,
    NoiseSweptNotch,
    StereoAmIndependent,
    WaveShapeStereoAm,
    RhythmicWaveshaping,
    SpatialAngleModulation,
    // Known but not implemented yet: "not supported yet" errors.
    SubliminalEncode,
    DualPulseBinaural,
    HybridQamMonauralBeat,
    SpatialAngleModulationMonauralBeat,
    SpatialAngleModulationSam2,
    NoiseGenerator,
}

impl SynthKind {
    /// Every known base name with its kind.
    pub const ALL: &'static [(&'static str, SynthKind)] = &[
        ("binaural_beat", SynthKind::BinauralBeat),
        ("isochronic_tone", SynthKind::IsochronicTone),
        ("qam_beat", SynthKind::QamBeat),
        (
            "monaural_beat_stereo_amps",
            SynthKind::MonauralBeatStereoAmps,
        ),
        ("noise_swept_notch", SynthKind::NoiseSweptNotch),
        ("noise", SynthKind::NoiseSweptNotch),
        ("stereo_am_independent", SynthKind::StereoAmIndependent),
        ("wave_shape_stereo_am", SynthKind::WaveShapeStereoAm),
        ("rhythmic_waveshaping", SynthKind::RhythmicWaveshaping),
        (
            "spatial_angle_modulation",
            SynthKind::SpatialAngleModulation,
        ),
        ("subliminal_encode", SynthKind::SubliminalEncode),
        ("dual_pulse_binaural", SynthKind::DualPulseBinaural),
        ("hybrid_qam_monaural_beat", SynthKind::HybridQamMonauralBeat),
        (
            "spatial_angle_modulation_monaural_beat",
            SynthKind::SpatialAngleModulationMonauralBeat,
        ),
        (
            "spatial_angle_modulation_sam2",
            SynthKind::SpatialAngleModulationSam2,
        ),
        ("noise_generator", SynthKind::NoiseGenerator),
    ];

    /// Parses a function name as written in a file: returns the kind and whether the name
    /// carries the `_transition` suffix. `None` for unknown names.
    pub fn parse(name: &str) -> Option<(SynthKind, bool)> {
        let (base, transition) = match name.strip_suffix("_transition") {
            Some(b) => (b, true),
            None => (name, false),
        };
        let kind = Self::ALL
            .iter()
            .find(|(n, _)| *n == base)
            .map(|(_, k)| *k)?;
        if kind == SynthKind::SubliminalEncode && transition {
            return None; // no transition variant exists
        }
        Some((kind, transition))
    }

    /// True if this engine renders the function.
    pub fn is_supported(self) -> bool {
        !matches!(
            self,
            SynthKind::SubliminalEncode
                | SynthKind::DualPulseBinaural
                | SynthKind::HybridQamMonauralBeat
                | SynthKind::SpatialAngleModulationMonauralBeat
                | SynthKind::SpatialAngleModulationSam2
                | SynthKind::NoiseGenerator
        )
    }

    /// Canonical base name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Comma-separated list of every supported function name (for error messages).
    pub fn known_names() -> String {
        let mut v: Vec<String> = Vec::new();
        for (n, k) in Self::ALL.iter().filter(|(_, k)| k.is_supported()) {
            v.push(n.to_string());
            if *k != SynthKind::SubliminalEncode {
                v.push(format!("{n}_transition"));
            }
        }
        v.join(", ")
    }
}

/// Builds the voice for `kind` (transition variant if `transition`) from its params.
/// Errors name the JSON path of the bad parameter.
pub fn build_voice(
    kind: SynthKind,
    transition: bool,
    params: &Params,
    ctx: &VoiceContext,
) -> Result<Box<dyn Voice>, TrackError> {
    Ok(match kind {
        SynthKind::BinauralBeat => Box::new(binaural::Binaural::new(params, transition, ctx)?),
        SynthKind::IsochronicTone => {
            Box::new(isochronic::Isochronic::new(params, transition, ctx)?)
        }
        SynthKind::QamBeat => Box::new(qam::Qam::new(params, transition, ctx)?),
        SynthKind::MonauralBeatStereoAmps => {
            Box::new(monaural::Monaural::new(params, transition, ctx)?)
        }
        SynthKind::StereoAmIndependent => {
            Box::new(am::AmVoice::stereo_am_independent(params, transition, ctx)?)
        }
        SynthKind::WaveShapeStereoAm => {
            Box::new(am::AmVoice::wave_shape_stereo_am(params, transition, ctx)?)
        }
        SynthKind::RhythmicWaveshaping => {
            Box::new(am::AmVoice::rhythmic_waveshaping(params, transition, ctx)?)
        }
        SynthKind::SpatialAngleModulation => {
            Box::new(spatial::SpatialAngle::new(params, transition, ctx)?)
        }
        SynthKind::NoiseSweptNotch => {
            return crate::noise::build_noise_voice(transition, params, ctx);
        }
        _ => {
            return Err(TrackError::Unsupported {
                file: params.file.to_string(),
                path: params.path.clone(),
                name: kind.name().to_string(),
            });
        }
    })
}
