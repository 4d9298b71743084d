//! The P2 amplitude-modulation voices of FORMAT §10.6-10.8: `stereo_am_independent`,
//! `wave_shape_stereo_am`, `rhythmic_waveshaping` (each with `_transition`).
//!
//! They share one shape: a sine carrier, a slow AM `1 - depth * (1 - sin(lfo)) / 2` (in
//! `[1 - depth, 1]`), optionally a `tanh` waveshaper, then per-channel AM or a pan. These are
//! rendered per sample through [`Pos`] (closed-form phases, so block sizes and `seek` are exact).

use super::common::{carrier, peak_f32};
use super::{Voice, VoiceContext};
use crate::dsp::modulators::MAX_LFO_HZ;
use crate::dsp::osc::{RampPhase, rad_to_cycles, sin_cycles};
use crate::dsp::shapes::pan_gains;
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp};
use crate::error::TrackError;
use crate::track::params::Params;

/// `1 - depth * (1 - sin(2*pi*(freq*t) + phase)) / 2` with a gliding rate and depth.
#[derive(Debug, Clone, Copy)]
struct SlowAm {
    depth: Lerp,
    phase: RampPhase,
}

impl SlowAm {
    fn new(freq: Lerp, depth: Lerp, phase_rad: f64, ramp: &Ramp, sr: f64) -> Self {
        SlowAm {
            depth,
            phase: RampPhase::new(
                rad_to_cycles(phase_rad),
                freq.start,
                freq.end,
                sr,
                false,
                ramp,
            ),
        }
    }

    #[inline(always)]
    fn gain(&self, pos: &Pos) -> f64 {
        1.0 - self.depth.at(pos.a) * (1.0 - sin_cycles(self.phase.at_pos(pos))) * 0.5
    }
}

/// What follows the carrier and its first AM.
#[derive(Debug, Clone, Copy)]
enum Post {
    /// Independent AM per channel (`stereo_am_independent`: the carrier AM is per channel too).
    Stereo([SlowAm; 2]),
    /// `tanh` shaper, then AM per channel (`wave_shape_stereo_am`).
    ShapeStereo(Lerp, [SlowAm; 2]),
    /// `tanh` shaper, then a static pan (`rhythmic_waveshaping`).
    ShapePan(Lerp, (f64, f64)),
}

/// One of the three AM voices.
pub struct AmVoice {
    ramp: Ramp,
    amp: Lerp,
    /// Carrier of each channel (equal except for `stereo_am_independent`'s width).
    car: [RampPhase; 2],
    /// AM applied to the carrier before the shaper (`None` for `stereo_am_independent`).
    pre: Option<SlowAm>,
    post: Post,
    pos: u64,
    peak: f32,
}

/// `tanh(k x) / tanh(k)`, `k = max(shape, 1e-6)`.
#[inline(always)]
fn shaper(x: f64, shape: f64) -> f64 {
    let k = shape.max(1e-6);
    (k * x).tanh() / k.tanh()
}

fn ramp_for(p: &Params, transition: bool, ctx: &VoiceContext) -> Result<Ramp, TrackError> {
    if transition {
        Ramp::from_params(p, ctx.step_duration, ctx.sample_rate)
    } else {
        Ok(Ramp::none())
    }
}

/// Depth in [0, 1] keeps every AM gain in [0, 1] and the shaper input in [-1, 1].
fn depth(r: &ParamReader, key: &str, default: f64) -> Result<Lerp, TrackError> {
    r.in_range(key, default, 0.0, 1.0)
}

