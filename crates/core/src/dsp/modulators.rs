//! Modulators shared by binaural, isochronic, QAM and monaural voices (FORMAT §10.1):
//! tremolo (`ampOsc*`), vibrato (`freqOsc*`) and the interaural phase wobble (`phaseOsc*`).
//!
//! LFO phases are integrated like carriers ([`RampPhase`], LFO flavour: `t` directly), so a
//! rate that glides during a transition stays click-free; with a constant rate this is the
//! same as `freq * t`.

use super::osc::{RampPhase, rad_to_cycles, sin_cycles, wrap};
use super::shapes::{skew_sine, skew_tri};
use super::transition::{Lerp, ParamReader, Pos, Ramp};
use crate::error::TrackError;

/// Highest LFO rate accepted (Hz).
pub const MAX_LFO_HZ: f64 = 1000.0;

/// Tremolo `e = 1 - depth * (1 + S(frac(freq*t + offset/2pi), skew)) / 2`, in `[1 - depth, 1]`.
#[derive(Debug, Clone, Copy)]
pub struct Tremolo {
    depth: Lerp,
    skew: Lerp,
    /// Phase offset in cycles.
    offset: Lerp,
    phase: RampPhase,
    /// False when depth or rate is 0 at both ends: the gain is 1.
    pub active: bool,
}

impl Tremolo {
    /// Reads `ampOscDepth{ch}`, `ampOscFreq{ch}`, `ampOscPhaseOffset{ch}`, `ampOscSkew{ch}`.
    pub fn read(r: &ParamReader, ch: &str, ramp: &Ramp, sr: f64) -> Result<Self, TrackError> {
        let depth = r.in_range(&format!("ampOscDepth{ch}"), 0.0, 0.0, 2.0)?;
        let freq = r.freq(&format!("ampOscFreq{ch}"), 0.0, MAX_LFO_HZ)?;
        let off = r.num(&format!("ampOscPhaseOffset{ch}"), 0.0)?;
        let skew = r.in_range(&format!("ampOscSkew{ch}"), 0.0, -1.0, 1.0)?;
        Ok(Tremolo {
            depth,
            skew,
            offset: Lerp {
                start: rad_to_cycles(off.start),
                end: rad_to_cycles(off.end),
            },
            phase: RampPhase::new(0.0, freq.start, freq.end, sr, false, ramp),
            active: !depth.is_zero() && !freq.is_zero(),
        })
    }

    /// The gain at `pos` (1 when inactive).
    #[inline(always)]
    pub fn gain(&self, pos: &Pos) -> f64 {
        if !self.active {
            return 1.0;
        }
        let p = wrap(self.phase.at_pos(pos) + self.offset.at(pos.a));
        1.0 - self.depth.at(pos.a) * (1.0 + skew_sine(p, self.skew.at(pos.a))) * 0.5
    }

    /// Largest `|gain|` over the step: `max(1, depth - 1)`.
    pub fn max_gain(&self) -> f64 {
        if self.active {
            1.0f64.max(self.depth.max() - 1.0)
        } else {
            1.0
        }
    }
}

/// Vibrato: frequency offset `(range/2) * W(frac(freq*t + offset/2pi), skew)` Hz, `W` a
/// skewed sine or triangle.
#[derive(Debug, Clone, Copy)]
pub struct Vibrato {
    range: Lerp,
    skew: Lerp,
    offset: Lerp,
    phase: RampPhase,
    triangle: bool,
    /// False when range or rate is 0 at both ends.
    pub active: bool,
}

impl Vibrato {
    /// Reads `freqOscRange{ch}`, `freqOscFreq{ch}`, `freqOscSkew{ch}`, `freqOscPhaseOffset{ch}`.
    pub fn read(
        r: &ParamReader,
        ch: &str,
        triangle: bool,
        ramp: &Ramp,
        sr: f64,
    ) -> Result<Self, TrackError> {
        let range = r.non_negative(&format!("freqOscRange{ch}"), 0.0)?;
        let freq = r.freq(&format!("freqOscFreq{ch}"), 0.0, MAX_LFO_HZ)?;
        let skew = r.in_range(&format!("freqOscSkew{ch}"), 0.0, -1.0, 1.0)?;
        let off = r.num(&format!("freqOscPhaseOffset{ch}"), 0.0)?;
        Ok(Vibrato {
            range,
            skew,
            offset: Lerp {
                start: rad_to_cycles(off.start),
                end: rad_to_cycles(off.end),
            },
            phase: RampPhase::new(0.0, freq.start, freq.end, sr, false, ramp),
            triangle,
            active: !range.is_zero() && !freq.is_zero(),
        })
    }

