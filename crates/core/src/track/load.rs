//! Loading and validating a track: JSON -> [`Track`] with placed steps and checked values.

use super::params::Params;
use super::raw::{RawClip, RawTrack, RawVoice};
use crate::dsp::crossfade::CrossfadeCurve;
use crate::error::TrackError;
use crate::voices::SynthKind;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Longest track accepted without [`LoadOptions::allow_long`]: 24 hours.
pub const MAX_TRACK_SECONDS: f64 = 24.0 * 3600.0;

/// How strictly to load.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Skip voices with unknown or not-yet-supported functions (with a warning) instead of failing.
    pub lenient: bool,
    /// Accept tracks longer than 24 hours.
    pub allow_long: bool,
}

/// Which normalization group a voice belongs to (FORMAT §6): decided by `voice_type` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceGroup {
    Binaural,
    Noise,
}

/// A validated voice of a step.
#[derive(Debug, Clone)]
pub struct VoiceSpec {
    /// JSON path, e.g. `steps[2].voices[0]`.
    pub path: String,
    pub kind: SynthKind,
    /// Play the `_transition` variant (PY rule: the `is_transition` flag decides).
    pub transition: bool,
    pub params: Params,
    /// `(type, params)` of the volume envelope, if any.
    pub envelope: Option<(String, BTreeMap<String, f64>)>,
    pub group: VoiceGroup,
    /// Identity for phase carry (`voice_id`/`voiceId`/`id`/`uuid`/`guid`), if the file has one.
    pub identity: Option<String>,
    pub description: String,
    /// The name as written in the file.
    pub function_name: String,
    pub voice_type: String,
}

/// A validated, placed step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index in the file's step list.
    pub index: usize,
    pub description: String,
    /// Duration in seconds as written.
    pub duration: f64,
    /// Placement on the timeline (FORMAT §4.1).
    pub start_seconds: f64,
    pub start_frame: u64,
    /// `floor(duration * sr)`.
    pub frames: u64,
    pub binaural_volume: f64,
    pub noise_volume: f64,
    pub normalization_level: f64,
    /// Crossfade *out of* this step: duration (s, already times overlap) and curve.
    pub crossfade_out_seconds: f64,
    pub crossfade_curve: CrossfadeCurve,
    pub voices: Vec<VoiceSpec>,
}

impl Step {
    /// First frame after the step.
    pub fn end_frame(&self) -> u64 {
        self.start_frame + self.frames
    }
}

/// An overlay clip reference.
#[derive(Debug, Clone)]
pub struct ClipSpec {
    /// JSON path of the clip (`clips[i]`), for messages.
    pub path: String,
    /// Resolved against the track's folder; empty when `file_path` is missing or empty (then
    /// rendering it is an error unless the caller supplies its audio, see
    /// `render::ClipSource`).
    pub file: PathBuf,
    pub start_seconds: f64,
    pub amp: f64,
}

/// A loaded and validated session track.
#[derive(Debug, Clone)]
pub struct Track {
    /// File name used in messages (`<track>` for in-memory JSON).
    pub label: Arc<str>,
    /// Folder that relative paths (clips, noise presets, output) resolve against.
    pub base_dir: Option<PathBuf>,
    pub sample_rate: u32,
    pub crossfade_curve: CrossfadeCurve,
    pub output_filename: Option<String>,
    /// Global `normalization_level` (default 0.95); also the default final peak target.
    pub normalization_level: f64,
    /// Steps in play order, zero-length steps removed.
    pub steps: Vec<Step>,
    /// The raw `background_noise` object, if present (built by the noise module).
    pub background_noise: Option<Map<String, Value>>,
    pub clips: Vec<ClipSpec>,
    /// Track length from the steps alone, in frames (clips may extend it when decoded).
    pub steps_frames: u64,
    /// Warnings raised while loading (also logged).
    pub warnings: Vec<String>,
}

