//! `spatial_angle_modulation` and its `_transition` (FORMAT §10.9, RB's simple auto-panner).

use super::common::{MAX_AMP, carrier, peak_f32};
use super::{Voice, VoiceContext};
use crate::dsp::modulators::MAX_LFO_HZ;
use crate::dsp::osc::{RampPhase, sin_cycles};
use crate::dsp::shapes::pan_gains;
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp};
use crate::error::TrackError;
use crate::track::params::Params;

/// A sine carrier panned by `pan(t) = sin(2*pi*beatFreq*t) * pathRadius` (equal power).
pub struct SpatialAngle {
    ramp: Ramp,
    amp: Lerp,
    car: RampPhase,
    lfo: RampPhase,
    radius: Lerp,
    pos: u64,
    peak: f32,
}

impl SpatialAngle {
    /// Builds the voice from its params (`transition`: the `_transition` variant).
    pub fn new(p: &Params, transition: bool, ctx: &VoiceContext) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = if transition {
            Ramp::from_params(p, ctx.step_duration, ctx.sample_rate)?
        } else {
            Ramp::none()
        };
        let amp = r.in_range("amp", 0.7, 0.0, MAX_AMP)?;
        let cf = carrier(&r, "carrierFreq", r.num("carrierFreq", 440.0)?, sr)?;
        let beat = r.freq("beatFreq", 4.0, MAX_LFO_HZ)?;
        let radius = r.in_range("pathRadius", 1.0, 0.0, 1.0)?;
        // Largest pan gain over pan in [-r, r] is sin((r + 1) * pi/4).
        let g = pan_gains(radius.max()).1;
        Ok(SpatialAngle {
            car: RampPhase::new(0.0, cf.start, cf.end, sr, true, &ramp),
            lfo: RampPhase::new(0.0, beat.start, beat.end, sr, false, &ramp),
            ramp,
            peak: peak_f32(amp.max() * g),
            amp,
            radius,
            pos: 0,
        })
    }
}

impl Voice for SpatialAngle {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let pos = Pos::new(self.pos + i as u64, &self.ramp);
            let s = sin_cycles(self.car.at_pos(&pos)) * self.amp.at(pos.a);
            let pan = sin_cycles(self.lfo.at_pos(&pos)) * self.radius.at(pos.a);
            let (gl, gr) = pan_gains(pan);
            *l = (s * gl) as f32;
            *r = (s * gr) as f32;
        }
        self.pos += left.len() as u64;
    }

    fn seek(&mut self, pos: u64) {
        self.pos = pos;
    }

    fn peak_bound(&self) -> f32 {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::*;
    use crate::measure;

    #[test]
    fn pans_at_beat_rate() {
        let n = "spatial_angle_modulation";
        let j = r#"{"amp": 0.5, "carrierFreq": 440, "beatFreq": 0.5, "pathRadius": 1.0}"#;
        let (l, r) = full(n, j, 4.0);
        assert_close("L", freq(&l, 50.0, 2000.0), 440.0, 0.1);
        // t = 0.5 s: pan +1 (right only); t = 1.5 s: pan -1.
        assert!(measure::rms(win(&r, 0.4, 0.6)) > 10.0 * measure::rms(win(&l, 0.4, 0.6)));
        assert!(measure::rms(win(&l, 1.4, 1.6)) > 10.0 * measure::rms(win(&r, 1.4, 1.6)));
        // Equal power: L^2 + R^2 constant = amp^2/2 in any 0.1 s window.
        let p = |a: f64, b: f64| {
            measure::rms(win(&l, a, b)).powi(2) + measure::rms(win(&r, a, b)).powi(2)
        };
        assert_close("power", p(0.2, 0.3), 0.125, 0.002);
        assert_close("power", p(1.0, 1.1), 0.125, 0.002);
        check_blocks_and_peak(n, j, 2.0);
        let t = "spatial_angle_modulation_transition";
        let jt = r#"{"startCarrierFreq": 300, "endCarrierFreq": 500, "startPathRadius": 0.2, "endPathRadius": 0.9, "beatFreq": 2,
                     "initial_offset": 2, "post_offset": 2}"#;
        let (l, _) = full(t, jt, 6.0);
        assert_close("start", freq(win(&l, 0.0, 1.95), 50.0, 2000.0), 300.0, 0.1);
        assert_close("end", freq(win(&l, 4.05, 6.0), 50.0, 2000.0), 500.0, 0.1);
        check_blocks_and_peak(t, jt, 6.0);
        check_seek(t, jt, 6.0, &[0.7, 4.4]);
        assert!(build_err(n, r#"{"pathRadius": 1.5}"#).contains("params.pathRadius"));
    }
}
