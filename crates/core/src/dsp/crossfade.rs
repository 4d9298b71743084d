//! Step-to-step crossfade curves (FORMAT §4.2).

/// Shape of the crossfade between two steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossfadeCurve {
    /// `g_out = 1 - r`, `g_in = r`.
    #[default]
    Linear,
    /// `g_out = cos(r * pi/2)`, `g_in = sin(r * pi/2)`: constant summed power.
    EqualPower,
}

impl CrossfadeCurve {
    /// Parses the file's `crossfade_curve`: `"equal_power"`, anything else is linear.
    pub fn parse(s: &str) -> Self {
        if s == "equal_power" {
            CrossfadeCurve::EqualPower
        } else {
            CrossfadeCurve::Linear
        }
    }

    /// `(g_out, g_in)` at position `r` in `[0, 1]`.
    #[inline]
    pub fn gains(self, r: f64) -> (f32, f32) {
        match self {
            CrossfadeCurve::Linear => ((1.0 - r) as f32, r as f32),
            CrossfadeCurve::EqualPower => {
                let a = r * std::f64::consts::FRAC_PI_2;
                (a.cos() as f32, a.sin() as f32)
            }
        }
    }

    /// Largest `bound_out * g_out + bound_in * g_in` over the fade, for peak bounds.
    pub fn peak_bound(self, bound_out: f32, bound_in: f32) -> f32 {
        match self {
            CrossfadeCurve::Linear => bound_out.max(bound_in),
            CrossfadeCurve::EqualPower => (bound_out * bound_out + bound_in * bound_in).sqrt(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_power_keeps_power() {
        for i in 0..=100 {
            let (o, n) = CrossfadeCurve::EqualPower.gains(i as f64 / 100.0);
            assert!(((o * o + n * n) - 1.0).abs() < 1e-6);
            let (o, n) = CrossfadeCurve::Linear.gains(i as f64 / 100.0);
            assert!((o + n - 1.0).abs() < 1e-6);
        }
    }
}
