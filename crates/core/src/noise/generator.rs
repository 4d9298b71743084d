//! Seekable, deterministic stereo coloured noise made by shaping white noise in the frequency
//! domain.
//!
//! Design: overlapping frames of [`FRAME`] samples, hop `FRAME / 2`. Frame `k` covers samples
//! `[(k - 1) * HOP, (k + 1) * HOP)`. Its spectrum is random (counter-based hashes keyed by a
//! splitmix64 mix of seed, frame index and channel), multiplied by the colour's magnitude curve, inverse
//! real-FFT'd and multiplied by a sine (sqrt-Hann) window; frames are overlap-added. Because
//! `sin^2 + cos^2 = 1` and frames are independent, the variance is the same at every sample.
//! Any sample depends on two frames only, so `seek` is O(1) and output does not depend on block
//! sizes.
//!
//! The spectral coefficients above the lowest 32 bins are uniform (16 bits each, two per
//! 32-bit hash of the bin index under a per-frame key: cheap and vectorizable), not Gaussian; every output sample is a weighted sum of thousands of
//! them, so it is Gaussian for all practical purposes (central limit theorem). The lowest bins,
//! which dominate brown-like colours, are true Gaussians (Box-Muller). Tails are never heavier
//! than Gaussian: a linear combination of independent uniforms and Gaussians is strictly
//! sub-Gaussian, so `P(|x| > k * rms) <= 2 * exp(-k^2 / 2)` holds exactly. [`PEAK_SIGMAS`]
//! relies on that.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner};
use std::sync::Arc;

use super::color::ColorSpec;
use crate::dsp::osc::{cos_cycles, sin_cycles};

/// Frame length of the spectral synthesis (samples).
pub const FRAME: usize = 8192;
const HOP: usize = FRAME / 2;

/// Nominal peak of the unit noise in multiples of its RMS. The unit noise has RMS
/// `1 / PEAK_SIGMAS` per channel, so its nominal peak is 1.0; a sample exceeds it with
/// probability `< 2 * exp(-PEAK_SIGMAS^2 / 2) = 1.3e-9` (see the module docs).
pub const PEAK_SIGMAS: f64 = 6.5;

/// RMS of each channel of [`ColoredNoise`] (before the colour's `amplitude`, which the
/// generator does not apply).
pub const NOISE_RMS: f64 = 1.0 / PEAK_SIGMAS;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Bins `0..GAUSS_BINS` (up to ~170 Hz at 44.1 kHz) use Gaussian values, the rest uniform ones.
const GAUSS_BINS: usize = 32;

