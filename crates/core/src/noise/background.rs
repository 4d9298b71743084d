//! The background-noise bed (FORMAT §8): a swept-notch noise for the whole track, delayed by
//! `start_time`, shaped by gain, fades and an amplitude envelope, added under the steps.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::config::NoiseConfig;
use super::voice::NoiseSweptNotch;
use crate::dsp::transition::{Curve, Ramp};
use crate::error::TrackError;
use crate::track::params::Params;
use crate::voices::Voice;

/// Seed of a bed whose preset gives none (RB's default).
const DEFAULT_SEED: u64 = 1;
const CHUNK: usize = 1024;

/// The background-noise bed. Renders by absolute track position: consecutive calls continue
/// the noise; a jump seeks it (the filter pre-roll makes that equal a full render < 1e-6).
pub struct BackgroundNoise {
    voice: NoiseSweptNotch,
    /// `amp` / `gain`.
    gain: f64,
    /// Track frame where the bed starts.
    start: u64,
    track_frames: u64,
    fade_in: f64,
    fade_out: f64,
    /// `(frame, gain)` points of `amp_envelope`, sorted by time.
    env: Vec<(f64, f64)>,
    /// Bed-relative position the voice will render next.
    next: u64,
    scratch: [Vec<f32>; 2],
}

/// Reads the one present key of `keys` (a canonical name and its aliases); two present is an
/// error, as in RB.
fn aliased<'a>(p: &'a Params, keys: &[&'a str]) -> Result<Option<&'a str>, TrackError> {
    let present: Vec<&str> = keys.iter().copied().filter(|k| p.has(k)).collect();
    match present.as_slice() {
        [] => Ok(None),
        [k] => Ok(Some(k)),
        [a, b, ..] => Err(p.error(b, format!("duplicate field: '{b}' is an alias of '{a}'"))),
    }
}

impl BackgroundNoise {
    /// Builds the bed from the track's `background_noise` object. `base_dir` resolves a
    /// relative preset path; `file` labels errors; `track_frames` is the track length.
    /// `Ok(None)` when there is no bed (empty path and no inline `params`). Reading the
    /// preset is the only I/O; its errors name the preset file.
    pub fn from_json(
        obj: &Map<String, Value>,
        base_dir: Option<&Path>,
        file: &str,
        sample_rate: u32,
        track_frames: u64,
    ) -> Result<Option<Self>, TrackError> {
        let p = Params::new(obj.clone(), Arc::from(file), "background_noise");
        let sr = sample_rate as f64;
        let path_key = aliased(&p, &["file_path", "file", "params_path", "noise_file"])?;
        let path = match path_key {
            Some(k) => p.string(k, "")?,
            None => String::new(),
        };
        let noise_params = if !path.trim().is_empty() {
            let full = match base_dir {
                Some(d) => d.join(path.trim()),
                None => Path::new(path.trim()).to_path_buf(),
            };
            let text = std::fs::read_to_string(&full).map_err(|source| TrackError::Io {
                path: full.clone(),
                source,
            })?;
            let label = full.display().to_string();
            let v: Value = serde_json::from_str(&text).map_err(|e| TrackError::Syntax {
                file: label.clone(),
                line: e.line(),
                column: e.column(),
                msg: e.to_string(),
            })?;
            match v {
                Value::Object(m) => Params::new(m, Arc::from(label.as_str()), "$"),
                _ => {
                    return Err(TrackError::invalid(
                        &label,
                        "$",
                        "a .noise preset must be a JSON object",
                    ));
                }
            }
        } else if p.has("params") {
            p.child("params")?
        } else {
            return Ok(None);
        };

        let gain = match aliased(&p, &["amp", "gain"])? {
            Some(k) => p.non_negative(k, 1.0)?,
            None => 1.0,
        };
        let start_s = match aliased(&p, &["start_time", "start_time_seconds"])? {
            Some(k) => p.non_negative(k, 0.0)?,
            None => 0.0,
        };
        let fade_in = p.non_negative("fade_in", 0.0)? * sr;
        let fade_out = p.non_negative("fade_out", 0.0)? * sr;
        let mut env = Vec::new();
        match p.get("amp_envelope") {
            None => {}
            Some(Value::Array(a)) => {
                for (i, pt) in a.iter().enumerate() {
                    let at = format!("background_noise.amp_envelope[{i}]");
                    let bad = || {
                        TrackError::invalid(
                            file,
                            at.clone(),
                            "expected a [time_s, gain] pair of numbers",
                        )
                    };
                    let (t, g) = match pt.as_array().map(|v| v.as_slice()) {
                        Some([t, g]) => (t.as_f64().ok_or_else(bad)?, g.as_f64().ok_or_else(bad)?),
                        _ => return Err(bad()),
                    };
                    if t < 0.0 || g < 0.0 {
                        return Err(TrackError::invalid(file, at, "time and gain must be >= 0"));
                    }
                    env.push((t * sr, g));
                }
                env.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            Some(_) => {
                return Err(p.error("amp_envelope", "expected a list of [time_s, gain] pairs"));
            }
        }

        let transition = noise_params.boolean("transition", false)?;
        let cfg = NoiseConfig::from_params(&noise_params, transition, DEFAULT_SEED)?;
        let start = (start_s * sr).round() as u64;
        let bed_frames = track_frames.saturating_sub(start);
        // A `transition` preset glides start -> end over the whole bed.
        let ramp = if transition {
            Ramp::new(0.0, bed_frames as f64, 1.0, Curve::Linear)
        } else {
            Ramp::none()
        };
        Ok(Some(BackgroundNoise {
            voice: NoiseSweptNotch::new(&cfg, sample_rate, ramp),
            gain,
            start,
            track_frames,
            fade_in,
            fade_out,
            env,
            next: 0,
            scratch: [vec![0.0; CHUNK], vec![0.0; CHUNK]],
        }))
    }

    /// Upper bound of `|sample|` the bed adds.
    pub fn peak_bound(&self) -> f32 {
        let env_max = if self.env.is_empty() {
            1.0
        } else {
            self.env.iter().fold(0.0f64, |m, p| m.max(p.1))
        };
        (self.gain * env_max) as f32 * self.voice.peak_bound()
    }

    /// `amp_envelope` at track frame `n`: linear between points, held outside.
    fn env_at(&self, n: f64) -> f64 {
        match self.env.as_slice() {
            [] => 1.0,
            [first, ..] if n <= first.0 => first.1,
            [.., last] if n >= last.0 => last.1,
            pts => {
                let i = pts.partition_point(|p| p.0 <= n);
                let (a, b) = (pts[i - 1], pts[i]);
                if b.0 > a.0 {
                    a.1 + (b.1 - a.1) * (n - a.0) / (b.0 - a.0)
                } else {
                    b.1
                }
            }
        }
    }

    /// Adds the bed for track frames `[pos_frames, pos_frames + left.len())` into the buffers.
    pub fn render(&mut self, pos_frames: u64, left: &mut [f32], right: &mut [f32]) {
        let a = pos_frames.max(self.start);
        let b = (pos_frames + left.len() as u64).min(self.track_frames);
        if a >= b {
            return;
        }
        let bed_pos = a - self.start;
        if bed_pos != self.next {
            self.voice.seek(bed_pos);
        }
        let [mut sl, mut sr] = std::mem::take(&mut self.scratch);
        let mut p = a;
        while p < b {
            let n = ((b - p) as usize).min(CHUNK);
            self.voice.render(&mut sl[..n], &mut sr[..n]);
            let off = (p - pos_frames) as usize;
            for j in 0..n {
                let t = p + j as u64;
                let q = (t - self.start) as f64;
                let mut g = self.gain * self.env_at(t as f64);
                if q < self.fade_in {
                    g *= q / self.fade_in;
                }
                let rem = (self.track_frames - t) as f64;
                if rem <= self.fade_out {
                    g *= rem / self.fade_out;
                }
                left[off + j] += sl[j] * g as f32;
                right[off + j] += sr[j] * g as f32;
            }
            p += n as u64;
        }
        self.scratch = [sl, sr];
        self.next = b - self.start;
    }
}
