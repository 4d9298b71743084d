//! Piecewise-linear gain curves: voice volume envelopes (FORMAT §5.1) and fades.

use std::collections::BTreeMap;

/// One linear segment: `len` samples from `start`, value `v0 + (v1 - v0) * i / len`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    start: u64,
    len: u64,
    v0: f32,
    v1: f32,
}

/// A gain curve made of linear ramps and holds, evaluated per sample (sample-exact, so a
/// ramp of `k` samples has the values `i / k` for `i = 0..k`).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    segments: Vec<Segment>,
    /// Value before the first and between segments is the previous segment's end value.
    initial: f32,
    max: f32,
}

impl Envelope {
    /// A flat envelope of 1.0.
    pub fn flat() -> Self {
        Envelope {
            segments: Vec::new(),
            initial: 1.0,
            max: 1.0,
        }
    }

    /// Builds a volume envelope of type `kind` with `params` for a step of `frames` samples.
    /// Unknown types give a flat 1.0 (FORMAT §5.1).
    pub fn from_spec(kind: &str, params: &BTreeMap<String, f64>, frames: u64, sr: u32) -> Self {
        let get = |k: &str, d: f64| params.get(k).copied().unwrap_or(d).max(0.0);
        let secs = |s: f64| (s * sr as f64).floor() as u64;
        match kind {
            "linen" => {
                let (mut a, mut r) = (secs(get("attack", 0.01)), secs(get("release", 0.1)));
                if a + r > frames && a + r > 0 {
                    let k = frames as f64 / (a + r) as f64;
                    a = (a as f64 * k).floor() as u64;
                    r = (r as f64 * k).floor() as u64;
                }
                Self::from_points(0.0, &[(0, a, 0.0, 1.0), (frames - r, r, 1.0, 0.0)])
            }
            "adsr" => {
                let (mut a, mut d, mut r) = (
                    secs(get("attack", 0.01)),
                    secs(get("decay", 0.1)),
                    secs(get("release", 0.1)),
                );
                let s = get("sustain_level", 0.8) as f32;
                if a + d + r > frames && a + d + r > 0 {
                    let k = frames as f64 / (a + d + r) as f64;
                    a = (a as f64 * k).floor() as u64;
                    d = (d as f64 * k).floor() as u64;
                    r = (r as f64 * k).floor() as u64;
                }
                Self::from_points(
                    0.0,
                    &[(0, a, 0.0, 1.0), (a, d, 1.0, s), (frames - r, r, s, 0.0)],
                )
            }
            "linear_fade" => {
                let f = secs(get("fade_duration", 0.0)).min(frames);
                let (s0, s1) = (
                    params.get("start_amp").copied().unwrap_or(0.0) as f32,
                    params.get("end_amp").copied().unwrap_or(1.0) as f32,
                );
                Self::from_points(s0, &[(0, f, s0, s1)])
            }
            _ => Self::flat(),
        }
    }

    /// Builds from segments `(start, len, v0, v1)` in time order; zero-length segments only set
    /// the level that follows them.
    fn from_points(initial: f32, segs: &[(u64, u64, f32, f32)]) -> Self {
        let segments: Vec<Segment> = segs
            .iter()
            .map(|&(start, len, v0, v1)| Segment { start, len, v0, v1 })
            .collect();
        let mut max = initial;
        for s in &segments {
            max = max.max(s.v0).max(s.v1);
        }
        let initial = if segments.first().is_some_and(|s| s.start == 0 && s.len == 0) {
            segments[0].v1
        } else {
            initial
        };
        Envelope {
            segments,
            initial,
            max,
        }
    }

    /// The largest value the envelope takes.
    pub fn max(&self) -> f32 {
        self.max
    }

    /// True if the envelope is 1.0 everywhere (lets the mixer skip the multiply).
    pub fn is_flat(&self) -> bool {
        self.segments.is_empty() && self.initial == 1.0
    }

    /// Value at sample `n`.
    pub fn value_at(&self, n: u64) -> f32 {
        let mut v = self.initial;
        for s in &self.segments {
            if n < s.start {
                break;
            }
            if n < s.start + s.len {
                return s.v0 + (s.v1 - s.v0) * ((n - s.start) as f64 / s.len as f64) as f32;
            }
            v = s.v1;
        }
        v
    }

    /// Multiplies `left`/`right` by the envelope for samples `start .. start + left.len()`.
    pub fn apply(&self, start: u64, left: &mut [f32], right: &mut [f32]) {
        if self.is_flat() {
            return;
        }
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let g = self.value_at(start + i as u64);
            *l *= g;
            *r *= g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kv: &[(&str, f64)]) -> BTreeMap<String, f64> {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn linen_ramps_are_sample_exact() {
        let e = Envelope::from_spec(
            "linen",
            &params(&[("attack", 0.01), ("release", 0.02)]),
            1000,
            1000,
        );
        // attack 10 samples: i/10
        assert_eq!(e.value_at(0), 0.0);
        assert!((e.value_at(5) - 0.5).abs() < 1e-7);
        assert_eq!(e.value_at(10), 1.0);
        assert_eq!(e.value_at(979), 1.0);
        assert_eq!(e.value_at(980), 1.0);
        assert!((e.value_at(990) - 0.5).abs() < 1e-7);
        assert!((e.value_at(999) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn linen_scales_when_too_long() {
        let e = Envelope::from_spec(
            "linen",
            &params(&[("attack", 3.0), ("release", 1.0)]),
            2000,
            1000,
        );
        // scaled to 1500 + 500
        assert!((e.value_at(750) - 0.5).abs() < 1e-6);
        assert!((e.value_at(1750) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn adsr_shape_and_unknown_type() {
        let e = Envelope::from_spec(
            "adsr",
            &params(&[
                ("attack", 1.0),
                ("decay", 1.0),
                ("sustain_level", 0.8),
                ("release", 2.0),
            ]),
            15_000,
            1000,
        );
        assert!((e.value_at(500) - 0.5).abs() < 1e-6);
        assert!((e.value_at(1500) - 0.9).abs() < 1e-6);
        assert!((e.value_at(5000) - 0.8).abs() < 1e-6);
        assert!((e.value_at(14_000) - 0.4).abs() < 1e-6);
        assert_eq!(e.max(), 1.0);
        assert!(Envelope::from_spec("wobble", &BTreeMap::new(), 100, 1000).is_flat());
    }

    #[test]
    fn linear_fade_holds_end() {
        let e = Envelope::from_spec(
            "linear_fade",
            &params(&[("fade_duration", 0.1), ("start_amp", 0.2), ("end_amp", 0.6)]),
            1000,
            1000,
        );
        assert!((e.value_at(0) - 0.2).abs() < 1e-7);
        assert!((e.value_at(50) - 0.4).abs() < 1e-6);
        assert!((e.value_at(500) - 0.6).abs() < 1e-7);
    }
}