fn finite_non_negative(file: &str, path: &str, x: f64) -> Result<f64, TrackError> {
    if !x.is_finite() || x < 0.0 {
        return Err(TrackError::invalid(
            file,
            path,
            "must be a finite number >= 0",
        ));
    }
    Ok(x)
}

fn identity(v: &RawVoice) -> Option<String> {
    [&v.voice_id, &v.voice_id_camel, &v.id, &v.uuid, &v.guid]
        .into_iter()
        .flatten()
        .find(|x| !x.is_null())
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

impl Track {
    /// Loads a track file. Relative paths inside it resolve against its folder.
    pub fn from_path(path: &Path, opts: LoadOptions) -> Result<Track, TrackError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrackError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let label = path.display().to_string();
        let base = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        });
        Track::from_json_str(&text, &label, base, opts)
    }

    /// Loads a track from JSON text. `label` names it in messages; `base_dir` resolves paths.
    pub fn from_json_str(
        text: &str,
        label: &str,
        base_dir: Option<PathBuf>,
        opts: LoadOptions,
    ) -> Result<Track, TrackError> {
        let file: Arc<str> = Arc::from(label);
        let mut de = serde_json::Deserializer::from_str(text);
        let mut ignored: Vec<String> = Vec::new();
        let raw: RawTrack = {
            let mut note = |p: serde_ignored::Path<'_>| ignored.push(p.to_string());
            let ig = serde_ignored::Deserializer::new(&mut de, &mut note);
            serde_path_to_error::deserialize(ig).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                use serde_json::error::Category;
                match inner.classify() {
                    Category::Syntax | Category::Eof | Category::Io => TrackError::Syntax {
                        file: label.to_string(),
                        line: inner.line(),
                        column: inner.column(),
                        msg: strip_position(&inner.to_string()),
                    },
                    Category::Data => TrackError::invalid(
                        label,
                        if path == "." {
                            "(top level)".to_string()
                        } else {
                            path
                        },
                        format!(
                            "{} (line {}, column {})",
                            strip_position(&inner.to_string()),
                            inner.line(),
                            inner.column()
                        ),
                    ),
                }
            })?
        };
        de.end().map_err(|e| TrackError::Syntax {
            file: label.to_string(),
            line: e.line(),
            column: e.column(),
            msg: strip_position(&e.to_string()),
        })?;
        for p in &ignored {
            log::debug!("{label}: ignoring unknown key {p}");
        }
        Track::validate(raw, file, base_dir, opts)
    }

    fn validate(
        raw: RawTrack,
        file: Arc<str>,
        base_dir: Option<PathBuf>,
        opts: LoadOptions,
    ) -> Result<Track, TrackError> {
        let f = &*file;
        let mut warnings = Vec::new();
        let g = &raw.global_settings;
        let sr = g.sample_rate;
        if !(sr.is_finite() && sr.fract() == 0.0 && (8000.0..=384_000.0).contains(&sr)) {
            return Err(TrackError::invalid(
                f,
                "global_settings.sample_rate",
                format!("must be an integer between 8000 and 384000 Hz, got {sr}"),
            ));
        }
        let sample_rate = sr as u32;
        let crossfade = match g.crossfade_duration {
            Some(x) => finite_non_negative(f, "global_settings.crossfade_duration", x)?,
            None => {
                log::info!("{f}: no crossfade_duration, using 3.0 s");
                3.0
            }
        };
        let curve = CrossfadeCurve::parse(g.crossfade_curve.as_deref().unwrap_or("linear"));
        let overlap = g.crossfade_overlap.unwrap_or(1.0).clamp(0.0, 1.0);
        let norm = match g.normalization_level {
            Some(x) if (0.0..=1.0).contains(&x) => x,
            Some(x) => {
                return Err(TrackError::invalid(
                    f,
                    "global_settings.normalization_level",
                    format!("must be in [0, 1], got {x}"),
                ));
            }
            None => 0.95,
        };
        if g.preserve_relative_step_loudness == Some(true) {
            let w = format!(
                "{f}: preserve_relative_step_loudness is not implemented; steps keep their own levels"
            );
            log::warn!("{w}");
            warnings.push(w);
        }

        let mut steps: Vec<Step> = Vec::new();
        let mut prev: Option<(f64, f64, f64)> = None; // (start, duration, crossfade out)
        for (i, rs) in raw.steps.iter().enumerate() {
            let sp = format!("steps[{i}]");
            if !rs.duration.is_finite() || rs.duration < 0.0 {
                return Err(TrackError::invalid(
                    f,
                    format!("{sp}.duration"),
                    "must be a finite number >= 0",
                ));
            }
            let xd = match rs.crossfade_duration {
                Some(x) => finite_non_negative(f, &format!("{sp}.crossfade_duration"), x)?,
                None => crossfade,
            };
            let xo = rs
                .crossfade_overlap
                .map(|x| x.clamp(0.0, 1.0))
                .unwrap_or(overlap);
            let xcurve = rs
                .crossfade_curve
                .as_deref()
                .map(CrossfadeCurve::parse)
                .unwrap_or(curve);
            let start = match rs.start {
                Some(s) => finite_non_negative(f, &format!("{sp}.start"), s)?,
                None => match prev {
                    None => 0.0,
                    Some((ps, pd, px)) => (ps + pd - px).max(0.0),
                },
            };
            if rs.duration == 0.0 {
                log::info!("{f}: {sp} has zero duration and is skipped");
                continue;
            }
            let vol = |x: Option<f64>, k: &str| -> Result<f64, TrackError> {
                finite_non_negative(f, &format!("{sp}.{k}"), x.unwrap_or(0.48))
            };
            let binaural_volume = vol(rs.binaural_volume, "binaural_volume")?;
            let noise_volume = vol(rs.noise_volume, "noise_volume")?;
            let normalization_level = match rs.normalization_level {
                Some(x) if (0.0..=1.0).contains(&x) => x,
                Some(x) => {
                    return Err(TrackError::invalid(
                        f,
                        format!("{sp}.normalization_level"),
                        format!("must be in [0, 1], got {x}"),
                    ));
                }
                None => norm,
            };
            let mut voices = Vec::new();
            for (j, rv) in rs.voices.iter().enumerate() {
                let vp = format!("{sp}.voices[{j}]");
                let name = rv.synth_function_name.as_str();
                let Some((kind, named_transition)) = SynthKind::parse(name) else {
                    if opts.lenient {
                        let w =
                            format!("{f}: {vp}: unknown synth function '{name}', voice skipped");
                        log::warn!("{w}");
                        warnings.push(w);
                        continue;
                    }
                    return Err(TrackError::UnknownFunction {
                        file: f.to_string(),
                        path: format!("{vp}.synth_function_name"),
                        name: name.to_string(),
                        known: SynthKind::known_names(),
                    });
                };
                if !kind.is_supported() {
                    if opts.lenient {
                        let w = format!(
                            "{f}: {vp}: synth function '{name}' is not supported yet, voice skipped"
                        );
                        log::warn!("{w}");
                        warnings.push(w);
                        continue;
                    }
                    return Err(TrackError::Unsupported {
                        file: f.to_string(),
                        path: format!("{vp}.synth_function_name"),
                        name: name.to_string(),
                    });
                }
                // PY rule: the flag decides which variant plays (FORMAT §5).
                let transition = match rv.is_transition {
                    Some(flag) => {
                        if flag != named_transition {
                            log::info!(
                                "{f}: {vp}: is_transition={flag} but the name is '{name}'; playing the {} variant",
                                if flag { "transition" } else { "base" }
                            );
                        }
                        flag
                    }
                    None => named_transition,
                };
                let voice_type = rv
                    .voice_type
                    .clone()
                    .unwrap_or_else(|| "binaural".to_string());
                let group = if voice_type.eq_ignore_ascii_case("noise") {
                    VoiceGroup::Noise
                } else {
                    VoiceGroup::Binaural
                };
                let params = Params::new(
                    rv.params.clone().unwrap_or_default(),
                    file.clone(),
                    format!("{vp}.params"),
                );
                let envelope = rv
                    .volume_envelope
                    .as_ref()
                    .map(|e| (e.kind.clone(), e.params.clone().unwrap_or_default()));
                if let Some((_, ep)) = &envelope {
                    for (k, v) in ep {
                        if !v.is_finite() || *v < 0.0 && k != "start_amp" && k != "end_amp" {
                            return Err(TrackError::invalid(
                                f,
                                format!("{vp}.volume_envelope.params.{k}"),
                                "must be a finite number >= 0",
                            ));
                        }
                    }
                }
                voices.push(VoiceSpec {
                    path: vp,
                    kind,
                    transition,
                    params,
                    envelope,
                    group,
                    identity: identity(rv),
                    description: rv.description.clone().unwrap_or_default(),
                    function_name: name.to_string(),
                    voice_type,
                });
            }
            let start_frame = (start * sample_rate as f64).round() as u64;
            let frames = (rs.duration * sample_rate as f64).floor() as u64;
            prev = Some((start, rs.duration, xd * xo));
            steps.push(Step {
                index: i,
                description: rs.description.clone().unwrap_or_default(),
                duration: rs.duration,
                start_seconds: start,
                start_frame,
                frames,
                binaural_volume,
                noise_volume,
                normalization_level,
                crossfade_out_seconds: xd * xo,
                crossfade_curve: xcurve,
                voices,
            });
        }
        let steps_frames = steps.iter().map(|s| s.end_frame()).max().unwrap_or(0);

        let mut clips = Vec::new();
        for (i, c) in raw.clips.unwrap_or_default().iter().enumerate() {
            clips.push(clip_spec(f, i, c, base_dir.as_deref())?);
        }
        let length = steps_frames as f64 / sample_rate as f64;
        if !opts.allow_long && length > MAX_TRACK_SECONDS {
            return Err(TrackError::invalid(
                f,
                "steps",
                format!(
                    "track is {:.1} h long, over the 24 h limit (allow it explicitly to render anyway)",
                    length / 3600.0
                ),
            ));
        }
        let background_noise = raw.background_noise.filter(|m| !m.is_empty());
        Ok(Track {
            label: file,
            base_dir,
            sample_rate,
            crossfade_curve: curve,
            output_filename: g.output_filename.clone(),
            normalization_level: norm,
            steps,
            background_noise,
            clips,
            steps_frames,
            warnings,
        })
    }

    /// Length in seconds from the steps alone.
    pub fn steps_seconds(&self) -> f64 {
        self.steps_frames as f64 / self.sample_rate as f64
    }

    /// Resolves a path from the file against the track's folder.
    pub fn resolve(&self, p: &str) -> PathBuf {
        resolve(self.base_dir.as_deref(), p)
    }
}

fn resolve(base: Option<&Path>, p: &str) -> PathBuf {
    let pb = PathBuf::from(p);
    match base {
        Some(b) if pb.is_relative() => b.join(pb),
        _ => pb,
    }
}

fn clip_spec(f: &str, i: usize, c: &RawClip, base: Option<&Path>) -> Result<ClipSpec, TrackError> {
    let p = format!("clips[{i}]");
    let start_seconds = finite_non_negative(f, &format!("{p}.start"), c.start.unwrap_or(0.0))?;
    let amp = finite_non_negative(f, &format!("{p}.amp"), c.amp.unwrap_or(1.0))?;
    Ok(ClipSpec {
        path: p,
        file: if c.file_path.trim().is_empty() {
            PathBuf::new()
        } else {
            resolve(base, &c.file_path)
        },
        start_seconds,
        amp,
    })
}

/// serde_json appends " at line L column C"; we report position separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
