//! Transition ramp of FORMAT §5.2 for the noise voices.
//!
//! TODO(merge): use dsp::transition (written in parallel for the tonal voices); this private
//! copy exists only so the noise branch builds on its own.

use crate::error::TrackError;
use crate::track::params::Params;

/// Shape applied to the linear ramp `u` in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    Linear,
    /// `a = u^2`
    Exponential,
    /// `a = 1 - (1 - u)^2`
    Logarithmic,
}

impl Curve {
    fn parse(s: &str) -> Curve {
        match s.trim().to_ascii_lowercase().as_str() {
            "linear" | "" => Curve::Linear,
            "exponential" => Curve::Exponential,
            "logarithmic" => Curve::Logarithmic,
            other => {
                log::warn!("unknown transition_curve {other:?}: using linear");
                Curve::Linear
            }
        }
    }

    fn value(self, u: f64) -> f64 {
        match self {
            Curve::Linear => u,
            Curve::Exponential => u * u,
            Curve::Logarithmic => 1.0 - (1.0 - u) * (1.0 - u),
        }
    }

    /// `integral_0^u value(v) dv`
    fn integral(self, u: f64) -> f64 {
        match self {
            Curve::Linear => 0.5 * u * u,
            Curve::Exponential => u * u * u / 3.0,
            Curve::Logarithmic => u - (1.0 - (1.0 - u).powi(3)) / 3.0,
        }
    }
}

/// Transition factor `a(n)` over step-relative sample positions (0 before `t0`, 1 after `t1`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ramp {
    /// Ramp start in samples.
    t0: f64,
    /// Ramp length in samples (0 = a step at `t0`).
    len: f64,
    curve: Curve,
}

impl Ramp {
    /// A ramp that is always 0 (non-transition voices: only start values matter).
    pub(crate) fn none() -> Ramp {
        Ramp {
            t0: f64::INFINITY,
            len: 0.0,
            curve: Curve::Linear,
        }
    }

    /// A linear ramp from sample `t0` over `len` samples.
    pub(crate) fn linear(t0: f64, len: f64) -> Ramp {
        Ramp {
            t0,
            len: len.max(0.0),
            curve: Curve::Linear,
        }
    }

    /// Reads `initial_offset`, `transition_duration` / `post_offset`, `transition_curve` (§5.2):
    /// ramp from `initial_offset` for `transition_duration` s when given, else ending
    /// `post_offset` s before the step end.
    pub(crate) fn from_params(p: &Params, sr: f64, step_duration: f64) -> Result<Ramp, TrackError> {
        let t0 = p.non_negative("initial_offset", 0.0)?;
        let t1 = match p.opt_num("transition_duration")? {
            Some(d) if d < 0.0 => {
                return Err(p.error("transition_duration", "must be a finite number >= 0"));
            }
            Some(d) => t0 + d,
            None => step_duration - p.non_negative("post_offset", 0.0)?,
        };
        let curve = Curve::parse(&p.string("transition_curve", "linear")?);
        Ok(Ramp {
            t0: t0 * sr,
            len: ((t1 - t0) * sr).max(0.0),
            curve,
        })
    }

    /// Transition factor at sample `n`.
    pub(crate) fn a(&self, n: f64) -> f64 {
        if n < self.t0 {
            0.0
        } else if n >= self.t0 + self.len {
            1.0
        } else {
            self.curve.value((n - self.t0) / self.len)
        }
    }

    /// `sum_0^n a` as a continuous integral (samples), for integrating a ramped frequency
    /// into a phase in closed form (seekable).
    pub(crate) fn integral(&self, n: f64) -> f64 {
        if n <= self.t0 {
            0.0
        } else if n >= self.t0 + self.len {
            self.len * self.curve.integral(1.0) + (n - self.t0 - self.len)
        } else {
            self.len * self.curve.integral((n - self.t0) / self.len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_matches_numeric_sum() {
        for curve in [Curve::Linear, Curve::Exponential, Curve::Logarithmic] {
            let r = Ramp {
                t0: 100.0,
                len: 1000.0,
                curve,
            };
            let mut acc = 0.0;
            let steps = 200_000;
            let h = 2000.0 / steps as f64;
            for i in 0..steps {
                acc += r.a((i as f64 + 0.5) * h) * h;
            }
            assert!(
                (acc - r.integral(2000.0)).abs() < 1e-3,
                "{curve:?}: {acc} vs {}",
                r.integral(2000.0)
            );
            assert_eq!(r.a(50.0), 0.0);
            assert_eq!(r.a(1100.0), 1.0);
        }
        assert!(
            (Ramp {
                t0: 0.0,
                len: 100.0,
                curve: Curve::Exponential
            }
            .a(50.0)
                - 0.25)
                .abs()
                < 1e-12
        );
        assert!(
            (Ramp {
                t0: 0.0,
                len: 100.0,
                curve: Curve::Logarithmic
            }
            .a(50.0)
                - 0.75)
                .abs()
                < 1e-12
        );
    }
}