    /// Frequency offset in Hz at `pos`.
    #[inline(always)]
    pub fn offset_hz(&self, pos: &Pos) -> f64 {
        let p = wrap(self.phase.at_pos(pos) + self.offset.at(pos.a));
        let k = self.skew.at(pos.a);
        let w = if self.triangle {
            skew_tri(p, k)
        } else {
            skew_sine(p, k)
        };
        0.5 * self.range.at(pos.a) * w
    }

    /// Largest frequency offset (Hz).
    pub fn max_offset_hz(&self) -> f64 {
        if self.active {
            0.5 * self.range.max()
        } else {
            0.0
        }
    }
}

/// Interaural phase wobble `d = (range/2) * sin(2*pi*freq*t + offset)` radians, returned in
/// cycles; left carriers use `phi - d`, right ones `phi + d`.
#[derive(Debug, Clone, Copy)]
pub struct Wobble {
    /// Half range in cycles.
    half: Lerp,
    phase: RampPhase,
    /// False when range or rate is 0 at both ends.
    pub active: bool,
}

impl Wobble {
    /// Reads `phaseOscFreq`, `phaseOscRange` and a fixed offset in radians.
    pub fn read(
        r: &ParamReader,
        offset_rad: f64,
        ramp: &Ramp,
        sr: f64,
    ) -> Result<Self, TrackError> {
        let freq = r.freq("phaseOscFreq", 0.0, MAX_LFO_HZ)?;
        let range = r.non_negative("phaseOscRange", 0.0)?;
        let half = Lerp {
            start: rad_to_cycles(0.5 * range.start),
            end: rad_to_cycles(0.5 * range.end),
        };
        Ok(Wobble {
            half,
            phase: RampPhase::new(
                rad_to_cycles(offset_rad),
                freq.start,
                freq.end,
                sr,
                false,
                ramp,
            ),
            active: !range.is_zero() && !freq.is_zero(),
        })
    }

    /// `d` in cycles at `pos` (0 when inactive).
    #[inline(always)]
    pub fn cycles(&self, pos: &Pos) -> f64 {
        if !self.active {
            return 0.0;
        }
        self.half.at(pos.a) * sin_cycles(self.phase.at_pos(pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::params::Params;
    use std::sync::Arc;

    fn params(json: &str) -> Params {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        Params::new(v.as_object().unwrap().clone(), Arc::from("t.json"), "p")
    }

    #[test]
    fn tremolo_range_and_rate() {
        let p = params(r#"{"ampOscDepthL": 0.6, "ampOscFreqL": 2.0}"#);
        let ramp = Ramp::none();
        let t = Tremolo::read(&ParamReader::new(&p, false), "L", &ramp, 1000.0).unwrap();
        assert!(t.active);
        // t = 0.125 s: S = sin(2*pi*0.25) = 1 -> e = 1 - 0.6 = 0.4; t = 0.375: S = -1 -> 1.
        assert!((t.gain(&Pos::new(125, &ramp)) - 0.4).abs() < 1e-8);
        assert!((t.gain(&Pos::new(375, &ramp)) - 1.0).abs() < 1e-8);
        assert_eq!(t.max_gain(), 1.0);
        let off =
            Tremolo::read(&ParamReader::new(&params("{}"), false), "R", &ramp, 1000.0).unwrap();
        assert!(!off.active);
        assert_eq!(off.gain(&Pos::new(3, &ramp)), 1.0);
    }

    #[test]
    fn vibrato_and_wobble() {
        let p = params(
            r#"{"freqOscRangeL": 10, "freqOscFreqL": 1, "phaseOscFreq": 2, "phaseOscRange": 0.5}"#,
        );
        let ramp = Ramp::none();
        let r = ParamReader::new(&p, false);
        let v = Vibrato::read(&r, "L", false, &ramp, 1000.0).unwrap();
        assert!((v.offset_hz(&Pos::new(250, &ramp)) - 5.0).abs() < 1e-7);
        let tri = Vibrato::read(&r, "L", true, &ramp, 1000.0).unwrap();
        assert!((tri.offset_hz(&Pos::new(0, &ramp)) + 5.0).abs() < 1e-9);
        let w = Wobble::read(&r, 0.0, &ramp, 1000.0).unwrap();
        assert!((w.cycles(&Pos::new(125, &ramp)) - 0.25 / std::f64::consts::TAU).abs() < 1e-9);
    }

    #[test]
    fn bad_values_name_the_key() {
        let p = params(r#"{"startAmpOscDepthL": 0.2, "endAmpOscDepthL": 3}"#);
        let e = Tremolo::read(&ParamReader::new(&p, true), "L", &Ramp::none(), 1000.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.endAmpOscDepthL"), "{e}");
    }
}
