#![allow(dead_code)]

use std::f32::consts;

use crate::synthesizer_settings::SynthesizerSettings;

#[derive(Debug)]
#[non_exhaustive]
pub(crate) struct BiQuadFilter {
    sample_rate: i32,

    active: bool,

    a0: f32,
    a1: f32,
    a2: f32,
    a3: f32,
    a4: f32,

    x1: f32,
    x2: f32,
    y1: f32,
    y2: f32,

    last_cutoff: f32,
    last_resonance: f32,
}

impl BiQuadFilter {
    const RESONANCE_PEAK_OFFSET: f32 = 1_f32 - 1_f32 / core::f32::consts::SQRT_2;

    pub(crate) fn new(settings: &SynthesizerSettings) -> Self {
        Self {
            sample_rate: settings.sample_rate,
            active: false,
            a0: 0_f32,
            a1: 0_f32,
            a2: 0_f32,
            a3: 0_f32,
            a4: 0_f32,
            x1: 0_f32,
            x2: 0_f32,
            y1: 0_f32,
            y2: 0_f32,
            last_cutoff: f32::NAN,
            last_resonance: f32::NAN,
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// Runs four active filters over their blocks (all `n` long) in lock-step: four
    /// independent feedback chains per step, which the compiler packs into SIMD lanes, instead
    /// of one latency-bound chain per voice.
    pub(crate) fn process4(f: [&mut BiQuadFilter; 4], b: [&mut [f32]; 4], n: usize) {
        let mut c = [[0_f32; 4]; 5];
        let mut s = [[0_f32; 4]; 4];
        for (i, f) in f.iter().enumerate() {
            c[0][i] = f.a0;
            c[1][i] = f.a1;
            c[2][i] = f.a2;
            c[3][i] = f.a3;
            c[4][i] = f.a4;
            s[0][i] = f.x1;
            s[1][i] = f.x2;
            s[2][i] = f.y1;
            s[3][i] = f.y2;
        }
        let [b0, b1, b2, b3] = b;
        let (b0, b1, b2, b3) = (&mut b0[..n], &mut b1[..n], &mut b2[..n], &mut b3[..n]);
        let [x1, x2, y1, y2] = &mut s;
        for t in 0..n {
            let x = [b0[t], b1[t], b2[t], b3[t]];
            let mut y = [0_f32; 4];
            for i in 0..4 {
                y[i] = (c[0][i] * x[i] + c[1][i] * x1[i] + c[2][i] * x2[i] - c[4][i] * y2[i])
                    - c[3][i] * y1[i];
            }
            *x2 = *x1;
            *x1 = x;
            *y2 = *y1;
            *y1 = y;
            b0[t] = y[0];
            b1[t] = y[1];
            b2[t] = y[2];
            b3[t] = y[3];
        }
        for (i, f) in f.into_iter().enumerate() {
            f.x1 = x1[i];
            f.x2 = x2[i];
            f.y1 = y1[i];
            f.y2 = y2[i];
        }
    }

    pub(crate) fn clear_buffer(&mut self) {
        self.x1 = 0_f32;
        self.x2 = 0_f32;
        self.y1 = 0_f32;
        self.y2 = 0_f32;
    }

    pub(crate) fn set_low_pass_filter(&mut self, cutoff_frequency: f32, resonance: f32) {
        // Same settings as last time: the coefficients stand (saves a sin/cos per block).
        if cutoff_frequency.to_bits() == self.last_cutoff.to_bits()
            && resonance.to_bits() == self.last_resonance.to_bits()
        {
            return;
        }
        self.last_cutoff = cutoff_frequency;
        self.last_resonance = resonance;
        if cutoff_frequency < 0.499_f32 * self.sample_rate as f32 {
            self.active = true;

            // This equation gives the Q value which makes the desired resonance peak.
            // The error of the resultant peak height is less than 3%.
            let q = resonance
                - BiQuadFilter::RESONANCE_PEAK_OFFSET / (1_f32 + 6_f32 * (resonance - 1_f32));

            let w = 2_f32 * consts::PI * cutoff_frequency / self.sample_rate as f32;
            let cosw = w.cos();
            let alpha = w.sin() / (2_f32 * q);

            let b0 = (1_f32 - cosw) / 2_f32;
            let b1 = 1_f32 - cosw;
            let b2 = (1_f32 - cosw) / 2_f32;
            let a0 = 1_f32 + alpha;
            let a1 = -2_f32 * cosw;
            let a2 = 1_f32 - alpha;

            self.set_coefficients(a0, a1, a2, b0, b1, b2);
        } else {
            self.active = false;
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        let block_length = block.len();

        if self.active {
            // Two samples per step from the state two samples back (the recurrence unrolled
            // once), so the feedback chain costs one multiply-add per two samples instead of
            // two dependent multiply-subtract pairs per sample; the feed-forward part has no
            // loop-carried dependency. Same filter, rounding differs from upstream by ~1e-7.
            let (a0, a1, a2, a3, a4) = (self.a0, self.a1, self.a2, self.a3, self.a4);
            let (c1, c2) = (a3 * a3 - a4, a3 * a4);
            let (mut x1, mut x2, mut y1, mut y2) = (self.x1, self.x2, self.y1, self.y2);
            let mut pairs = block.chunks_exact_mut(2);
            for p in &mut pairs {
                let (xa, xb) = (p[0], p[1]);
                let ua = a0 * xa + a1 * x1 + a2 * x2;
                let ub = a0 * xb + a1 * xa + a2 * x1;
                let ya = (ua - a4 * y2) - a3 * y1;
                let yb = (ub - a3 * ua) + (c1 * y1 + c2 * y2);
                p[0] = ya;
                p[1] = yb;
                x2 = xa;
                x1 = xb;
                y2 = ya;
                y1 = yb;
            }
            for input in pairs.into_remainder() {
                let x = *input;
                let y = (a0 * x + a1 * x1 + a2 * x2 - a4 * y2) - a3 * y1;
                x2 = x1;
                x1 = x;
                y2 = y1;
                y1 = y;
                *input = y;
            }
            (self.x1, self.x2, self.y1, self.y2) = (x1, x2, y1, y2);
        } else {
            // Keep the history as if the filter had passed the block through, so turning it
            // on later starts smoothly. Blocks may be 1 frame long with exact rendering.
            match block_length {
                0 => {}
                1 => {
                    self.x2 = self.x1;
                    self.x1 = block[0];
                }
                _ => {
                    self.x2 = block[block_length - 2];
                    self.x1 = block[block_length - 1];
                }
            }
            self.y2 = self.x2;
            self.y1 = self.x1;
        }
    }

    fn set_coefficients(&mut self, a0: f32, a1: f32, a2: f32, b0: f32, b1: f32, b2: f32) {
        self.a0 = b0 / a0;
        self.a1 = b1 / a0;
        self.a2 = b2 / a0;
        self.a3 = a1 / a0;
        self.a4 = a2 / a0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(cutoff: f32, q_db: f32) -> BiQuadFilter {
        let mut f = BiQuadFilter::new(&SynthesizerSettings::new(44_100));
        f.set_low_pass_filter(cutoff, 10f32.powf(q_db / 20.0));
        assert!(f.active);
        f
    }

    /// Upstream's per-sample recurrence.
    fn reference(f: &mut BiQuadFilter, block: &mut [f32]) {
        for input in block.iter_mut() {
            let output = f.a0 * *input + f.a1 * f.x1 + f.a2 * f.x2 - f.a3 * f.y1 - f.a4 * f.y2;
            f.x2 = f.x1;
            f.x1 = *input;
            f.y2 = f.y1;
            f.y1 = output;
            *input = output;
        }
    }

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    #[test]
    fn unrolled_and_four_lane_filters_match_the_recurrence() {
        let specs = [
            (300.0, 0.0),
            (2_000.0, 12.0),
            (9_000.0, 3.0),
            (15_000.0, 20.0),
        ];
        let mut refs: Vec<BiQuadFilter> = specs.iter().map(|&(c, q)| filter(c, q)).collect();
        let mut one: Vec<BiQuadFilter> = specs.iter().map(|&(c, q)| filter(c, q)).collect();
        let mut four: Vec<BiQuadFilter> = specs.iter().map(|&(c, q)| filter(c, q)).collect();
        for (round, n) in [64usize, 1, 17, 64, 2, 63]
            .iter()
            .cycle()
            .take(300)
            .enumerate()
        {
            let input: Vec<Vec<f32>> = (0..4).map(|v| noise(*n, (round * 4 + v) as u32)).collect();
            let mut want = input.clone();
            let mut got1 = input.clone();
            let mut got4 = input.clone();
            for v in 0..4 {
                reference(&mut refs[v], &mut want[v]);
                one[v].process(&mut got1[v]);
            }
            let [f0, f1, f2, f3] = &mut four[..] else {
                unreachable!()
            };
            let [b0, b1, b2, b3] = &mut got4[..] else {
                unreachable!()
            };
            BiQuadFilter::process4([f0, f1, f2, f3], [b0, b1, b2, b3], *n);
            for v in 0..4 {
                for t in 0..*n {
                    let tol = 1e-4 * (1.0 + want[v][t].abs());
                    assert!((got1[v][t] - want[v][t]).abs() < tol, "unrolled {v} {t}");
                    assert!((got4[v][t] - want[v][t]).abs() < tol, "four-lane {v} {t}");
                }
            }
        }
    }
}
