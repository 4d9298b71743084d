//! Waveform shapes of FORMAT §10 ("shared building blocks"): skewed sine `S(p,k)`, skewed
//! triangle `Tri(p,k)`, isochronic `Gate(p, ramp, gap)`, equal-power `pan2`, QAM `m(x)`.
//!
//! Cycle positions `p` are in `[0, 1)`.

use super::osc::{cos_cycles, sin_cycles};

/// Split point `c` of a skewed shape for skew `k` in `[-1, 1]`.
#[inline(always)]
fn split(k: f64) -> f64 {
    (0.5 + 0.5 * k).clamp(1e-9, 1.0 - 1e-9)
}

/// `S(p, k)`: skewed sine, precomputed for one skew. `k = 0` is `sin(2*pi*p)`; other skews
/// put the positive half-wave on `[0, c)` and the negative one on `[c, 1)`, `c = 0.5 + 0.5k`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkewSine {
    c: f64,
    h0: f64,
    h1: f64,
    plain: bool,
}

impl SkewSine {
    /// The shape for skew `k` (clamped to `[-1, 1]` through `c`).
    pub fn new(k: f64) -> Self {
        let c = split(k);
        SkewSine {
            c,
            h0: 0.5 / c,
            h1: 0.5 / (1.0 - c),
            plain: k == 0.0,
        }
    }

    /// `S(p, k)` for `p` in `[0, 1)`.
    #[inline(always)]
    pub fn at(&self, p: f64) -> f64 {
        if self.plain {
            sin_cycles(p)
        } else if p < self.c {
            sin_cycles(p * self.h0)
        } else {
            sin_cycles(0.5 + (p - self.c) * self.h1)
        }
    }
}

/// `S(p, k)` without precomputation (for skews that change every sample).
#[inline(always)]
pub fn skew_sine(p: f64, k: f64) -> f64 {
    SkewSine::new(k).at(p)
}

/// `Tri(p, k)`: skewed triangle, rises -1 -> 1 over `[0, c)` and falls 1 -> -1 over `[c, 1)`.
#[inline(always)]
pub fn skew_tri(p: f64, k: f64) -> f64 {
    let c = split(k);
    if p < c {
        -1.0 + 2.0 * p / c
    } else {
        1.0 - 2.0 * (p - c) / (1.0 - c)
    }
}

/// `Gate(p, ramp, gap)`: the isochronic trapezoid over one cycle, precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Audible part `A = clamp(1 - gap, 0, 1)`.
    audible: f64,
    /// `1 / q` where `q` is the ramp length; `None` for `q = 0` (a hard on/off gate).
    inv_q: Option<f64>,
}

impl Gate {
    /// The gate for `ramp` (fraction of the audible part, per side) and `gap` (silent fraction).
    pub fn new(ramp: f64, gap: f64) -> Self {
        let audible = (1.0 - gap).clamp(0.0, 1.0);
        let q = (audible * ramp * 2.0).min(audible).max(0.0) / 2.0;
        Gate {
            audible,
            inv_q: if q > 0.0 { Some(1.0 / q) } else { None },
        }
    }

