//! The transition ramp `a(t)` of FORMAT §5.2 and its running sum, in closed form.
//!
//! A transition voice interpolates each parameter as `start + (end - start) * a(n)`. `a` is 0
//! up to `initial_offset`, follows the curve over the ramp, then stays 1. Frequencies are
//! integrated into phases, so voices also need `cum(n) = sum_{k<n} a(k)`; both are
//! polynomials of `n` on the ramp and are computed exactly (no accumulation), so `seek` lands
//! on the state of a full render and output does not depend on block sizes.

use crate::error::TrackError;
use crate::track::params::Params;

/// Shape of the ramp (`transition_curve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// `a = u`
    Linear,
    /// `a = u^2`
    Exponential,
    /// `a = 1 - (1 - u)^2`
    Logarithmic,
}

impl Curve {
    /// Parses a curve name; unknown names are linear with a warning (FORMAT §5.2: never
    /// evaluate them as expressions).
    pub fn parse(name: &str) -> Curve {
        match name {
            "linear" => Curve::Linear,
            "exponential" => Curve::Exponential,
            "logarithmic" => Curve::Logarithmic,
            other => {
                log::warn!("unknown transition_curve {other:?}: using linear");
                Curve::Linear
            }
        }
    }

    /// `a` for a linear position `u` in `[0, 1]`.
    #[inline(always)]
    pub fn apply(self, u: f64) -> f64 {
        match self {
            Curve::Linear => u,
            Curve::Exponential => u * u,
            Curve::Logarithmic => u * (2.0 - u),
        }
    }
}

/// Where a sample lies relative to the ramp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// `a = 0` (before the ramp, or the whole step of a non-transition voice).
    Before,
    /// `0 < a < 1`.
    Ramp,
    /// `a = 1`.
    After,
}

/// The transition ramp of one step, in samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// First sample of the ramp region (`n > s0`).
    n_a: u64,
    /// First sample after the ramp (`n >= s1`).
    n_c: u64,
    /// `n_a - s0`, in `(0, 1]`.
    delta: f64,
    inv_len: f64,
    curve: Curve,
    /// `cum(n_c)`.
    cum_c: f64,
}

impl Ramp {
    /// No transition: `a = 0` everywhere (a plain voice).
    pub fn none() -> Self {
        Ramp {
            n_a: u64::MAX,
            n_c: u64::MAX,
            delta: 1.0,
            inv_len: 0.0,
            curve: Curve::Linear,
            cum_c: 0.0,
        }
    }

    /// A ramp from `t0` to `t1` seconds at `sr`. `t1 <= t0` switches from 0 to 1 at `t0`.
    pub fn new(t0: f64, t1: f64, sr: f64, curve: Curve) -> Self {
        let s0 = (t0 * sr).max(0.0);
        let s1 = t1 * sr;
        if s1 <= s0 {
            let n = s0.ceil() as u64;
            return Ramp {
                n_a: n,
                n_c: n,
                delta: 1.0,
                inv_len: 0.0,
                curve,
                cum_c: 0.0,
            };
        }
        let n_a = s0.floor() as u64 + 1;
        let n_c = (s1.ceil() as u64).max(n_a);
        let mut r = Ramp {
            n_a,
            n_c,
            delta: n_a as f64 - s0,
            inv_len: 1.0 / (s1 - s0),
            curve,
            cum_c: 0.0,
        };
        r.cum_c = r.ramp_cum((n_c - n_a) as f64);
        r
    }

    /// Reads `initial_offset`, `transition_duration` / `post_offset` and `transition_curve`
    /// (FORMAT §5.2, our rule: `transition_duration` when present, else the ramp ends
    /// `post_offset` before the step end).
    pub fn from_params(p: &Params, step_duration: f64, sr: u32) -> Result<Self, TrackError> {
        let t0 = p.non_negative("initial_offset", 0.0)?;
        let t1 = match p.opt_num("transition_duration")? {
            Some(d) if d < 0.0 => {
                return Err(p.error("transition_duration", "must be a finite number >= 0"));
            }
            Some(d) => t0 + d,
            None => step_duration - p.non_negative("post_offset", 0.0)?,
        };
        let curve = Curve::parse(&p.string("transition_curve", "linear")?);
        Ok(Ramp::new(t0, t1, sr as f64, curve))
    }

