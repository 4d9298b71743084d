//! `audio_core`: the engine's pure-DSP core.
//!
//! It knows nothing of Python, HTTP or audio devices. Everything that produces sound implements
//! [`Source`]: a block renderer with sample-exact `seek`, shared by file rendering, live playback
//! and streaming.
//!
//! * [`track`]: the session-track JSON model (every alias the editor writes), validation.
//! * [`dsp`]: small composable pieces: oscillators, LFO shapes, ramps, envelopes, pan, gates.
//! * [`voices`]: the synth functions (binaural beat, isochronic tone, QAM, monaural, ...).
//! * [`noise`]: coloured noise and the swept-notch noise voice.
//! * [`render`]: the step scheduler/mixer ([`render::SessionSource`]) and file output.

pub mod analysis;
#[cfg(feature = "decode")]
pub mod decode;
pub mod dsp;
pub mod error;
pub mod measure;
pub mod midi;
pub mod noise;
pub mod render;
pub mod reverb;
pub mod source;
pub mod track;
pub mod voices;
pub mod waveform;

pub use error::TrackError;
pub use source::Source;
