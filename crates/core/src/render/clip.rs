//! Overlay clips (FORMAT §9): decoded once, mono duplicated to stereo, resampled to the
//! track rate, added from their start frame.

use std::sync::Arc;

use crate::error::TrackError;
use crate::track::ClipSpec;

/// Where an overlay clip's audio comes from when a [`SessionSource`](super::SessionSource) is
/// built (see [`SessionSource::with_clip_sources`](super::SessionSource::with_clip_sources)).
#[derive(Debug, Clone, Default)]
pub enum ClipSource {
    /// Decode `clips[i].file_path` (the default, offline rendering). A missing, empty or
    /// undecodable file is an error.
    #[default]
    File,
    /// Decode the file when one is named; a clip with an empty `file_path` is silent (live
    /// playback: its audio is expected from the caller later).
    FileOrSilent,
    /// Caller-supplied audio, interleaved stereo f32 at the output rate (the file is not read).
    /// Shared, so rebuilding a source for a longer push copies nothing but the pointer.
    Samples(Arc<[f32]>),
    /// Silent placeholder, the file is not read (audio will be supplied later).
    Silent,
}

/// A decoded clip ready to mix.
pub struct Clip {
    start: u64,
    amp: f32,
    /// Interleaved stereo at the output rate.
    samples: Arc<[f32]>,
    peak: f32,
}

impl Clip {
    /// Builds clip `spec` from `source` (decoding its file where asked). Samples must be
    /// interleaved stereo (even count, finite).
    pub fn build(
        spec: &ClipSpec,
        source: &ClipSource,
        sample_rate: u32,
        label: &str,
    ) -> Result<Clip, TrackError> {
        let no_file = spec.file.as_os_str().is_empty();
        match source {
            ClipSource::File if no_file => Err(TrackError::invalid(
                label,
                format!("{}.file_path", spec.path),
                "must not be empty (no audio for this clip)",
            )),
            ClipSource::File | ClipSource::FileOrSilent if !no_file => {
                Clip::load(spec, sample_rate)
            }
            ClipSource::Samples(s) => Clip::from_samples(spec, s.clone(), sample_rate, label),
            _ => Clip::from_samples(spec, Arc::from(Vec::new()), sample_rate, label),
        }
    }

