//! The swept-notch noise voice (`noise_swept_notch` / `noise` and `_transition`, FORMAT §10.5).

use super::config::{LfoWave, NoiseConfig, Sweep};
use super::generator::ColoredNoise;
use super::notch::{NotchCascade, warmup_samples};
use crate::dsp::transition::{Lerp, Ramp};
use crate::voices::Voice;

/// Notch coefficients are recomputed every `CTRL` samples, at step positions that are
/// multiples of `CTRL` (so the output does not depend on block sizes). 64 samples = 1.45 ms at
/// 44.1 kHz: a notch sweeping 9 kHz at 0.1 Hz moves about 4 Hz per update.
pub(crate) const CTRL: u64 = 64;

/// Seek pre-roll tolerance: the filter state after the pre-roll differs from a full render's
/// by less than this (relative to the signal level; tests check < 1e-6 on the output).
const WARMUP_TOL: f64 = 1e-9;

/// Frames of the pre-roll scratch buffer.
const SCRATCH: usize = 1024;

/// Coloured noise through swept notch filters. See [`super`] for the parameters.
pub struct NoiseSweptNotch {
    noise: ColoredNoise,
    sr: f64,
    pos: u64,
    /// `amp * amplitude`.
    gain: f32,
    lfo_freq: Lerp,
    lfo_wave: LfoWave,
    /// Offsets in cycles.
    lr_offset: Lerp,
    intra_offset: Lerp,
    ramp: Ramp,
    sweeps: Vec<Sweep>,
    /// Per sweep: the main notch set, then (if the intra offset is used) the second one.
    sets: Vec<NotchCascade>,
    sets_per_sweep: usize,
    warmup: u64,
    scratch: [Vec<f32>; 2],
}

impl NoiseSweptNotch {
    /// Builds the voice from its parsed parameters. `ramp` drives the start -> end values
    /// (use [`Ramp::none`] for plain voices).
    pub(crate) fn new(cfg: &NoiseConfig, sample_rate: u32, ramp: Ramp) -> NoiseSweptNotch {
        let sr = sample_rate as f64;
        let intra = !cfg.intra_offset_deg.is_zero();
        let sets_per_sweep = if intra { 2 } else { 1 };
        let mut sets = Vec::new();
        let mut slowest_r = 0.0f64;
        let mut total_stages = 0;
        for s in &cfg.sweeps {
            let max_c = s.casc.max().round() as usize;
            for _ in 0..sets_per_sweep {
                sets.push(NotchCascade::new(max_c));
            }
            total_stages += max_c * sets_per_sweep;
            // The LFO keeps the centre inside [lowest, highest] of the limits; the pole radius
            // is largest (slowest decay) at an end of that range (sin is concave on [0, pi]).
            let lo = s.min.min().min(s.max.min());
            let hi = s.min.max().max(s.max.max());
            let q = s.q.max();
            for f in [lo, hi] {
                slowest_r = slowest_r.max(NotchCascade::pole_radius(f, q, sr));
            }
        }
        let warmup = if total_stages == 0 {
            0
        } else {
            warmup_samples(slowest_r, total_stages, WARMUP_TOL)
        };
        let deg = |d: Lerp| Lerp {
            start: d.start / 360.0,
            end: d.end / 360.0,
        };
        let mut v = NoiseSweptNotch {
            noise: ColoredNoise::new(&cfg.color, sample_rate, cfg.seed),
            sr,
            pos: 0,
            gain: (cfg.amp * cfg.color.amplitude) as f32,
            lfo_freq: cfg.lfo_freq,
            lfo_wave: cfg.lfo_wave,
            lr_offset: deg(cfg.lr_offset_deg),
            intra_offset: deg(cfg.intra_offset_deg),
            ramp,
            sweeps: cfg.sweeps.clone(),
            sets,
            sets_per_sweep,
            warmup: warmup.div_ceil(CTRL) * CTRL,
            scratch: [vec![0.0; SCRATCH], vec![0.0; SCRATCH]],
        };
        v.update(0);
        v
    }

    /// Samples of filter pre-roll a seek renders (0 without notches).
    pub fn warmup_frames(&self) -> u64 {
        self.warmup
    }

    /// Recomputes every notch for step position `n`.
    fn update(&mut self, n: u64) {
        let (a, cum) = self.ramp.a_cum(n);
        // LFO phase (cycles): the running sum of the (possibly ramped) rate.
        let f = self.lfo_freq;
        let phase = (f.start * n as f64 + (f.end - f.start) * cum) / self.sr;
        let lr = self.lr_offset.at(a);
        let intra = self.intra_offset.at(a);
        let wave = self.lfo_wave;
        for (i, s) in self.sweeps.iter().enumerate() {
            let (lo, hi, q) = (s.min.at(a), s.max.at(a), s.q.at(a));
            let casc = s.casc.at(a).round() as usize;
            let (mid, half) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
            for k in 0..self.sets_per_sweep {
                let p = phase + if k == 1 { intra } else { 0.0 };
                let fc = [mid + half * wave.at(p), mid + half * wave.at(p + lr)];
                self.sets[i * self.sets_per_sweep + k].set(fc, q, casc, self.sr);
            }
        }
    }

    /// Noise + notches (no gain) for the next `left.len()` frames.
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.noise.render(left, right);
        if self.sets.is_empty() {
            self.pos += left.len() as u64;
            return;
        }
        let mut i = 0;
        while i < left.len() {
            if self.pos.is_multiple_of(CTRL) {
                self.update(self.pos);
            }
            let n = ((CTRL - self.pos % CTRL) as usize).min(left.len() - i);
            for set in &mut self.sets {
                set.process(&mut left[i..i + n], &mut right[i..i + n]);
            }
            i += n;
            self.pos += n as u64;
        }
    }
}

impl Voice for NoiseSweptNotch {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process(left, right);
        // Hard limit at the nominal peak: reached with probability < 1.3e-9 per sample
        // (generator docs), so `peak_bound` is a true bound without a pre-pass.
        let lim = 1.0f32;
        let g = self.gain;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            *l = l.clamp(-lim, lim) * g;
            *r = r.clamp(-lim, lim) * g;
        }
    }

    fn seek(&mut self, pos: u64) {
        if self.sets.is_empty() {
            self.noise.seek(pos);
            self.pos = pos;
            return;
        }
        // IIR state has no closed form: restart from zero state a bounded pre-roll before
        // `pos` (exact when that reaches the step start, where the state is zero).
        let start = pos.saturating_sub(self.warmup) / CTRL * CTRL;
        self.sets.iter_mut().for_each(NotchCascade::reset);
        self.noise.seek(start);
        self.pos = start;
        self.update(start);
        let [mut sl, mut sr] = std::mem::take(&mut self.scratch);
        while self.pos < pos {
            let n = ((pos - self.pos) as usize).min(SCRATCH);
            self.process(&mut sl[..n], &mut sr[..n]);
        }
        self.scratch = [sl, sr];
    }

    /// `amp * amplitude`: the unit noise is limited to its nominal peak 1.0 (see `render`).
    fn peak_bound(&self) -> f32 {
        self.gain
    }
}
