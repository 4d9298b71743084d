//! [`SessionSource`]: the step scheduler and mixer of a session track.
//!
//! Per block: every step that overlaps the block renders its voices, applies each voice's
//! volume envelope, sums them into the noise and binaural groups, scales each group by its
//! normalization gain (FORMAT §6), applies the step-to-step crossfade gains (§4.2), and adds
//! into the mix; then the background bed and clips are added and the final gain applied.
//! All buffers are allocated in [`SessionSource::new`]; rendering allocates nothing.

use super::clip::{Clip, ClipSource};
use crate::dsp::crossfade::CrossfadeCurve;
use crate::dsp::envelope::Envelope;
use crate::error::TrackError;
use crate::noise::BackgroundNoise;
use crate::source::Source;
use crate::track::{Track, VoiceGroup, VoiceSpec};
use crate::voices::{Voice, VoiceContext, build_voice};

/// Largest chunk the mixer renders at once; longer blocks are split (results do not depend on it).
pub const MAX_CHUNK: usize = 512;

/// Options for turning a [`Track`] into audio.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Output rate; `None` = the track's `sample_rate`. The voices are parametric, so any rate
    /// renders natively; only clips are resampled.
    pub sample_rate: Option<u32>,
    /// Final peak target (FORMAT §6 "Ours"); `None` = the track's `normalization_level`
    /// (0.95 by default). `0.25` reproduces the editor's files.
    pub target_level: Option<f64>,
}

struct VoiceSlot {
    voice: Box<dyn Voice>,
    envelope: Envelope,
    group: VoiceGroup,
    /// Step-relative position the voice will render next.
    pos: u64,
}

/// A crossfade on one side of a step: `len` frames from `start` (absolute).
#[derive(Debug, Clone, Copy)]
struct Fade {
    start: u64,
    len: u64,
    curve: CrossfadeCurve,
}

impl Fade {
    /// `(g_out, g_in)` at absolute frame `f` inside the fade (`r = i / (len - 1)`, both ends included).
    #[inline]
    fn gains(&self, f: u64) -> (f32, f32) {
        let i = f - self.start;
        let r = if self.len > 1 {
            i as f64 / (self.len - 1) as f64
        } else {
            1.0
        };
        self.curve.gains(r)
    }
}

struct StepSlot {
    start: u64,
    /// First frame no longer played (the step end, or where the next step took over).
    end: u64,
    voices: Vec<VoiceSlot>,
    binaural_gain: f32,
    noise_gain: f32,
    fade_in: Option<Fade>,
    fade_out: Option<Fade>,
    /// Peak bound of the step's output (sum of its group targets).
    bound: f32,
}

/// Scratch buffers for one chunk.
struct Scratch {
    vl: Vec<f32>,
    vr: Vec<f32>,
    bl: Vec<f32>,
    br: Vec<f32>,
    nl: Vec<f32>,
    nr: Vec<f32>,
    ml: Vec<f32>,
    mr: Vec<f32>,
}

impl Scratch {
    fn new() -> Self {
        let z = || vec![0.0f32; MAX_CHUNK];
        Scratch {
            vl: z(),
            vr: z(),
            bl: z(),
            br: z(),
            nl: z(),
            nr: z(),
            ml: z(),
            mr: z(),
        }
    }
}

/// A session track as a seekable block [`Source`].
pub struct SessionSource {
    sample_rate: u32,
    total: u64,
    pos: u64,
    steps: Vec<StepSlot>,
    step_starts: Vec<u64>,
    bed: Option<BackgroundNoise>,
    clips: Vec<Clip>,
    final_gain: f32,
    peak_bound: f32,
    clamped: u64,
    scratch: Scratch,
}

/// PY's voice matching for phase carry (FORMAT §4.2): identity, else description + type +
/// function, else index (same function only).
fn matching_voice(prev: &[VoiceSpec], v: &VoiceSpec, index: usize) -> Option<usize> {
    if let Some(id) = &v.identity {
        return prev.iter().position(|p| p.identity.as_ref() == Some(id));
    }
    if !v.description.is_empty()
        && let Some(i) = prev.iter().position(|p| {
            p.description == v.description && p.voice_type == v.voice_type && p.kind == v.kind
        })
    {
        return Some(i);
    }
    prev.get(index).filter(|p| p.kind == v.kind).map(|_| index)
}

