//! Serde structs mirroring the file format exactly (FORMAT.md §2-§9): every alias, every
//! optional key. Validation and defaults live in [`super::load`].

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Booleans as JSON `true`/`false` or `0`/`1` (FORMAT §1: "Ours: also accept 0/1").
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(Some(true)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a boolean (true/false or 0/1), found {other}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
pub struct RawTrack {
    #[serde(alias = "globalSettings", alias = "global")]
    pub global_settings: RawGlobal,
    #[serde(alias = "progression")]
    pub steps: Vec<RawStep>,
    #[serde(alias = "noise", default)]
    pub background_noise: Option<Map<String, Value>>,
    #[serde(alias = "overlay_clips", default)]
    pub clips: Option<Vec<RawClip>>,
}

#[derive(Debug, Deserialize)]
pub struct RawGlobal {
    #[serde(alias = "sampleRate")]
    pub sample_rate: f64,
    #[serde(alias = "crossfadeDuration", default)]
    pub crossfade_duration: Option<f64>,
    #[serde(alias = "crossfadeCurve", default)]
    pub crossfade_curve: Option<String>,
    #[serde(alias = "outputFilename", default)]
    pub output_filename: Option<String>,
    #[serde(default)]
    pub normalization_level: Option<f64>,
    #[serde(default)]
    pub crossfade_overlap: Option<f64>,
    #[serde(default, deserialize_with = "flag")]
    pub preserve_relative_step_loudness: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct RawStep {
    #[serde(alias = "Duration", alias = "durationSeconds", alias = "stepDuration")]
    pub duration: f64,
    pub voices: Vec<RawVoice>,
    #[serde(default)]
    pub description: Option<String>,
    /// PY also reads `start_time` (FORMAT §4).
    #[serde(default, alias = "start_time")]
    pub start: Option<f64>,
    #[serde(default)]
    pub binaural_volume: Option<f64>,
    #[serde(default)]
    pub noise_volume: Option<f64>,
    #[serde(default)]
    pub normalization_level: Option<f64>,
    #[serde(default)]
    pub crossfade_duration: Option<f64>,
    #[serde(default)]
    pub crossfade_curve: Option<String>,
    #[serde(default)]
    pub crossfade_overlap: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct RawVoice {
    #[serde(alias = "synthFunctionName", alias = "synth_function")]
    pub synth_function_name: String,
    #[serde(alias = "parameters", default)]
    pub params: Option<Map<String, Value>>,
    #[serde(alias = "isTransition", default, deserialize_with = "flag")]
    pub is_transition: Option<bool>,
    #[serde(alias = "volumeEnvelope", default)]
    pub volume_envelope: Option<RawEnvelope>,
    #[serde(default)]
    pub voice_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    // Identity keys PY uses to match voices across steps for phase carry (FORMAT §4.2).
    #[serde(default)]
    pub voice_id: Option<Value>,
    #[serde(default, rename = "voiceId")]
    pub voice_id_camel: Option<Value>,
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default)]
    pub uuid: Option<Value>,
    #[serde(default)]
    pub guid: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct RawEnvelope {
    #[serde(rename = "type")]
    pub kind: String,
    /// Numbers only, as in RB (FORMAT §5.1).
    #[serde(default)]
    pub params: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Deserialize)]
pub struct RawClip {
    /// Missing or empty: no file (the audio must come from the caller, see
    /// `render::ClipSource`).
    #[serde(alias = "path", alias = "file", default)]
    pub file_path: String,
    #[serde(alias = "start_time", default)]
    pub start: Option<f64>,
    #[serde(alias = "gain", default)]
    pub amp: Option<f64>,
}