    /// `[first ramp sample, first sample after the ramp)`.
    pub fn bounds(&self) -> (u64, u64) {
        (self.n_a, self.n_c)
    }

    /// The region of sample `n`.
    #[inline(always)]
    pub fn region(&self, n: u64) -> Region {
        if n < self.n_a {
            Region::Before
        } else if n < self.n_c {
            Region::Ramp
        } else {
            Region::After
        }
    }

    /// `a` on the ramp, `m = n - n_a` samples into it.
    #[inline(always)]
    fn ramp_a(&self, m: f64) -> f64 {
        self.curve.apply(((m + self.delta) * self.inv_len).min(1.0))
    }

    /// `sum_{j<m} a(n_a + j)` for `0 <= m <= n_c - n_a`, from exact power sums of `j + delta`.
    #[inline(always)]
    fn ramp_cum(&self, m: f64) -> f64 {
        let d = self.delta;
        let s1 = 0.5 * m * (m - 1.0) + m * d;
        let s2 = || (m - 1.0) * m * (2.0 * m - 1.0) / 6.0 + d * m * (m - 1.0) + m * d * d;
        let il = self.inv_len;
        match self.curve {
            Curve::Linear => s1 * il,
            Curve::Exponential => s2() * il * il,
            Curve::Logarithmic => 2.0 * s1 * il - s2() * il * il,
        }
    }

    /// `a(n)`.
    #[inline(always)]
    pub fn a(&self, n: u64) -> f64 {
        match self.region(n) {
            Region::Before => 0.0,
            Region::Ramp => self.ramp_a((n - self.n_a) as f64),
            Region::After => 1.0,
        }
    }

    /// `(a(n), cum(n))` with `cum(n) = sum_{k<n} a(k)`.
    #[inline(always)]
    pub fn a_cum(&self, n: u64) -> (f64, f64) {
        match self.region(n) {
            Region::Before => (0.0, 0.0),
            Region::Ramp => {
                let m = (n - self.n_a) as f64;
                (self.ramp_a(m), self.ramp_cum(m))
            }
            Region::After => (1.0, self.cum_c + (n - self.n_c) as f64),
        }
    }

    /// `cum(n)`.
    #[inline(always)]
    pub fn cum(&self, n: u64) -> f64 {
        self.a_cum(n).1
    }

    /// `cum(n_c) - n_c`: makes `cum(n) = n + after_offset()` after the ramp.
    pub fn after_offset(&self) -> f64 {
        if self.n_c == u64::MAX {
            0.0
        } else {
            self.cum_c - self.n_c as f64
        }
    }

    /// Splits `len` samples from `n0` at the region boundaries: calls `f(region, offset, len)`
    /// in order, `offset` relative to `n0`.
    #[inline]
    pub fn split(&self, n0: u64, len: usize, mut f: impl FnMut(Region, usize, usize)) {
        let end = n0 + len as u64;
        let mut n = n0;
        while n < end {
            let r = self.region(n);
            let stop = match r {
                Region::Before => self.n_a.min(end),
                Region::Ramp => self.n_c.min(end),
                Region::After => end,
            };
            f(r, (n - n0) as usize, (stop - n) as usize);
            n = stop;
        }
    }
}

/// A parameter's start and end value along the ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lerp {
    pub start: f64,
    pub end: f64,
}

impl Lerp {
    /// A value that does not change.
    pub fn fixed(v: f64) -> Self {
        Lerp { start: v, end: v }
    }

    /// `start + (end - start) * a`.
    #[inline(always)]
    pub fn at(&self, a: f64) -> f64 {
        self.start + (self.end - self.start) * a
    }

    /// True if start and end are equal.
    pub fn is_const(&self) -> bool {
        self.start == self.end
    }

    /// Largest absolute value along the ramp (at an end, as the lerp is monotonic).
    pub fn max_abs(&self) -> f64 {
        self.start.abs().max(self.end.abs())
    }

    /// Largest value along the ramp.
    pub fn max(&self) -> f64 {
        self.start.max(self.end)
    }

    /// Smallest value along the ramp.
    pub fn min(&self) -> f64 {
        self.start.min(self.end)
    }

    /// True if the value is 0 at both ends.
    pub fn is_zero(&self) -> bool {
        self.start == 0.0 && self.end == 0.0
    }
}