    /// The gate value at cycle position `p` in `[0, 1)`: `p/q` on the rising ramp, 1, then
    /// `1 - (p - (A - q))/q` on the falling ramp, 0 in the gap `[A, 1)`.
    #[inline(always)]
    pub fn at(&self, p: f64) -> f64 {
        match self.inv_q {
            // min(p, A - p) / q, clamped: the same trapezoid without branches.
            Some(iq) => ((if p < self.audible - p {
                p
            } else {
                self.audible - p
            }) * iq)
                .clamp(0.0, 1.0),
            None => {
                if p < self.audible {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Equal-power pan: `(x*cos((pan+1)*pi/4), x*sin((pan+1)*pi/4))`, `pan` in `[-1, 1]`.
#[inline(always)]
pub fn pan2(x: f64, pan: f64) -> (f64, f64) {
    let (gl, gr) = pan_gains(pan);
    (x * gl, x * gr)
}

/// The two gains of [`pan2`].
#[inline(always)]
pub fn pan_gains(pan: f64) -> (f64, f64) {
    let p = (pan + 1.0) * 0.125; // (pan+1)*pi/4 in cycles
    (cos_cycles(p), sin_cycles(p))
}

/// QAM modulation shape `m(x)` at cycle position `p` (x = 2*pi*p): `cos x` for `shape == 1`,
/// else `sign(cos x) * |cos x|^(1/shape)`.
#[inline(always)]
pub fn mod_shape(p: f64, shape: f64) -> f64 {
    let c = cos_cycles(p);
    if shape == 1.0 {
        c
    } else {
        c.abs().powf(1.0 / shape).copysign(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn skew_sine_matches_definition() {
        for k in [-0.8f64, -0.3, 0.0, 0.4, 1.0] {
            let c = (0.5 + 0.5 * k).clamp(1e-9, 1.0 - 1e-9);
            let s = SkewSine::new(k);
            for i in 0..1000 {
                let p = i as f64 / 1000.0;
                let want = if p < c {
                    (PI * p / c).sin()
                } else {
                    (PI * (1.0 + (p - c) / (1.0 - c))).sin()
                };
                assert!((s.at(p) - want).abs() < 1e-7, "k {k} p {p}");
                assert!((skew_sine(p, k) - want).abs() < 1e-7);
            }
        }
        // k = 0 is a plain sine, peak at p = 0.25.
        assert!((SkewSine::new(0.0).at(0.25) - 1.0).abs() < 1e-8);
        // k = 0.5: positive half-wave on [0, 0.75), peak at 0.375.
        assert!((SkewSine::new(0.5).at(0.375) - 1.0).abs() < 1e-8);
    }

    #[test]
    fn triangle_corners() {
        assert_eq!(skew_tri(0.0, 0.0), -1.0);
        assert!((skew_tri(0.5, 0.0) - 1.0).abs() < 1e-8);
        assert!((skew_tri(0.25, 0.0)).abs() < 1e-8);
        assert!((skew_tri(0.75, 0.0)).abs() < 1e-8);
        assert!((skew_tri(0.2, -0.6) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn gate_trapezoid() {
        // gap 0.15 -> A = 0.85; ramp 0.2 -> q = 0.85*0.4/2 = 0.17.
        let g = Gate::new(0.2, 0.15);
        assert!((g.at(0.085) - 0.5).abs() < 1e-12);
        assert_eq!(g.at(0.17), 1.0);
        assert_eq!(g.at(0.5), 1.0);
        assert!((g.at(0.85 - 0.085) - 0.5).abs() < 1e-12);
        assert_eq!(g.at(0.85), 0.0);
        assert_eq!(g.at(0.99), 0.0);
        assert_eq!(g.at(0.0), 0.0);
        // ramp 0: hard gate; ramp 1: triangle over the audible part.
        let h = Gate::new(0.0, 0.5);
        assert_eq!((h.at(0.0), h.at(0.49), h.at(0.5)), (1.0, 1.0, 0.0));
        let t = Gate::new(1.0, 0.0);
        assert!((t.at(0.5) - 1.0).abs() < 1e-12 && (t.at(0.25) - 0.5).abs() < 1e-12);
        // gap 1: silent.
        assert_eq!(Gate::new(0.2, 1.0).at(0.3), 0.0);
    }

    #[test]
    fn pan_is_equal_power() {
        let (l, r) = pan2(1.0, 0.0);
        assert!((l - 0.5f64.sqrt()).abs() < 1e-8 && (r - 0.5f64.sqrt()).abs() < 1e-8);
        let (l, r) = pan2(1.0, -1.0);
        assert!((l - 1.0).abs() < 1e-8 && r.abs() < 1e-8);
        let (l, r) = pan2(2.0, 0.3);
        assert!((l * l + r * r - 4.0).abs() < 1e-7);
    }

    #[test]
    fn mod_shape_sharpens() {
        assert!((mod_shape(0.1, 1.0) - (0.2 * PI).cos()).abs() < 1e-8);
        let v = mod_shape(0.1, 2.0);
        assert!((v - (0.2 * PI).cos().sqrt()).abs() < 1e-7);
        assert!((mod_shape(0.4, 2.0) + (0.2 * PI).cos().sqrt()).abs() < 1e-7);
    }
}
