//! Oscillator phase in cycles (f64) and a fast polynomial sine.
//!
//! Phases are kept in **cycles** (1.0 = one period) as `f64`. Voices compute the phase of
//! sample `n` in closed form (`q + n * inc`, or a polynomial of `n` during a transition ramp,
//! see [`crate::dsp::transition`]), so output does not depend on block sizes and `seek` is
//! exact. [`sin_cycles`] reduces any phase with `|p| < 2^51` itself; no wrap is needed first.

use super::transition::{Pos, Ramp, Region};

/// `sin(2*pi*p)` for a phase `p` in cycles (`|p| < 2^51`), max error about 4e-9.
///
/// Branch-free (vectorizes): reduce to `r` in `[-0.5, 0.5]` by rounding, fold to
/// `z` in `[-0.25, 0.25]` (`sin(pi - x) = sin x`), then an odd degree-9 minimax polynomial.
#[inline(always)]
pub fn sin_cycles(p: f64) -> f64 {
    // Round to nearest by the 1.5 * 2^52 trick: SSE2 has no vector floor/round.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let r = p - ((p + MAGIC) - MAGIC);
    let a = r.abs();
    let b = 0.5 - a;
    let m = if b < a { b } else { a };
    let z = m.copysign(r);
    let s = z * z;
    // Fitted (Lawson weighted least squares) for max abs error on z in [-1/4, 1/4].
    const C1: f64 = 6.283185160120455;
    const C3: f64 = -41.341655037492934;
    const C5: f64 = 81.60100440606294;
    const C7: f64 = -76.54978915640434;
    const C9: f64 = 39.53675368716645;
    z * (C1 + s * (C3 + s * (C5 + s * (C7 + s * C9))))
}

/// `cos(2*pi*p)` for a phase in cycles (same accuracy as [`sin_cycles`]).
#[inline(always)]
pub fn cos_cycles(p: f64) -> f64 {
    sin_cycles(p + 0.25)
}

/// `frac(p)`: the phase wrapped to `[0, 1)` (`|p| < 2^51`; branch-free, no libm `floor`).
#[inline(always)]
pub fn wrap(p: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let r = p - ((p + MAGIC) - MAGIC);
    let w = if r < 0.0 { r + 1.0 } else { r };
    if w >= 1.0 { 0.0 } else { w }
}

/// Radians to cycles.
#[inline(always)]
pub fn rad_to_cycles(x: f64) -> f64 {
    x * (0.5 / std::f64::consts::PI)
}

/// Chunk length of the vectorized loops (see [`chunks`]).
pub const CHUNK: usize = 64;

/// `0.0, 1.0, ..., 63.0`: sample offsets inside a chunk as exact `f64`, so that
/// `base + IDX[i]` is exactly `n as f64` whatever the chunking (keeps output block-size
/// independent) while the loop still vectorizes.
pub const IDX: [f64; CHUNK] = {
    let mut a = [0.0; CHUNK];
    let mut i = 0;
    while i < CHUNK {
        a[i] = i as f64;
        i += 1;
    }
    a
};

/// Defines `fn $name(args)` twice: once compiled with AVX2 enabled (x86_64, chosen at run
/// time when the CPU has it) and once plain. Kernels are `#[inline(always)]` loops that LLVM
/// vectorizes; AVX2 doubles the `f64` lanes.
///
/// Results are bit-identical either way: Rust never contracts `a * b + c` into an FMA, and
/// every operation used (add, mul, compare/select, bit ops, f64 -> f32) is exactly rounded.
#[macro_export]
#[doc(hidden)]
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $body
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body
        }
    };
}

/// Chunks of at most [`CHUNK`] samples covering `0..total` from absolute sample `n0`:
/// yields `(nf0, start, len)` where `nf0 = (n0 + start) as f64`; the sample `start + i` has
/// the absolute index `nf0 + IDX[i]` (exact), so loops vectorize and stay block-size exact.
#[inline(always)]
pub fn chunks(n0: u64, total: usize) -> impl Iterator<Item = (f64, usize, usize)> {
    (0..total.div_ceil(CHUNK)).map(move |c| {
        let s = c * CHUNK;
        ((n0 + s as u64) as f64, s, CHUNK.min(total - s))
    })
}