/// Where a sample lies on the ramp: everything a voice needs to evaluate its parameters and
/// phases there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pos {
    pub n: u64,
    /// `n as f64`.
    pub nf: f64,
    /// `a(n)`.
    pub a: f64,
    /// `cum(n)` (0 outside the ramp region: phases use their linear form there).
    pub cum: f64,
    pub region: Region,
}

impl Pos {
    /// The position of sample `n`.
    #[inline(always)]
    pub fn new(n: u64, ramp: &Ramp) -> Self {
        let region = ramp.region(n);
        let (a, cum) = match region {
            Region::Ramp => ramp.a_cum(n),
            Region::Before => (0.0, 0.0),
            Region::After => (1.0, 0.0),
        };
        Pos {
            n,
            nf: n as f64,
            a,
            cum,
            region,
        }
    }
}

/// Reads voice parameters as [`Lerp`]s: for a transition voice `startX`/`endX` (FORMAT §5.2),
/// for a plain voice `X` (start = end). Validation errors name the key actually read.
#[derive(Debug, Clone, Copy)]
pub struct ParamReader<'a> {
    pub p: &'a Params,
    pub transition: bool,
}

impl<'a> ParamReader<'a> {
    /// A reader for a plain (`transition == false`) or transition voice.
    pub fn new(p: &'a Params, transition: bool) -> Self {
        ParamReader { p, transition }
    }

    /// A numeric parameter (camelCase transition keys).
    pub fn num(&self, key: &str, default: f64) -> Result<Lerp, TrackError> {
        let cap = crate::track::params::capitalize(key);
        self.keys(&format!("start{cap}"), &format!("end{cap}"), key, default)
    }

    /// A numeric parameter with explicit transition key names (snake_case functions).
    pub fn keys(
        &self,
        start: &str,
        end: &str,
        base: &str,
        default: f64,
    ) -> Result<Lerp, TrackError> {
        if self.transition {
            let (s, e) = self.p.transition_keys(start, end, base, default)?;
            Ok(Lerp { start: s, end: e })
        } else {
            Ok(Lerp::fixed(self.p.num(base, default)?))
        }
    }

    /// The key names `(start, end)` that supplied a [`ParamReader::num`] value (for errors).
    fn names(&self, key: &str) -> (String, String) {
        if !self.transition {
            return (key.to_string(), key.to_string());
        }
        let cap = crate::track::params::capitalize(key);
        let (sk, ek) = (format!("start{cap}"), format!("end{cap}"));
        let s = if self.p.has(&sk) { sk } else { key.to_string() };
        let e = if self.p.has(&ek) { ek } else { s.clone() };
        (s, e)
    }

    /// Checks both ends of `v` (read from `key`) with `ok`, else an error naming the key.
    pub fn check(
        &self,
        key: &str,
        v: Lerp,
        ok: impl Fn(f64) -> bool,
        msg: &str,
    ) -> Result<Lerp, TrackError> {
        let (sk, ek) = self.names(key);
        if !ok(v.start) {
            return Err(self.p.error(&sk, format!("{msg}, got {}", v.start)));
        }
        if !ok(v.end) {
            return Err(self.p.error(&ek, format!("{msg}, got {}", v.end)));
        }
        Ok(v)
    }

    /// A parameter that must be `>= 0`.
    pub fn non_negative(&self, key: &str, default: f64) -> Result<Lerp, TrackError> {
        let v = self.num(key, default)?;
        self.check(key, v, |x| x >= 0.0, "must be a finite number >= 0")
    }

    /// Like [`ParamReader::non_negative`] with explicit transition key names.
    pub fn non_negative_keys(
        &self,
        start: &str,
        end: &str,
        base: &str,
        default: f64,
    ) -> Result<Lerp, TrackError> {
        let v = self.keys(start, end, base, default)?;
        let bad = |x: f64| x < 0.0;
        if bad(v.start) || bad(v.end) {
            let key = if !self.transition {
                base
            } else if bad(v.start) {
                if self.p.has(start) { start } else { base }
            } else if self.p.has(end) {
                end
            } else {
                start
            };
            return Err(self.p.error(key, "must be a finite number >= 0"));
        }
        Ok(v)
    }

