//! Overlay clips (FORMAT §9): decoded once, mono duplicated to stereo, resampled to the
//! track rate, added from their start frame.

use crate::error::TrackError;
use crate::track::ClipSpec;

/// A decoded clip ready to mix.
pub struct Clip {
    start: u64,
    amp: f32,
    /// Interleaved stereo at the output rate.
    samples: Vec<f32>,
    peak: f32,
}

impl Clip {
    /// Decodes and resamples the clip file. Missing or undecodable files are errors naming the file.
    #[cfg(feature = "decode")]
    pub fn load(spec: &ClipSpec, sample_rate: u32) -> Result<Clip, TrackError> {
        use crate::decode::{DecodeError, decode_file, resample};
        let audio = decode_file(&spec.file).map_err(|e| match e {
            DecodeError::Io(source) => TrackError::Io {
                path: spec.file.clone(),
                source,
            },
            DecodeError::Format(msg) => TrackError::Decode {
                path: spec.file.clone(),
                msg,
            },
        })?;
        let stereo = audio.to_stereo();
        let samples = resample(&stereo, 2, audio.sample_rate, sample_rate).map_err(|msg| {
            TrackError::Decode {
                path: spec.file.clone(),
                msg,
            }
        })?;
        let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs())) * spec.amp as f32;
        Ok(Clip {
            start: (spec.start_seconds * sample_rate as f64).round() as u64,
            amp: spec.amp as f32,
            samples,
            peak,
        })
    }

    /// Without the `decode` feature clips cannot be read.
    #[cfg(not(feature = "decode"))]
    pub fn load(spec: &ClipSpec, _sample_rate: u32) -> Result<Clip, TrackError> {
        Err(TrackError::Decode {
            path: spec.file.clone(),
            msg: "built without audio decoding".into(),
        })
    }

    /// First frame after the clip.
    pub fn end(&self) -> u64 {
        self.start + (self.samples.len() / 2) as u64
    }

    /// Peak of the clip after its gain.
    pub fn peak_bound(&self) -> f32 {
        self.peak
    }

    /// Adds the clip's part of frames `[pos, pos + left.len())` into the buffers.
    pub fn add_to(&self, pos: u64, left: &mut [f32], right: &mut [f32]) {
        let n = left.len() as u64;
        if pos + n <= self.start || pos >= self.end() {
            return;
        }
        let a = pos.max(self.start);
        let b = (pos + n).min(self.end());
        for f in a..b {
            let i = (f - self.start) as usize * 2;
            let o = (f - pos) as usize;
            left[o] += self.samples[i] * self.amp;
            right[o] += self.samples[i + 1] * self.amp;
        }
    }
}