crate::multiversion! {
    /// Writes `amp * sin(2*pi*(q + n*inc))` for `n = n0..n0+out.len()` (a constant-frequency
    /// sine whose phase at sample `n` is `q + n*inc` cycles).
    pub fn fill_sine(out: &mut [f32], n0: u64, q: f64, inc: f64, amp: f64) {
        for (nf0, s, len) in chunks(n0, out.len()) {
            for (o, k) in out[s..s + len].iter_mut().zip(IDX.iter()) {
                *o = (amp * sin_cycles(q + (nf0 + k) * inc)) as f32;
            }
        }
    }
}

/// The phase (cycles) of an oscillator whose frequency glides from `f0` to `f1` along a
/// transition [`Ramp`], in closed form: after `n` increments the phase is
/// `p0 + (n*f0 + (f1 - f0) * cum(n)) / sr`.
///
/// A *carrier* advances before computing its sample (FORMAT §7: sample `n` uses the phase
/// after `n + 1` increments); an *LFO* uses `t` directly (sample `n` uses `n` increments).
/// Outside the ramp the phase is linear in `n`: [`RampPhase::linear`] gives `(q, inc)` with
/// phase `q + n*inc` for fast constant-frequency loops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RampPhase {
    p0: f64,
    inc0: f64,
    dinc: f64,
    /// 1.0 for carriers, 0.0 for LFOs.
    lead: f64,
    /// `(q, inc)` before and after the ramp.
    lin: [(f64, f64); 2],
}

impl RampPhase {
    /// Start phase `p0` (cycles), frequencies `f0 -> f1` (Hz) at `sr`; `carrier` as above.
    pub fn new(p0: f64, f0: f64, f1: f64, sr: f64, carrier: bool, ramp: &Ramp) -> Self {
        let (inc0, dinc) = (f0 / sr, (f1 - f0) / sr);
        let lead = if carrier { 1.0 } else { 0.0 };
        let before = (wrap(p0 + lead * inc0), inc0);
        let after = (
            wrap(p0 + lead * inc0 + dinc * (ramp.after_offset() + lead)),
            inc0 + dinc,
        );
        RampPhase {
            p0,
            inc0,
            dinc,
            lead,
            lin: [before, after],
        }
    }

    /// A constant-frequency oscillator (no ramp).
    pub fn constant(p0: f64, f: f64, sr: f64, carrier: bool) -> Self {
        Self::new(p0, f, f, sr, carrier, &Ramp::none())
    }

    /// `(q, inc)` such that the phase of sample `n` is `q + n*inc` in `region`
    /// ([`Region::Before`] or [`Region::After`]).
    #[inline(always)]
    pub fn linear(&self, region: Region) -> (f64, f64) {
        if region == Region::After {
            self.lin[1]
        } else {
            self.lin[0]
        }
    }

    /// Phase of sample `n` on the ramp, given `a = a(n)` and `cum = cum(n)` (unwrapped).
    #[inline(always)]
    pub fn on_ramp(&self, nf: f64, a: f64, cum: f64) -> f64 {
        self.p0 + (nf + self.lead) * self.inc0 + self.dinc * (cum + self.lead * a)
    }

    /// Phase of sample `n` (unwrapped, `|phase| < 2^51`), the same value the render loops use.
    #[inline(always)]
    pub fn at(&self, n: u64, ramp: &Ramp) -> f64 {
        match ramp.region(n) {
            Region::Ramp => {
                let (a, c) = ramp.a_cum(n);
                self.on_ramp(n as f64, a, c)
            }
            r => {
                let (q, inc) = self.linear(r);
                q + n as f64 * inc
            }
        }
    }