    /// A clip from caller-supplied interleaved stereo samples at `sample_rate`.
    ///
    /// Its peak bound is at least `amp` (nominal full scale), whatever the samples so far:
    /// a clip that arrives in pieces, or later, must not change the final gain of the rest of
    /// the mix when the source is rebuilt with more of it.
    pub fn from_samples(
        spec: &ClipSpec,
        samples: Arc<[f32]>,
        sample_rate: u32,
        label: &str,
    ) -> Result<Clip, TrackError> {
        if !samples.len().is_multiple_of(2) {
            return Err(TrackError::invalid(
                label,
                spec.path.clone(),
                format!(
                    "clip samples must be interleaved stereo (an even count), got {}",
                    samples.len()
                ),
            ));
        }
        if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
            return Err(TrackError::invalid(
                label,
                spec.path.clone(),
                format!("clip sample {i} is not finite"),
            ));
        }
        let peak = samples.iter().fold(1.0f32, |m, v| m.max(v.abs())) * spec.amp as f32;
        Ok(Clip {
            start: (spec.start_seconds * sample_rate as f64).round() as u64,
            amp: spec.amp as f32,
            samples,
            peak,
        })
    }

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
            samples: samples.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use crate::measure::{dominant_frequency, rms};
    use crate::render::{RenderOptions, SessionSource};
    use crate::track::{LoadOptions, Track};

    const SR: u32 = 44_100;

    /// 4 s of a 200 Hz tone with clip 0 at 1 s (`file_path` given by the caller).
    fn track(file_path: &str) -> Track {
        let json = format!(
            r#"{{"global_settings": {{"sample_rate": {SR}}},
              "steps": [{{"duration": 4, "voices": [{{"synth_function_name": "binaural_beat",
                "params": {{"ampL": 0.5, "ampR": 0.5, "baseFreq": 200, "beatFreq": 0}}}}]}}],
              "clips": [{{"file_path": "{file_path}", "start": 1.0, "amp": 1.0}}]}}"#
        );
        Track::from_json_str(&json, "<t>", None, LoadOptions::default()).unwrap()
    }

    fn tone(freq: f64, secs: f64) -> Arc<[f32]> {
        let n = (secs * SR as f64) as usize;
        (0..n)
            .flat_map(|i| {
                let x =
                    (0.5 * (2.0 * std::f64::consts::PI * freq * i as f64 / SR as f64).sin()) as f32;
                [x, x]
            })
            .collect()
    }

    fn render(src: &mut SessionSource, from_s: f64, secs: f64) -> Vec<f32> {
        src.seek((from_s * SR as f64) as u64);
        let mut out = vec![0.0f32; 2 * (secs * SR as f64) as usize];
        src.render_block(&mut out);
        out.chunks_exact(2).map(|f| f[0]).collect()
    }

    /// Level of `freq` in `x`: RMS of the projection on sin/cos (a one-bin DFT).
    fn level_at(x: &[f32], freq: f64) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * freq * i as f64 / SR as f64;
            s += v as f64 * ph.sin();
            c += v as f64 * ph.cos();
        }
        (s * s + c * c).sqrt() * 2.0 / x.len() as f64
    }

    #[test]
    fn samples_override_replaces_a_missing_clip_file() {
        let t = track("");
        let opts = RenderOptions::default();
        let pushed = ClipSource::Samples(tone(1000.0, 1.0));
        let mut src = SessionSource::with_clip_sources(&t, opts, &[pushed]).unwrap();
        // Before the clip: only the 200 Hz voice; during it: 1 kHz dominates (0.5 vs 0.5*gain
        // split with the voice, same amplitude order); after it: 200 Hz again.
        let before = render(&mut src, 0.2, 0.5);
        let during = render(&mut src, 1.2, 0.5);
        let after = render(&mut src, 2.2, 0.5);
        assert!((dominant_frequency(&before, SR as f64, 50.0, 5000.0) - 200.0).abs() < 1.0);
        assert!(
            level_at(&before, 1000.0) < 1e-3,
            "{}",
            level_at(&before, 1000.0)
        );
        let l = level_at(&during, 1000.0);
        let g = src.final_gain() as f64;
        assert!(
            (l - 0.5 * g).abs() < 0.01 * g,
            "1 kHz level {l}, expected {}",
            0.5 * g
        );
        assert!(level_at(&after, 1000.0) < 1e-3);
        // The clip starts sample-exactly at 1 s.
        let edge = render(&mut src, 1.0 - 100.0 / SR as f64, 200.0 / SR as f64);
        let without = {
            let mut s = SessionSource::with_clip_sources(&t, opts, &[ClipSource::Silent]).unwrap();
            render(&mut s, 1.0 - 100.0 / SR as f64, 200.0 / SR as f64)
        };
        for i in 0..200 {
            let d = (edge[i] - without[i]).abs();
            assert!(
                if i < 100 {
                    d == 0.0
                } else {
                    i == 100 || d > 0.0
                },
                "frame {i}: {d}"
            );
        }
    }

    #[test]
    fn silent_placeholder_and_pushed_clip_keep_the_same_final_gain() {
        // Rebuilding with more pushed audio must not change the level of the rest of the mix.
        let t = track("");
        let opts = RenderOptions::default();
        let silent = SessionSource::with_clip_sources(&t, opts, &[ClipSource::Silent]).unwrap();
        let part = ClipSource::Samples(tone(1000.0, 0.25));
        let pushed = SessionSource::with_clip_sources(&t, opts, &[part]).unwrap();
        assert_eq!(silent.final_gain(), pushed.final_gain());
        // The silent placeholder adds nothing: the output is the voice alone.
        let mut s = silent;
        let x = render(&mut s, 1.0, 1.0);
        assert!(level_at(&x, 1000.0) < 1e-4);
        assert!(rms(&x) > 0.1);
    }

    #[test]
    fn empty_path_is_an_error_offline_but_silent_when_asked() {
        let t = track("");
        let opts = RenderOptions::default();
        let e = SessionSource::new(&t, opts)
            .err()
            .expect("empty clip path accepted");
        assert!(e.to_string().contains("clips[0].file_path"), "{e}");
        let mut s =
            SessionSource::with_clip_sources(&t, opts, &[ClipSource::FileOrSilent]).unwrap();
        assert_eq!(s.total_frames(), Some(4 * SR as u64));
        assert!(level_at(&render(&mut s, 1.0, 1.0), 1000.0) < 1e-4);
        // A named file that does not exist stays an error, even with FileOrSilent.
        let t = track("/nonexistent/clip.wav");
        assert!(SessionSource::with_clip_sources(&t, opts, &[ClipSource::FileOrSilent]).is_err());
        // ... but not when the file is not read at all.
        assert!(SessionSource::with_clip_sources(&t, opts, &[ClipSource::Silent]).is_ok());
    }

    #[test]
    fn pushed_samples_must_be_stereo_and_finite_and_extend_the_track() {
        let t = track("");
        let opts = RenderOptions::default();
        let odd = ClipSource::Samples(Arc::from(vec![0.0f32; 3]));
        let e = SessionSource::with_clip_sources(&t, opts, &[odd])
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("clips[0]") && e.to_string().contains("even"),
            "{e}"
        );
        let nan = ClipSource::Samples(Arc::from(vec![0.0, f32::NAN]));
        assert!(SessionSource::with_clip_sources(&t, opts, &[nan]).is_err());
        // A 5 s clip at 1 s extends the 4 s track to 6 s, sample-exactly.
        let long = ClipSource::Samples(tone(1000.0, 5.0));
        let s = SessionSource::with_clip_sources(&t, opts, &[long]).unwrap();
        assert_eq!(s.total_frames(), Some(6 * SR as u64));
    }
}