/// splitmix64 output function.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 32-bit hash of the word counter `i` under the frame key `(k0, k1)` (lowbias32 rounds with
/// the key's high half mixed in between). For a fixed key it is a bijection of `i`, so the
/// words of one frame never repeat; 32-bit lanes vectorize (8 per AVX2 instruction), unlike
/// 64-bit multiplies.
#[inline(always)]
fn hash32(i: u32, k0: u32, k1: u32) -> u32 {
    let mut x = i.wrapping_mul(0x9e37_79b9).wrapping_add(k0);
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x ^= k1;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

crate::multiversion! {
    /// Bins `first..` of a frame: two centred 16-bit uniforms (re, im) per hashed word, times
    /// the bin's magnitude. `spec[j]` is bin `first + j`.
    fn fill_uniform(spec: &mut [Complex<f32>], mag: &[f32], first: u32, k0: u32, k1: u32) {
        const C: f32 = 32767.5;
        for (j, (bin, m)) in spec.iter_mut().zip(mag).enumerate() {
            let r = hash32(first + j as u32, k0, k1);
            let re = (r & 0xffff) as f32 - C;
            let im = (r >> 16) as f32 - C;
            *bin = Complex::new(re * m, im * m);
        }
    }
}

/// Stereo coloured noise, RMS [`NOISE_RMS`] per channel, left and right independent.
pub struct ColoredNoise {
    /// Per-bin amplitude (`FRAME / 2 + 1` bins), scaled for the target RMS.
    mag: Vec<f32>,
    window: Vec<f32>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    spec: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    frame: Vec<f32>,
    /// Output of the current segment `[s * HOP, (s + 1) * HOP)` per channel.
    seg: [Vec<f32>; 2],
    /// Windowed second half of frame `cur_seg + 1` per channel.
    tail: [Vec<f32>; 2],
    cur_seg: u64,
    pos: u64,
    seed: u64,
}

impl ColoredNoise {
    /// A generator for `color` at `sample_rate`, deterministic for `seed`.
    pub fn new(color: &ColorSpec, sample_rate: u32, seed: u64) -> ColoredNoise {
        let sr = sample_rate as f64;
        let df = sr / FRAME as f64;
        let nyq = sr / 2.0;
        let mut mag = vec![0.0f64; FRAME / 2 + 1];
        // DC and Nyquist stay 0 (no offset; the Nyquist bin must be real anyway).
        for (i, m) in mag.iter_mut().enumerate().take(FRAME / 2).skip(1) {
            let v = color.magnitude(i as f64 * df, df, nyq);
            *m = if v.is_finite() { v } else { 0.0 };
        }
        // c2r of bins k = 1..N/2-1 gives x[n] = 2 * sum Re(X_k e^{i..}): var = 4 s^2 sum mag^2,
        // s^2 = variance of a centred 16-bit uniform.
        let s2 = (65536.0f64 * 65536.0 - 1.0) / 12.0;
        let sum: f64 = mag.iter().map(|m| m * m).sum();
        let scale = if sum > 0.0 {
            NOISE_RMS / (2.0 * (s2 * sum).sqrt())
        } else {
            0.0
        };
        let mag = mag.iter().map(|m| (m * scale) as f32).collect();
        let window = (0..FRAME)
            .map(|n| (std::f64::consts::PI * (n as f64 + 0.5) / FRAME as f64).sin() as f32)
            .collect();
        let ifft = RealFftPlanner::<f32>::new().plan_fft_inverse(FRAME);
        ColoredNoise {
            mag,
            window,
            spec: ifft.make_input_vec(),
            scratch: ifft.make_scratch_vec(),
            frame: ifft.make_output_vec(),
            ifft,
            seg: [vec![0.0; HOP], vec![0.0; HOP]],
            tail: [vec![0.0; HOP], vec![0.0; HOP]],
            cur_seg: u64::MAX,
            pos: 0,
            seed,
        }
    }

    /// Current position (samples).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves to sample `pos` without generating the skipped noise.
    pub fn seek(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Writes the next `left.len()` frames into `left` / `right` (overwriting).
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        debug_assert_eq!(left.len(), right.len());
        let mut i = 0;
        while i < left.len() {
            let s = self.pos / HOP as u64;
            if s != self.cur_seg {
                self.fill_segment(s);
            }
            let off = (self.pos % HOP as u64) as usize;
            let n = (HOP - off).min(left.len() - i);
            left[i..i + n].copy_from_slice(&self.seg[0][off..off + n]);
            right[i..i + n].copy_from_slice(&self.seg[1][off..off + n]);
            i += n;
            self.pos += n as u64;
        }
    }

    fn fill_segment(&mut self, s: u64) {
        let continues = self.cur_seg != u64::MAX && s == self.cur_seg.wrapping_add(1);
        for ch in 0..2 {
            if continues {
                std::mem::swap(&mut self.seg[ch], &mut self.tail[ch]);
            } else {
                self.make_frame(s, ch);
                self.seg[ch].copy_from_slice(&self.frame[HOP..]);
            }
            self.make_frame(s + 1, ch);
            for (o, f) in self.seg[ch].iter_mut().zip(&self.frame[..HOP]) {
                *o += *f;
            }
            self.tail[ch].copy_from_slice(&self.frame[HOP..]);
        }
        self.cur_seg = s;
    }

    /// Synthesizes the windowed frame `k` of channel `ch` into `self.frame`.
    fn make_frame(&mut self, k: u64, ch: usize) {
        let base = mix(self.seed
            ^ mix(k
                .wrapping_mul(2)
                .wrapping_add(ch as u64)
                .wrapping_add(GOLDEN)));
        // The lowest bins get true Gaussian values (Box-Muller, same variance as the
        // uniforms): for brown-ish colours they carry most of the power, and uniform
        // amplitudes there would give a platykurtic, non-Gaussian signal.
        let sd = ((65536.0f64 * 65536.0 - 1.0) / 12.0).sqrt();
        for (i, (bin, m)) in self
            .spec
            .iter_mut()
            .zip(&self.mag)
            .enumerate()
            .take(GAUSS_BINS)
        {
            let r = mix(base ^ mix(i as u64 + 1));
            let u1 = ((r >> 32) as f64 + 0.5) / 4294967296.0;
            let u2 = (r & 0xffff_ffff) as f64 / 4294967296.0;
            let rad = sd * (-2.0 * u1.ln()).sqrt();
            let (s, c) = (sin_cycles(u2), cos_cycles(u2));
            *bin = Complex::new((rad * c) as f32 * m, (rad * s) as f32 * m);
        }
        let (lo, hi) = (base as u32, (base >> 32) as u32);
        fill_uniform(
            &mut self.spec[GAUSS_BINS..],
            &self.mag[GAUSS_BINS..],
            GAUSS_BINS as u32,
            lo,
            hi,
        );
        // DC and Nyquist must be real for the c2r transform (and are 0 here).
        self.spec[0] = Complex::new(0.0, 0.0);
        let last = self.spec.len() - 1;
        self.spec[last] = Complex::new(0.0, 0.0);
        self.ifft
            .process_with_scratch(&mut self.spec, &mut self.frame, &mut self.scratch)
            .expect("FFT buffer sizes are fixed at construction");
        for (x, w) in self.frame.iter_mut().zip(&self.window) {
            *x *= *w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure;

    fn render(c: &ColorSpec, seed: u64, frames: usize) -> (Vec<f32>, Vec<f32>) {
        let mut g = ColoredNoise::new(c, 44100, seed);
        let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
        g.render(&mut l, &mut r);
        (l, r)
    }

    #[test]
    fn colour_slopes() {
        // (name, expected slope in dB/octave fitted 100 Hz - 10 kHz)
        let cases = [
            ("white", 0.0),
            ("pink", -3.0),
            ("brown", -6.0),
            ("blue", 3.0),
            ("purple", 6.0),
        ];
        for (name, want) in cases {
            let c = ColorSpec::named(name).unwrap();
            let (l, r) = render(&c, 7, 44100 * 20);
            for x in [&l, &r] {
                let slope = measure::spectral_slope_db_per_octave(x, 44100.0, 100.0, 10000.0, &[]);
                assert!(
                    (slope - want).abs() < 1.5,
                    "{name}: slope {slope:.2} dB/oct, want {want}"
                );
            }
            let rms = measure::rms(&l);
            assert!((rms / NOISE_RMS - 1.0).abs() < 0.05, "{name}: rms {rms}");
        }
        // Red drifts from 2 towards 1.5 on a log axis 5.4 Hz..Nyquist: e(f) = 2 - 0.5 x(f), so
        // the fitted slope is -3 e(f) plus +10 log10(f) * 0.5 / log2(4096) ~ +1.2 dB/oct:
        // about -3.85 dB/oct over 100 Hz - 10 kHz.
        let (l, _) = render(&ColorSpec::named("red").unwrap(), 3, 44100 * 20);
        let s = measure::spectral_slope_db_per_octave(&l, 44100.0, 100.0, 10000.0, &[]);
        assert!(s > -4.4 && s < -3.4, "red slope {s}");
    }

    #[test]
    fn green_is_band_limited() {
        let (l, _) = render(&ColorSpec::named("green").unwrap(), 3, 44100 * 10);
        let (mag, df) = measure::spectrum(&l, 44100.0, 1);
        let band = |lo: f64, hi: f64| {
            let (a, b) = ((lo / df) as usize, (hi / df) as usize);
            mag[a..b].iter().map(|m| m * m).sum::<f64>() / (b - a) as f64
        };
        let mid = band(500.0, 4000.0);
        assert!(band(20.0, 40.0) < mid * 1e-3, "low band not cut");
        // 4th-order shape: -24 dB/octave above 8 kHz (-20 dB or more from 15 kHz).
        assert!(band(15000.0, 20000.0) < mid * 1e-2, "high band not cut");
        assert!(
            band(500.0, 1000.0) > mid * 0.7 && band(3000.0, 6000.0) > mid * 0.7,
            "pass band not flat"
        );
    }

    #[test]
    fn block_sizes_and_seek() {
        let c = ColorSpec::named("pink").unwrap();
        let total = 50_000;
        let (l, r) = render(&c, 11, total);
        for bs in [1usize, 64, 1000, 8192] {
            let mut g = ColoredNoise::new(&c, 44100, 11);
            let (mut bl, mut br) = (vec![0.0; total], vec![0.0; total]);
            for (a, b) in bl.chunks_mut(bs).zip(br.chunks_mut(bs)) {
                g.render(a, b);
            }
            assert!(bl == l && br == r, "block size {bs} differs");
        }
        let mut g = ColoredNoise::new(&c, 44100, 11);
        for pos in [40_000u64, 3, 4096, 12_345, 4095] {
            g.seek(pos);
            let (mut a, mut b) = (vec![0.0; 5000], vec![0.0; 5000]);
            g.render(&mut a, &mut b);
            let p = pos as usize;
            let n = 5000.min(total - p);
            assert_eq!(&a[..n], &l[p..p + n], "seek to {pos}");
            assert_eq!(&b[..n], &r[p..p + n], "seek to {pos}");
        }
    }

    #[test]
    fn deterministic_uncorrelated_gaussian() {
        let c = ColorSpec::named("white").unwrap();
        let (l, r) = render(&c, 5, 441_000);
        let (l2, _) = render(&c, 5, 441_000);
        let (l3, _) = render(&c, 6, 441_000);
        assert_eq!(l, l2);
        assert_ne!(l, l3);
        let dot = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum::<f64>()
        };
        let corr = dot(&l, &r) / (dot(&l, &l) * dot(&r, &r)).sqrt();
        assert!(corr.abs() < 0.01, "L/R correlation {corr}");
        let corr_seed = dot(&l, &l3) / dot(&l, &l);
        assert!(corr_seed.abs() < 0.01, "seed correlation {corr_seed}");
        // Gaussian: fraction beyond 2 sigma ~ 4.55 %, kurtosis ~ 3.
        let sigma = measure::rms(&l);
        let beyond =
            l.iter().filter(|x| (x.abs() as f64) > 2.0 * sigma).count() as f64 / l.len() as f64;
        assert!((beyond - 0.0455).abs() < 0.003, "P(|x|>2s) = {beyond}");
        let kurt = |x: &[f32]| {
            let s = measure::rms(x);
            x.iter().map(|v| (*v as f64 / s).powi(4)).sum::<f64>() / x.len() as f64
        };
        assert!((kurt(&l) - 3.0).abs() < 0.1, "kurtosis {}", kurt(&l));
        // Brown: most power sits in the lowest bins, which must be Gaussian too.
        let (b, _) = render(&ColorSpec::named("brown").unwrap(), 5, 44100 * 120);
        assert!((kurt(&b) - 3.0).abs() < 0.3, "brown kurtosis {}", kurt(&b));
    }
}