    /// Phase of the sample at `pos` (same as [`RampPhase::at`]).
    #[inline(always)]
    pub fn at_pos(&self, pos: &Pos) -> f64 {
        match pos.region {
            Region::Ramp => self.on_ramp(pos.nf, pos.a, pos.cum),
            r => {
                let (q, inc) = self.linear(r);
                q + pos.nf * inc
            }
        }
    }

    /// Phase after `n` increments, wrapped to `[0, 1)` (for phase carry across steps).
    pub fn accumulated(&self, n: u64, ramp: &Ramp) -> f64 {
        wrap(self.p0 + n as f64 * self.inc0 + self.dinc * ramp.cum(n))
    }

    /// Frequency increment (cycles per sample) at ramp position `a`.
    #[inline(always)]
    pub fn inc_at(&self, a: f64) -> f64 {
        self.inc0 + self.dinc * a
    }

    /// Start phase (cycles).
    pub fn start_phase(&self) -> f64 {
        self.p0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sine_error_below_2e_7() {
        let mut worst: f64 = 0.0;
        for i in 0..2_000_001 {
            // Cover several periods, negative phases and large phases.
            let p = -3.0 + 6.0 * i as f64 / 2_000_000.0;
            for off in [0.0, 1.0e6, 123_456.789] {
                let x = p + off;
                let exact = (std::f64::consts::TAU * (x - x.floor())).sin();
                worst = worst.max((sin_cycles(x) - exact).abs());
            }
            worst = worst.max((cos_cycles(p) - (std::f64::consts::TAU * p).cos()).abs());
        }
        assert!(worst <= 2e-7, "max error {worst}");
        assert!(worst <= 1e-8, "max error {worst} (expected about 4e-9)");
        assert_eq!(sin_cycles(0.0), 0.0);
        assert!((sin_cycles(0.25) - 1.0).abs() < 1e-8);
        assert!(sin_cycles(0.25) <= 1.0 + 1e-8);
    }

    #[test]
    fn wrap_is_in_unit_interval() {
        assert_eq!(wrap(1.25), 0.25);
        assert_eq!(wrap(-0.25), 0.75);
        assert!(wrap(-1e-18) < 1.0);
    }

    #[test]
    fn fill_sine_is_chunk_independent() {
        let mut a = vec![0.0f32; 1000];
        fill_sine(&mut a, 12345, 0.1, 0.0123, 0.5);
        let mut b = vec![0.0f32; 1000];
        let (x, y) = b.split_at_mut(37);
        fill_sine(x, 12345, 0.1, 0.0123, 0.5);
        fill_sine(y, 12345 + 37, 0.1, 0.0123, 0.5);
        assert_eq!(a, b);
        let n = 12345.0 + 500.0;
        assert!(
            (a[500] as f64 - 0.5 * (std::f64::consts::TAU * (0.1 + n * 0.0123)).sin()).abs() < 1e-6
        );
    }

    #[test]
    fn ramp_phase_matches_summed_increments() {
        use crate::dsp::transition::Curve;
        let sr = 1000.0;
        for curve in [Curve::Linear, Curve::Exponential, Curve::Logarithmic] {
            let ramp = Ramp::new(0.3, 1.7, sr, curve);
            for carrier in [false, true] {
                let ph = RampPhase::new(0.1, 200.0, 150.0, sr, carrier, &ramp);
                let mut acc = 0.1f64;
                for n in 0..3000u64 {
                    let f = 200.0 - 50.0 * ramp.a(n);
                    if carrier {
                        acc += f / sr;
                    }
                    let d = ph.at(n, &ramp) - acc;
                    assert!(
                        (d - d.round()).abs() < 1e-9,
                        "{curve:?} carrier {carrier} n {n}: {d}"
                    );
                    if !carrier {
                        acc += f / sr;
                    }
                }
                // Phase after n increments.
                let mut acc2 = 0.1f64;
                for n in 0..3000u64 {
                    acc2 += (200.0 - 50.0 * ramp.a(n)) / sr;
                }
                let d = ph.accumulated(3000, &ramp) - acc2;
                assert!((d - d.round()).abs() < 1e-9);
            }
        }
    }
}