    /// A parameter that must lie in `[lo, hi]`.
    pub fn in_range(&self, key: &str, default: f64, lo: f64, hi: f64) -> Result<Lerp, TrackError> {
        let v = self.num(key, default)?;
        self.check(
            key,
            v,
            |x| (lo..=hi).contains(&x),
            &format!("must be a finite number in [{lo}, {hi}]"),
        )
    }

    /// A frequency in `[0, max]` Hz.
    pub fn freq(&self, key: &str, default: f64, max: f64) -> Result<Lerp, TrackError> {
        let v = self.num(key, default)?;
        self.check(
            key,
            v,
            |x| (0.0..=max).contains(&x),
            &format!("must be a frequency in [0, {max}] Hz"),
        )
    }

    /// An amplitude in `[0, 10]`.
    pub fn amp(&self, key: &str, default: f64) -> Result<Lerp, TrackError> {
        self.in_range(key, default, 0.0, 10.0)
    }

    /// A value that is not interpolated: `startX` (falling back to `X`) for a transition voice.
    pub fn fixed(&self, key: &str, default: f64) -> Result<f64, TrackError> {
        Ok(self.num(key, default)?.start)
    }

    /// A boolean pair (`startForceMono`/`endForceMono`); plain voices read `X`.
    pub fn boolean(&self, key: &str, default: bool) -> Result<(bool, bool), TrackError> {
        if self.transition {
            self.p.transition_bool(key, default)
        } else {
            let b = self.p.boolean(key, default)?;
            Ok((b, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cum_is_the_running_sum_of_a() {
        for curve in [Curve::Linear, Curve::Exponential, Curve::Logarithmic] {
            for (t0, t1) in [
                (0.0, 1.0),
                (0.37, 0.9123),
                (0.5, 0.5),
                (0.0, 0.0),
                (0.25, 0.2),
            ] {
                let r = Ramp::new(t0, t1, 1000.0, curve);
                let mut sum = 0.0;
                for n in 0..1500u64 {
                    let (a, c) = r.a_cum(n);
                    assert!(
                        (c - sum).abs() < 1e-9,
                        "{curve:?} {t0} {t1} n {n}: {c} vs {sum}"
                    );
                    assert!((0.0..=1.0).contains(&a));
                    assert_eq!(a, r.a(n));
                    sum += a;
                }
                assert_eq!(r.a(1499), 1.0);
            }
        }
    }

    #[test]
    fn curve_values() {
        let r = Ramp::new(1.0, 3.0, 100.0, Curve::Linear);
        assert_eq!(r.a(100), 0.0);
        assert!((r.a(200) - 0.5).abs() < 1e-12);
        assert_eq!(r.a(300), 1.0);
        let e = Ramp::new(1.0, 3.0, 100.0, Curve::Exponential);
        assert!((e.a(200) - 0.25).abs() < 1e-12);
        let l = Ramp::new(1.0, 3.0, 100.0, Curve::Logarithmic);
        assert!((l.a(200) - 0.75).abs() < 1e-12);
        assert_eq!(Curve::parse("alpha**2"), Curve::Linear);
        assert_eq!(Ramp::none().a(u64::MAX - 1), 0.0);
    }

    #[test]
    fn large_positions_stay_exact() {
        // A one-hour ramp at 48 kHz after a long offset: compare with an f64 running sum in blocks.
        let r = Ramp::new(600.0, 4200.0, 48000.0, Curve::Logarithmic);
        let (na, nc) = r.bounds();
        let mut sum = 0.0f64;
        let mut comp = 0.0f64; // Kahan
        for n in na..nc {
            let y = r.a(n) - comp;
            let t = sum + y;
            comp = (t - sum) - y;
            sum = t;
        }
        assert!((r.cum(nc) - sum).abs() < 1e-3, "{} vs {sum}", r.cum(nc));
    }

    #[test]
    fn split_visits_regions_in_order() {
        let r = Ramp::new(0.1, 0.2, 100.0, Curve::Linear); // ramp samples 11..20
        let mut seen = Vec::new();
        r.split(5, 30, |reg, off, len| seen.push((reg, off, len)));
        assert_eq!(
            seen,
            vec![
                (Region::Before, 0, 6),
                (Region::Ramp, 6, 9),
                (Region::After, 15, 15)
            ]
        );
    }
}
