//! Cascaded RBJ-cookbook notch biquads, left and right side by side.

use crate::dsp::osc::{cos_cycles, sin_cycles};

/// One notch (with its cascade) for both channels. All stages of a channel share the
/// coefficients. Stages are kept running up to `hist.len() - 1` even when fewer are
/// `active` (cascade counts that change during a transition), so the state is always a
/// function of the input only; the output is tapped after stage `active`.
#[derive(Debug, Clone)]
pub(crate) struct NotchCascade {
    /// Normalized coefficients, `[left, right]`: `b0 = b2`, `b1 = a1` for a notch.
    b0: [f64; 2],
    b1: [f64; 2],
    a2: [f64; 2],
    /// Direct-form-I history shared between stages: `hist[0]` = last two inputs, `hist[s]` =
    /// last two outputs of stage `s` (= the inputs of stage `s + 1`). Layout `[z1, z2]` of `[L, R]`.
    hist: Vec<[[f64; 2]; 2]>,
    active: usize,
}

impl NotchCascade {
    /// A cascade able to run up to `max_stages` stages (allocates here only).
    pub(crate) fn new(max_stages: usize) -> Self {
        NotchCascade {
            b0: [1.0; 2],
            b1: [0.0; 2],
            a2: [0.0; 2],
            hist: vec![[[0.0; 2]; 2]; max_stages + 1],
            active: max_stages,
        }
    }

    /// Clears the filter state.
    pub(crate) fn reset(&mut self) {
        self.hist.iter_mut().for_each(|h| *h = [[0.0; 2]; 2]);
    }

    /// Stages that run (the maximum).
    pub(crate) fn stages(&self) -> usize {
        self.hist.len() - 1
    }

    /// Sets the centre frequencies (Hz, per channel), Q and active stage count.
    pub(crate) fn set(&mut self, fc: [f64; 2], q: f64, active: usize, sr: f64) {
        for ch in 0..2 {
            // Polynomial sin/cos (error ~4e-9): the zeros stay exactly on the unit circle
            // (b0 = b2, b1 = a1), only their angle moves by a few nHz.
            let p = fc[ch].clamp(1.0, 0.499 * sr) / sr;
            let (s, c) = (sin_cycles(p), cos_cycles(p));
            let alpha = s / (2.0 * q);
            let inv = 1.0 / (1.0 + alpha);
            self.b0[ch] = inv;
            self.b1[ch] = -2.0 * c * inv;
            self.a2[ch] = (1.0 - alpha) * inv;
        }
        self.active = active.min(self.stages());
    }

    /// Filters `left` / `right` in place.
    pub(crate) fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.stages() == 0 {
            return;
        }
        run_cascade(
            &mut self.hist,
            [self.b0, self.b1, self.a2],
            self.active,
            left,
            right,
        );
    }

    /// Pole radius of a notch at `fc` Hz with quality `q`: `sqrt((1 - alpha) / (1 + alpha))`.
    pub(crate) fn pole_radius(fc: f64, q: f64, sr: f64) -> f64 {
        let w0 = std::f64::consts::TAU * fc.clamp(1.0, 0.499 * sr) / sr;
        let alpha = w0.sin() / (2.0 * q);
        ((1.0 - alpha) / (1.0 + alpha)).max(0.0).sqrt()
    }
}

crate::multiversion! {
    /// The cascade kernel: every stage of `hist` (`[b0, b1, a2]` coefficients shared), output
    /// tapped after stage `active`. L and R are the two lanes of each `[f64; 2]`.
    fn run_cascade(
        hist: &mut [[[f64; 2]; 2]],
        coef: [[f64; 2]; 3],
        active: usize,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let [b0, b1, a2] = coef;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let mut x = [*l as f64, *r as f64];
            let mut prev = hist[0];
            hist[0] = [x, prev[0]];
            for h in hist[1..].iter_mut() {
                let cur = *h;
                let mut y = [0.0; 2];
                for ch in 0..2 {
                    y[ch] = b0[ch] * (x[ch] + prev[1][ch]) + b1[ch] * (prev[0][ch] - cur[0][ch])
                        - a2[ch] * cur[1][ch];
                }
                *h = [y, cur[0]];
                prev = cur;
                x = y;
            }
            // The newest output of stage `active` (the input for 0).
            let out = hist[active][0];
            *l = out[0] as f32;
            *r = out[1] as f32;
        }
    }
}

/// Samples of pre-roll after which a cascade of `stages` notch sections with pole radius at
/// most `r` has forgotten its initial state to below `tol`, relative to the signal level.
///
/// A zero-input transient of `k` identical two-pole sections decays like
/// `C(n + k - 1, k - 1) * r^n` (repeated poles); the state mismatch is bounded by a few times
/// the signal level (we allow 10x). Sections of different notches decay faster than the
/// slowest one, so using the slowest `r` for every stage is conservative.
pub(crate) fn warmup_samples(r: f64, stages: usize, tol: f64) -> u64 {
    if stages == 0 || r <= 0.0 {
        return 0;
    }
    let k = stages as f64;
    let ln_r = r.ln().min(-1e-12);
    let log_err = |n: f64| {
        // ln(10 * C(n + k - 1, k - 1) * r^n), with C bounded by (n + k)^(k - 1) / (k - 1)!
        10f64.ln() + (k - 1.0) * (n + k).ln() - ln_gamma(k) + n * ln_r
    };
    let target = tol.ln();
    let mut n = 16.0f64;
    while log_err(n) > target && n < 1e12 {
        n *= 1.25;
    }
    n.ceil() as u64
}

/// `ln((k - 1)!)` for integer-valued `k >= 1`.
fn ln_gamma(k: f64) -> f64 {
    (1..k as u64).map(|i| (i as f64).ln()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (std::f64::consts::TAU * f * i as f64 / 44100.0).sin() as f32)
            .collect()
    }

    #[test]
    fn notch_removes_centre_passes_rest() {
        let mut c = NotchCascade::new(4);
        c.set([1000.0, 3000.0], 20.0, 4, 44100.0);
        for (f, want_l, want_r) in [(1000.0, 0.0, 1.0), (3000.0, 1.0, 0.0), (200.0, 1.0, 1.0)] {
            c.reset();
            let (mut l, mut r) = (sine(f, 44100), sine(f, 44100));
            c.process(&mut l, &mut r);
            let rms = |x: &[f32]| crate::measure::rms(&x[22050..]) * 2f64.sqrt();
            assert!((rms(&l) - want_l).abs() < 0.02, "{f} Hz left {}", rms(&l));
            assert!((rms(&r) - want_r).abs() < 0.02, "{f} Hz right {}", rms(&r));
        }
    }

    #[test]
    fn warmup_grows_with_q_and_stages() {
        let r1 = NotchCascade::pole_radius(800.0, 20.0, 44100.0);
        let r2 = NotchCascade::pole_radius(800.0, 80.0, 44100.0);
        let (a, b, c) = (
            warmup_samples(r1, 1, 1e-8),
            warmup_samples(r2, 1, 1e-8),
            warmup_samples(r1, 10, 1e-8),
        );
        assert!(a > 3000 && a < 10000, "{a}");
        assert!(b > 3 * a && c > a, "{a} {b} {c}");
    }
}