/// Same functions, params, transition flags and voice types (RB then continues the voices
/// instead of crossfading).
fn identical_voices(a: &[VoiceSpec], b: &[VoiceSpec]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.function_name == y.function_name
                && x.transition == y.transition
                && x.voice_type.eq_ignore_ascii_case(&y.voice_type)
                && x.params.map() == y.params.map()
        })
}

/// Deterministic per-voice seed (splitmix64 of step and voice index).
fn voice_seed(step: usize, voice: usize) -> u64 {
    let mut z = (step as u64) << 32 ^ voice as u64 ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SessionSource {
    /// Builds the source: constructs every voice (validating its params), places steps and
    /// crossfades, decodes clips, and computes the gains. All I/O and allocation happens here.
    /// Every clip is decoded from its file ([`ClipSource::File`]).
    pub fn new(track: &Track, opts: RenderOptions) -> Result<Self, TrackError> {
        Self::with_clip_sources(track, opts, &[])
    }

    /// [`SessionSource::new`] with the audio of clip `i` taken from `clips[i]` (clips past
    /// the slice's end use [`ClipSource::File`]). Live playback uses it to mix audio the
    /// caller pushed instead of (or in the absence of) the clip files.
    pub fn with_clip_sources(
        track: &Track,
        opts: RenderOptions,
        clip_sources: &[ClipSource],
    ) -> Result<Self, TrackError> {
        let sr = opts.sample_rate.unwrap_or(track.sample_rate);
        if !(8000..=384_000).contains(&sr) {
            return Err(TrackError::invalid(
                &track.label,
                "sample_rate",
                format!("must be between 8000 and 384000 Hz, got {sr}"),
            ));
        }
        let srf = sr as f64;
        let mut steps: Vec<StepSlot> = Vec::with_capacity(track.steps.len());
        for (si, step) in track.steps.iter().enumerate() {
            let start = (step.start_seconds * srf).round() as u64;
            let frames = (step.duration * srf).floor() as u64;
            let mut voices: Vec<VoiceSlot> = Vec::with_capacity(step.voices.len());
            for (vi, spec) in step.voices.iter().enumerate() {
                // Phase carry from the matching voice of the previous step, at this step's start.
                let inherited = if si > 0 {
                    let prev_step = &track.steps[si - 1];
                    let prev_slot = &steps[si - 1];
                    matching_voice(&prev_step.voices, spec, vi).and_then(|pi| {
                        let offset = start.saturating_sub(prev_slot.start);
                        prev_slot.voices[pi].voice.carrier_phases_at(offset)
                    })
                } else {
                    None
                };
                let ctx = VoiceContext {
                    sample_rate: sr,
                    step_frames: frames,
                    step_duration: step.duration,
                    inherited_phases: inherited,
                    seed: voice_seed(step.index, vi),
                };
                let voice = build_voice(spec.kind, spec.transition, &spec.params, &ctx)?;
                let envelope = match &spec.envelope {
                    Some((kind, p)) => Envelope::from_spec(kind, p, frames, sr),
                    None => Envelope::flat(),
                };
                voices.push(VoiceSlot {
                    voice,
                    envelope,
                    group: spec.group,
                    pos: 0,
                });
            }
            // Group normalization from analytic peak bounds (FORMAT §6, "Ours").
            let group = |g: VoiceGroup, volume: f64| -> (f32, f32) {
                let bound: f32 = voices
                    .iter()
                    .filter(|v| v.group == g)
                    .map(|v| v.voice.peak_bound() * v.envelope.max())
                    .sum();
                if bound <= 0.0 {
                    return (0.0, 0.0);
                }
                let target = (step.normalization_level * volume.min(0.48)) as f32;
                (target / bound, target)
            };
            let (binaural_gain, bt) = group(VoiceGroup::Binaural, step.binaural_volume);
            let (noise_gain, nt) = group(VoiceGroup::Noise, step.noise_volume);
            let mut slot = StepSlot {
                start,
                end: start + frames,
                voices,
                binaural_gain,
                noise_gain,
                fade_in: None,
                fade_out: None,
                bound: bt + nt,
            };
            if si > 0 {
                let prev = &mut steps[si - 1];
                let prev_spec = &track.steps[si - 1];
                if start < prev.end {
                    if identical_voices(&prev_spec.voices, &step.voices) {
                        // Same voices: continue them (phases carried) without a fade.
                        prev.end = start;
                    } else {
                        let x = (prev_spec.crossfade_out_seconds * srf).round() as u64;
                        let len = x.min(prev.end - start);
                        if len == 0 {
                            prev.end = start;
                        } else {
                            let fade = Fade {
                                start,
                                len,
                                curve: prev_spec.crossfade_curve,
                            };
                            prev.fade_out = Some(fade);
                            prev.end = start + len;
                            slot.fade_in = Some(fade);
                        }
                    }
                }
            }
            steps.push(slot);
        }

        let steps_end = steps.iter().map(|s| s.end).max().unwrap_or(0);
        let mut clips = Vec::with_capacity(track.clips.len());
        for (i, c) in track.clips.iter().enumerate() {
            let from = clip_sources.get(i).unwrap_or(&ClipSource::File);
            clips.push(Clip::build(c, from, sr, &track.label)?);
        }
        let total = clips
            .iter()
            .map(|c| c.end())
            .max()
            .unwrap_or(0)
            .max(steps_end);
        let bed = match &track.background_noise {
            Some(obj) => {
                BackgroundNoise::from_json(obj, track.base_dir.as_deref(), &track.label, sr, total)?
            }
            None => None,
        };

        // Track peak bound: the largest step bound, crossfades by their curve, plus bed and clips.
        let mut bound = 0.0f32;
        for (i, s) in steps.iter().enumerate() {
            bound = bound.max(s.bound);
            if let (Some(f), Some(next)) = (s.fade_out, steps.get(i + 1)) {
                bound = bound.max(f.curve.peak_bound(s.bound, next.bound));
            }
        }
        bound += bed.as_ref().map_or(0.0, |b| b.peak_bound());
        bound += clips.iter().map(|c| c.peak_bound()).sum::<f32>();
        let target = opts.target_level.unwrap_or(track.normalization_level) as f32;
        let final_gain = if bound > 0.0 { target / bound } else { 1.0 };
        let step_starts = steps.iter().map(|s| s.start).collect();
        Ok(SessionSource {
            sample_rate: sr,
            total,
            pos: 0,
            steps,
            step_starts,
            bed,
            clips,
            final_gain,
            peak_bound: bound * final_gain,
            clamped: 0,
            scratch: Scratch::new(),
        })
    }

    /// Upper bound of the output's peak (at most the target level).
    pub fn peak_bound(&self) -> f32 {
        self.peak_bound
    }

    /// Gain applied after mixing (target level / track peak bound).
    pub fn final_gain(&self) -> f32 {
        self.final_gain
    }

    /// Samples the final safety stage had to limit (0 unless a peak bound was wrong).
    pub fn clamped_samples(&self) -> u64 {
        self.clamped
    }

    /// Renders frames `[p, p + n)` (n <= MAX_CHUNK) planar into the scratch mix buffers.
    fn render_chunk(&mut self, p: u64, n: usize) {
        let Scratch {
            vl,
            vr,
            bl,
            br,
            nl,
            nr,
            ml,
            mr,
        } = &mut self.scratch;
        ml[..n].fill(0.0);
        mr[..n].fill(0.0);
        let q = p + n as u64;
        for step in self.steps.iter_mut() {
            if step.end <= p || step.start >= q {
                continue;
            }
            let a = p.max(step.start);
            let b = q.min(step.end);
            let (off, m) = ((a - p) as usize, (b - a) as usize);
            let rel = a - step.start;
            let mut has_b = false;
            let mut has_n = false;
            for slot in step.voices.iter_mut() {
                if slot.pos != rel {
                    slot.voice.seek(rel);
                }
                slot.voice.render(&mut vl[..m], &mut vr[..m]);
                slot.pos = rel + m as u64;
                slot.envelope.apply(rel, &mut vl[..m], &mut vr[..m]);
                let (gl, gr, has) = match slot.group {
                    VoiceGroup::Binaural => (&mut *bl, &mut *br, &mut has_b),
                    VoiceGroup::Noise => (&mut *nl, &mut *nr, &mut has_n),
                };
                if *has {
                    for i in 0..m {
                        gl[i] += vl[i];
                        gr[i] += vr[i];
                    }
                } else {
                    gl[..m].copy_from_slice(&vl[..m]);
                    gr[..m].copy_from_slice(&vr[..m]);
                    *has = true;
                }
            }
            if !has_b {
                bl[..m].fill(0.0);
                br[..m].fill(0.0);
            }
            if !has_n {
                nl[..m].fill(0.0);
                nr[..m].fill(0.0);
            }
            let (kb, kn) = (step.binaural_gain, step.noise_gain);
            let faded = step.fade_in.is_some_and(|f| a < f.start + f.len)
                || step.fade_out.is_some_and(|f| b > f.start);
            if !faded {
                for i in 0..m {
                    ml[off + i] += bl[i] * kb + nl[i] * kn;
                    mr[off + i] += br[i] * kb + nr[i] * kn;
                }
            } else {
                for i in 0..m {
                    let f = a + i as u64;
                    let mut g = 1.0f32;
                    if let Some(fi) = step.fade_in
                        && f >= fi.start
                        && f < fi.start + fi.len
                    {
                        g *= fi.gains(f).1;
                    }
                    if let Some(fo) = step.fade_out
                        && f >= fo.start
                        && f < fo.start + fo.len
                    {
                        g *= fo.gains(f).0;
                    }
                    ml[off + i] += (bl[i] * kb + nl[i] * kn) * g;
                    mr[off + i] += (br[i] * kb + nr[i] * kn) * g;
                }
            }
        }
        if let Some(bed) = self.bed.as_mut() {
            bed.render(p, &mut ml[..n], &mut mr[..n]);
        }
        for c in self.clips.iter() {
            c.add_to(p, &mut ml[..n], &mut mr[..n]);
        }
    }
}

impl Source for SessionSource {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn total_frames(&self) -> Option<u64> {
        Some(self.total)
    }

    fn position(&self) -> u64 {
        self.pos
    }

    fn render_block(&mut self, out: &mut [f32]) -> usize {
        let frames = out.len() / 2;
        let audio = (self.total.saturating_sub(self.pos)).min(frames as u64) as usize;
        let mut done = 0;
        while done < audio {
            let n = (audio - done).min(MAX_CHUNK);
            let p = self.pos + done as u64;
            self.render_chunk(p, n);
            let g = self.final_gain;
            let (ml, mr) = (&self.scratch.ml[..n], &self.scratch.mr[..n]);
            let dst = &mut out[2 * done..2 * (done + n)];
            // Branch-free so it vectorizes; the clamp is a safety net only (bounds keep
            // |x| <= target), counted in a second pass in the rare case it acts.
            let mut m = 0.0f32;
            for ((fr, &l), &r) in dst.chunks_exact_mut(2).zip(ml).zip(mr) {
                let (l, r) = (l * g, r * g);
                m = m.max(l.abs()).max(r.abs());
                fr[0] = l.clamp(-1.0, 1.0);
                fr[1] = r.clamp(-1.0, 1.0);
            }
            let clamped = if m > 1.0 {
                ml.iter()
                    .zip(mr)
                    .filter(|(l, r)| (*l * g).abs() > 1.0 || (*r * g).abs() > 1.0)
                    .count() as u64
            } else {
                0
            };
            self.clamped += clamped;
            done += n;
        }
        out[2 * audio..].fill(0.0);
        self.pos += audio as u64;
        audio
    }

    fn seek(&mut self, frame: u64) {
        // Voices re-seek lazily when their position does not match; bed and clips are positional.
        self.pos = frame.min(self.total);
    }

    fn step_count(&self) -> usize {
        self.steps.len()
    }

    fn current_step(&self) -> Option<usize> {
        let i = self.step_starts.partition_point(|&s| s <= self.pos);
        if i == 0 { None } else { Some(i - 1) }
    }

    fn step_start_frame(&self, index: usize) -> Option<u64> {
        self.step_starts.get(index).copied()
    }
}
