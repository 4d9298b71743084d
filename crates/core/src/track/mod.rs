//! The session-track JSON model: loading, aliases, validation, step placement.
//!
//! ```
//! use audio_core::track::{Track, LoadOptions};
//! let json = r#"{"global_settings": {"sample_rate": 44100},
//!   "steps": [{"duration": 5.0, "voices": [
//!     {"synth_function_name": "binaural_beat", "params": {"baseFreq": 200, "beatFreq": 10}}]}]}"#;
//! let track = Track::from_json_str(json, "<track>", None, LoadOptions::default()).unwrap();
//! assert_eq!(track.steps_frames, 5 * 44100);
//! ```

mod load;
pub mod params;
mod raw;

pub use load::{ClipSpec, LoadOptions, MAX_TRACK_SECONDS, Step, Track, VoiceGroup, VoiceSpec};