impl AmVoice {
    /// `stereo_am_independent` (FORMAT §10.6).
    pub fn stereo_am_independent(
        p: &Params,
        transition: bool,
        ctx: &VoiceContext,
    ) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = ramp_for(p, transition, ctx)?;
        let amp = r.amp("amp", 0.25)?;
        let cf = r.non_negative("carrierFreq", 200.0)?;
        let width = r.non_negative_keys(
            "startStereoWidthHz",
            "endStereoWidthHz",
            "stereo_width_hz",
            0.2,
        )?;
        let fl = Lerp {
            start: cf.start - 0.5 * width.start,
            end: cf.end - 0.5 * width.end,
        };
        let fr = Lerp {
            start: cf.start + 0.5 * width.start,
            end: cf.end + 0.5 * width.end,
        };
        carrier(&r, "carrierFreq", fr, sr)?;
        let fl = r.check(
            "stereo_width_hz",
            fl,
            |x| x >= 0.0,
            "must not exceed 2 * carrierFreq",
        )?;
        // Transition start defaults of FORMAT §10.6 (R's rate 4.1).
        let fr_default = if transition { 4.1 } else { 4.0 };
        let am = [("L", 4.0), ("R", fr_default)].map(|(ch, fd)| -> Result<SlowAm, TrackError> {
            let f = r.freq(&format!("modFreq{ch}"), fd, MAX_LFO_HZ)?;
            let d = depth(&r, &format!("modDepth{ch}"), 0.8)?;
            Ok(SlowAm::new(
                f,
                d,
                r.fixed(&format!("modPhase{ch}"), 0.0)?,
                &ramp,
                sr,
            ))
        });
        let [l, r] = am;
        let am = [l?, r?];
        Ok(AmVoice {
            car: [
                RampPhase::new(0.0, fl.start, fl.end, sr, true, &ramp),
                RampPhase::new(0.0, fr.start, fr.end, sr, true, &ramp),
            ],
            ramp,
            peak: peak_f32(amp.max()),
            amp,
            pre: None,
            post: Post::Stereo(am),
            pos: 0,
        })
    }

    /// `wave_shape_stereo_am` (FORMAT §10.7).
    pub fn wave_shape_stereo_am(
        p: &Params,
        transition: bool,
        ctx: &VoiceContext,
    ) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = ramp_for(p, transition, ctx)?;
        let amp = r.amp("amp", 0.15)?;
        let cf = carrier(&r, "carrierFreq", r.num("carrierFreq", 200.0)?, sr)?;
        let pre = SlowAm::new(
            r.freq("shapeModFreq", 4.0, MAX_LFO_HZ)?,
            depth(&r, "shapeModDepth", 0.8)?,
            0.0,
            &ramp,
            sr,
        );
        let shape = r.in_range("shapeAmount", 0.5, 0.0, 1000.0)?;
        let dr_default = if transition { 0.9 } else { 0.8 };
        let defaults = [
            ("L", 4.1, 0.8, 0.0),
            ("R", 4.0, dr_default, std::f64::consts::FRAC_PI_2),
        ];
        let am = defaults.map(|(ch, fd, dd, pd)| -> Result<SlowAm, TrackError> {
            let f = r.freq(&format!("stereoModFreq{ch}"), fd, MAX_LFO_HZ)?;
            let d = depth(&r, &format!("stereoModDepth{ch}"), dd)?;
            Ok(SlowAm::new(
                f,
                d,
                r.fixed(&format!("stereoModPhase{ch}"), pd)?,
                &ramp,
                sr,
            ))
        });
        let [l, r] = am;
        let am = [l?, r?];
        let c = RampPhase::new(0.0, cf.start, cf.end, sr, true, &ramp);
        Ok(AmVoice {
            ramp,
            peak: peak_f32(amp.max()),
            amp,
            car: [c, c],
            pre: Some(pre),
            post: Post::ShapeStereo(shape, am),
            pos: 0,
        })
    }

    /// `rhythmic_waveshaping` (FORMAT §10.8).
    pub fn rhythmic_waveshaping(
        p: &Params,
        transition: bool,
        ctx: &VoiceContext,
    ) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = ramp_for(p, transition, ctx)?;
        let amp = r.amp("amp", 0.25)?;
        let cf = carrier(&r, "carrierFreq", r.num("carrierFreq", 200.0)?, sr)?;
        let pre = SlowAm::new(
            r.freq("modFreq", 4.0, MAX_LFO_HZ)?,
            depth(&r, "modDepth", 1.0)?,
            0.0,
            &ramp,
            sr,
        );
        let shape = r.in_range("shapeAmount", 5.0, 0.0, 1000.0)?;
        let pan = pan_gains(p.in_range("pan", 0.0, -1.0, 1.0)?);
        let c = RampPhase::new(0.0, cf.start, cf.end, sr, true, &ramp);
        Ok(AmVoice {
            ramp,
            peak: peak_f32(amp.max() * pan.0.max(pan.1)),
            amp,
            car: [c, c],
            pre: Some(pre),
            post: Post::ShapePan(shape, pan),
            pos: 0,
        })
    }

    #[inline(always)]
    fn sample(&self, pos: &Pos) -> (f64, f64) {
        let amp = self.amp.at(pos.a);
        let s0 = sin_cycles(self.car[0].at_pos(pos));
        match &self.post {
            Post::Stereo(am) => {
                let s1 = sin_cycles(self.car[1].at_pos(pos));
                (s0 * am[0].gain(pos) * amp, s1 * am[1].gain(pos) * amp)
            }
            Post::ShapeStereo(k, am) => {
                let x = s0 * self.pre.map_or(1.0, |m| m.gain(pos));
                let y = shaper(x, k.at(pos.a)) * amp;
                (y * am[0].gain(pos), y * am[1].gain(pos))
            }
            Post::ShapePan(k, (gl, gr)) => {
                let x = s0 * self.pre.map_or(1.0, |m| m.gain(pos));
                let y = shaper(x, k.at(pos.a)) * amp;
                (y * gl, y * gr)
            }
        }
    }
}

impl Voice for AmVoice {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let (x, y) = self.sample(&Pos::new(self.pos + i as u64, &self.ramp));
            *l = x as f32;
            *r = y as f32;
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
    fn stereo_am_independent_rates() {
        let n = "stereo_am_independent";
        let j = r#"{"amp": 0.3, "carrierFreq": 300, "stereo_width_hz": 4, "modFreqL": 3, "modFreqR": 5, "modDepthL": 0.8, "modDepthR": 0.5}"#;
        let (l, r) = full(n, j, 6.0);
        assert_close("L", freq(&l, 50.0, 2000.0), 298.0, 0.1);
        assert_close("R", freq(&r, 50.0, 2000.0), 302.0, 0.1);
        assert_close(
            "AM L",
            measure::modulation_rate(&l, 44100.0, 300.0, 0.5, 40.0),
            3.0,
            0.05,
        );
        assert_close(
            "AM R",
            measure::modulation_rate(&r, 44100.0, 300.0, 0.5, 40.0),
            5.0,
            0.05,
        );
        check_blocks_and_peak(n, j, 2.0);
        check_seek(n, j, 3.0, &[1.1]);
        let t = "stereo_am_independent_transition";
        let jt = r#"{"startCarrierFreq": 200, "endCarrierFreq": 250, "startModFreqL": 4, "endModFreqL": 6, "initial_offset": 1, "post_offset": 1}"#;
        let (l, _) = full(t, jt, 8.0);
        assert_close("start", freq(win(&l, 0.0, 0.95), 50.0, 2000.0), 199.9, 0.15);
        assert_close("end", freq(win(&l, 7.05, 8.0), 50.0, 2000.0), 249.9, 0.15);
        assert_close(
            "AM end",
            measure::modulation_rate(win(&l, 7.0, 8.0), 44100.0, 250.0, 0.5, 40.0),
            6.0,
            0.3,
        );
        check_blocks_and_peak(t, jt, 8.0);
        check_seek(t, jt, 8.0, &[0.5, 3.0, 7.5]);
    }

    #[test]
    fn wave_shape_stereo_am() {
        let n = "wave_shape_stereo_am";
        let j = r#"{"amp": 0.5, "carrierFreq": 220, "shapeModFreq": 0.5, "stereoModFreqL": 3, "stereoModFreqR": 7}"#;
        let (l, r) = full(n, j, 6.0);
        assert_close("L", freq(&l, 50.0, 400.0), 220.0, 0.1);
        assert_close(
            "AM R",
            measure::modulation_rate(&r, 44100.0, 220.0, 2.0, 40.0),
            7.0,
            0.05,
        );
        assert_close(
            "AM L",
            measure::modulation_rate(&l, 44100.0, 220.0, 2.0, 40.0),
            3.0,
            0.05,
        );
        check_blocks_and_peak(n, j, 2.0);
        let t = "wave_shape_stereo_am_transition";
        let jt = r#"{"startCarrierFreq": 200, "endCarrierFreq": 100, "startShapeAmount": 0.5, "endShapeAmount": 3,
                     "initial_offset": 2, "post_offset": 2}"#;
        let (l, _) = full(t, jt, 6.0);
        assert_close("start", freq(win(&l, 0.0, 1.95), 50.0, 400.0), 200.0, 0.1);
        assert_close("end", freq(win(&l, 4.05, 6.0), 50.0, 400.0), 100.0, 0.1);
        check_blocks_and_peak(t, jt, 6.0);
        check_seek(t, jt, 6.0, &[2.0, 5.0]);
    }

    #[test]
    fn rhythmic_waveshaping_pan_and_rate() {
        let n = "rhythmic_waveshaping";
        let (l, r) = full(n, r#"{"amp": 0.4, "carrierFreq": 150, "modFreq": 5}"#, 4.0);
        // pan 0: 0.707 per channel; the shaped peak is amp * 0.707.
        assert_eq!(l, r);
        assert_close("peak", measure::peak(&l) as f64, 0.4 * 0.5f64.sqrt(), 0.002);
        assert_close(
            "AM",
            measure::modulation_rate(&l, 44100.0, 150.0, 0.5, 40.0),
            5.0,
            0.05,
        );
        assert_close("carrier", freq(&l, 50.0, 200.0), 150.0, 0.1);
        let (l, r) = full(n, r#"{"pan": -1}"#, 1.0);
        assert!(measure::peak(&r) < 1e-6 && measure::peak(&l) > 0.24);
        check_blocks_and_peak(
            "rhythmic_waveshaping_transition",
            r#"{"startModFreq": 2, "endModFreq": 9, "pan": 0.3}"#,
            3.0,
        );
        check_seek(
            "rhythmic_waveshaping_transition",
            r#"{"startModFreq": 2, "endModFreq": 9}"#,
            3.0,
            &[1.5],
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert!(
            build_err("stereo_am_independent", r#"{"modDepthL": 2}"#).contains("params.modDepthL")
        );
        assert!(build_err("wave_shape_stereo_am", r#"{"carrierFreq": 1e6}"#).contains("Nyquist"));
        assert!(
            build_err("rhythmic_waveshaping_transition", r#"{"endAmp": -1}"#)
                .contains("params.endAmp")
        );
    }
}
