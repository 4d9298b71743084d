//! `isochronic_tone` and `isochronic_tone_transition` (FORMAT §10.2).

use super::common::{MAX_AMP, carrier, peak_f32};
use super::stereo_tone::{Freqs, StereoTone};
use super::{CarrierPhases, Voice, VoiceContext};
use crate::dsp::modulators::MAX_LFO_HZ;
use crate::dsp::osc::{IDX, RampPhase, chunks, rad_to_cycles, sin_cycles, wrap};
use crate::dsp::shapes::{Gate, pan_gains};
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp, Region};
use crate::error::TrackError;
use crate::track::params::Params;

/// A carrier (same frequency in both ears) gated by a trapezoid pulse at `beatFreq`, with the
/// binaural modulators and a static or LFO pan.
pub struct Isochronic {
    tone: StereoTone,
    ramp: Ramp,
    /// Pulse phase (LFO flavour: starts at 0).
    pulse: RampPhase,
    beat: Lerp,
    ramp_pct: Lerp,
    gap_pct: Lerp,
    /// Pan LFO limits (min, max as written; ordered per sample), rate phase and offset.
    pan_min: Lerp,
    pan_max: Lerp,
    pan_freq: Lerp,
    pan_phase: RampPhase,
    pan_offset: Lerp,
    /// The pan LFO can run at some point of the step: then pan2 is always applied (a pan
    /// crossing 0 would otherwise jump by 3 dB each time, FORMAT's `|pan| > 1e-6` rule).
    pan_lfo: bool,
    pos: u64,
    peak: f32,
}

impl Isochronic {
    /// Builds the voice from its params (`transition`: the `_transition` variant).
    pub fn new(p: &Params, transition: bool, ctx: &VoiceContext) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = if transition {
            Ramp::from_params(p, ctx.step_duration, ctx.sample_rate)?
        } else {
            Ramp::none()
        };
        let amp0 = p.in_range("amp", 0.5, 0.0, MAX_AMP)?;
        let amp = [
            r.in_range("ampL", amp0, 0.0, MAX_AMP)?,
            r.in_range("ampR", amp0, 0.0, MAX_AMP)?,
        ];
        let base = carrier(&r, "baseFreq", r.num("baseFreq", 200.0)?, sr)?;
        let beat = r.freq("beatFreq", 4.0, MAX_LFO_HZ)?;
        let ramp_pct = r.in_range("rampPercent", 0.2, 0.0, 1.0)?;
        let gap_pct = r.in_range("gapPercent", 0.15, 0.0, 1.0)?;
        let pan0 = p.in_range("pan", 0.0, -1.0, 1.0)?;
        let pan_min = r.in_range("panRangeMin", pan0, -1.0, 1.0)?;
        let pan_max = r.in_range("panRangeMax", pan0, -1.0, 1.0)?;
        let pan_freq = r.freq("panFreq", 0.0, MAX_LFO_HZ)?;
        let pan_off = r.num("panPhase", 0.0)?;
        let freqs = Freqs {
            chan: [base, base],
            mono_freq: base,
            mono: (false, false),
        };
        let tone = StereoTone::new(&r, amp, freqs, false, &ramp, sr, ctx.inherited_phases)?;
        let pan_lfo =
            !pan_freq.is_zero() && (pan_min.start != pan_max.start || pan_min.end != pan_max.end);
        let mut v = Isochronic {
            pulse: RampPhase::new(0.0, beat.start, beat.end, sr, false, &ramp),
            beat,
            ramp_pct,
            gap_pct,
            pan_min,
            pan_max,
            pan_phase: RampPhase::new(0.0, pan_freq.start, pan_freq.end, sr, false, &ramp),
            pan_freq,
            pan_offset: Lerp {
                start: rad_to_cycles(pan_off.start),
                end: rad_to_cycles(pan_off.end),
            },
            pan_lfo,
            tone,
            ramp,
            pos: 0,
            peak: 0.0,
        };
        let pk = v.tone.peak();
        let pan_gain = if pan_lfo {
            1.0
        } else {
            [0.0, 1.0]
                .iter()
                .map(|&a| v.static_pan(a).map_or(1.0, |g| g.0.max(g.1)))
                .fold(0.0, f64::max)
        };
        v.peak = peak_f32(pk[0].max(pk[1]) * pan_gain);
        Ok(v)
    }

    /// Pan gains at ramp position `a` when no LFO runs (`None`: no panning, `|pan| <= 1e-6`).
    fn static_pan(&self, a: f64) -> Option<(f64, f64)> {
        let pan = (0.5 * (self.pan_min.at(a) + self.pan_max.at(a))).clamp(-1.0, 1.0);
        if pan.abs() > 1e-6 {
            Some(pan_gains(pan))
        } else {
            None
        }
    }

    /// Pan gains at `pos` (`None`: no panning).
    #[inline(always)]
    fn pan_at(&self, pos: &Pos) -> Option<(f64, f64)> {
        if !self.pan_lfo {
            return self.static_pan(pos.a);
        }
        let (a, b) = (self.pan_min.at(pos.a), self.pan_max.at(pos.a));
        let (lo, hi) = (a.min(b), a.max(b));
        let mut pan = 0.5 * (lo + hi);
        if self.pan_freq.at(pos.a) != 0.0 && hi > lo {
            let ph = self.pan_phase.at_pos(pos) + self.pan_offset.at(pos.a);
            pan += 0.5 * (hi - lo) * sin_cycles(ph);
        }
        Some(pan_gains(pan.clamp(-1.0, 1.0)))
    }

    /// Gate value at `pos`.
    #[inline(always)]
    fn gate(&self, pos: &Pos) -> f64 {
        if self.beat.at(pos.a) <= 0.0 {
            return 0.0;
        }
        Gate::new(self.ramp_pct.at(pos.a), self.gap_pct.at(pos.a)).at(wrap(self.pulse.at_pos(pos)))
    }

    /// Constant-parameter region without tremolo, vibrato, wobble or pan LFO.
    fn render_plain(&self, region: Region, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        let a = if region == Region::After { 1.0 } else { 0.0 };
        let t = &self.tone;
        let ((ql, il), (qr, ir)) = (t.car[0].linear(region), t.car[1].linear(region));
        let (al, ar) = (t.amp[0].at(a), t.amp[1].at(a));
        let (qb, ib) = self.pulse.linear(region);
        if self.beat.at(a) <= 0.0 {
            lo.fill(0.0);
            ro.fill(0.0);
            return;
        }
        let gate = Gate::new(self.ramp_pct.at(a), self.gap_pct.at(a));
        // Output = [[m00, m01], [m10, m11]] * (x, y): identity, or the mono mix panned.
        let m = match self.static_pan(a) {
            Some((gl, gr)) => [0.5 * gl, 0.5 * gl, 0.5 * gr, 0.5 * gr],
            None => [1.0, 0.0, 0.0, 1.0],
        };
        let k = PlainIso {
            ql,
            il,
            qr,
            ir,
            al,
            ar,
            qb,
            ib,
            gate,
            m,
        };
        if ql == qr && il == ir {
            iso_same(&k, n0, lo, ro)
        } else {
            iso_two(&k, n0, lo, ro)
        }
    }
}

/// Constants of the plain isochronic loop.
struct PlainIso {
    ql: f64,
    il: f64,
    qr: f64,
    ir: f64,
    al: f64,
    ar: f64,
    qb: f64,
    ib: f64,
    gate: Gate,
    m: [f64; 4],
}

#[inline(always)]
fn iso_kernel<const SAME: bool>(k: &PlainIso, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
    for (nf0, s, len) in chunks(n0, lo.len()) {
        let (lc, rc) = (&mut lo[s..s + len], &mut ro[s..s + len]);
        for ((l, r), i) in lc.iter_mut().zip(rc.iter_mut()).zip(IDX.iter()) {
            let nf = nf0 + i;
            let g = k.gate.at(wrap(k.qb + nf * k.ib));
            let sl = sin_cycles(k.ql + nf * k.il);
            let sr = if SAME {
                sl
            } else {
                sin_cycles(k.qr + nf * k.ir)
            };
            let (x, y) = (sl * k.al * g, sr * k.ar * g);
            *l = (x * k.m[0] + y * k.m[1]) as f32;
            *r = (x * k.m[2] + y * k.m[3]) as f32;
        }
    }
}

crate::multiversion! {
    fn iso_same(k: &PlainIso, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        iso_kernel::<true>(k, n0, lo, ro)
    }
}

crate::multiversion! {
    fn iso_two(k: &PlainIso, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        iso_kernel::<false>(k, n0, lo, ro)
    }
}

impl Voice for Isochronic {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n0 = self.pos;
        let ramp = self.ramp;
        let plain = self.tone.is_plain() && !self.pan_lfo;
        ramp.split(n0, left.len(), |region, off, len| {
            let (lo, ro) = (&mut left[off..off + len], &mut right[off..off + len]);
            let start = n0 + off as u64;
            if plain && region != Region::Ramp {
                self.render_plain(region, start, lo, ro);
            } else {
                for (i, (l, r)) in lo.iter_mut().zip(ro.iter_mut()).enumerate() {
                    let pos = Pos::new(start + i as u64, &ramp);
                    let ph = self.tone.phases(&pos);
                    let (x, y) = self.tone.tone(&pos, ph);
                    let g = self.gate(&pos);
                    let (x, y) = (x * g, y * g);
                    let (x, y) = match self.pan_at(&pos) {
                        Some((gl, gr)) => {
                            let m = 0.5 * (x + y);
                            (m * gl, m * gr)
                        }
                        None => (x, y),
                    };
                    *l = x as f32;
                    *r = y as f32;
                }
            }
        });
        self.pos += left.len() as u64;
    }

    fn seek(&mut self, pos: u64) {
        self.tone.seek(pos, &self.ramp);
        self.pos = pos;
    }

    fn peak_bound(&self) -> f32 {
        self.peak
    }

    fn carrier_phases_at(&self, pos: u64) -> Option<CarrierPhases> {
        Some(self.tone.carrier_phases_at(pos, &self.ramp))
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::*;
    use crate::measure;

    const I: &str = "isochronic_tone";
    const IT: &str = "isochronic_tone_transition";

    #[test]
    fn carrier_pulse_rate_and_duty() {
        let j = r#"{"amp": 0.4, "baseFreq": 300, "beatFreq": 6, "rampPercent": 0.2, "gapPercent": 0.15}"#;
        let (l, r) = full(I, j, 6.0);
        assert_close("L", freq(win(&l, 1.0, 5.0), 50.0, 2000.0), 300.0, 0.1);
        assert_close("R", freq(win(&r, 1.0, 5.0), 50.0, 2000.0), 300.0, 0.1);
        assert_close(
            "AM",
            measure::modulation_rate(&l, 44100.0, 300.0, 0.5, 40.0),
            6.0,
            0.05,
        );
        assert_eq!(l, r);
        // Duty: gap 15 % of each cycle is silent: count silent 1 ms blocks.
        let blocks: Vec<f32> = l.chunks(44).map(measure::peak).collect();
        let silent = blocks.iter().filter(|p| **p < 1e-6).count() as f64 / blocks.len() as f64;
        assert_close("silent fraction", silent, 0.15, 0.02);
        // Level: trapezoid mean square = A - 4q/3 = 0.85 - 4*0.17/3 of a 0.4 sine.
        let ms = 0.4f64.powi(2) / 2.0 * (0.85 - 4.0 * 0.17 / 3.0);
        assert_close(
            "dBFS",
            measure::rms_dbfs(win(&l, 0.0, 6.0)),
            10.0 * ms.log10(),
            0.05,
        );
        check_blocks_and_peak(I, j, 2.0);
        check_seek(I, j, 6.0, &[0.0, 1.234, 4.5]);
    }

    #[test]
    fn pan_balance() {
        let (l, r) = full(
            I,
            r#"{"amp": 0.5, "baseFreq": 400, "beatFreq": 5, "pan": 0.5}"#,
            2.0,
        );
        // pan2 at 0.5: L cos(3pi/8), R sin(3pi/8).
        let want = 20.0 * ((3.0 * std::f64::consts::PI / 8.0).tan()).log10();
        assert_close(
            "R-L dB",
            measure::rms_dbfs(&r) - measure::rms_dbfs(&l),
            want,
            0.05,
        );
        let j = r#"{"baseFreq": 400, "beatFreq": 5, "panRangeMin": -1, "panRangeMax": 1, "panFreq": 0.5, "ampOscDepthL": 0.2, "ampOscFreqL": 3}"#;
        let (l, r) = full(I, j, 4.0);
        // t in [0.25, 0.75]: pan near +1 -> right louder; [1.25, 1.75]: left louder.
        assert!(measure::rms(win(&r, 0.3, 0.7)) > 5.0 * measure::rms(win(&l, 0.3, 0.7)));
        assert!(measure::rms(win(&l, 1.3, 1.7)) > 5.0 * measure::rms(win(&r, 1.3, 1.7)));
        check_blocks_and_peak(I, j, 3.0);
        check_seek(I, j, 3.0, &[0.77, 2.0]);
    }

    #[test]
    fn transition_rates() {
        let j = r#"{"startBaseFreq": 400, "endBaseFreq": 300, "startBeatFreq": 10, "endBeatFreq": 5,
                    "startAmpL": 0.3, "startAmpR": 0.3, "endAmpL": 0.6, "endAmpR": 0.6,
                    "startGapPercent": 0.1, "endGapPercent": 0.3, "initial_offset": 3, "post_offset": 3}"#;
        let (l, _) = full(IT, j, 16.0);
        assert_close(
            "carrier start",
            freq(win(&l, 0.0, 2.9), 50.0, 2000.0),
            400.0,
            0.1,
        );
        assert_close(
            "carrier end",
            freq(win(&l, 13.1, 16.0), 50.0, 2000.0),
            300.0,
            0.1,
        );
        assert_close(
            "AM start",
            measure::modulation_rate(win(&l, 0.0, 2.95), 44100.0, 400.0, 0.5, 40.0),
            10.0,
            0.05,
        );
        assert_close(
            "AM end",
            measure::modulation_rate(win(&l, 13.05, 16.0), 44100.0, 300.0, 0.5, 40.0),
            5.0,
            0.05,
        );
        check_blocks_and_peak(IT, j, 16.0);
        check_seek(IT, j, 16.0, &[2.5, 3.0, 8.0, 13.5]);
    }

    #[test]
    fn zero_beat_is_silent_and_phase_carry() {
        let (l, _) = full(I, r#"{"beatFreq": 0}"#, 0.5);
        assert_eq!(measure::peak(&l), 0.0);
        check_phase_carry(
            I,
            r#"{"baseFreq": 200, "beatFreq": 0.01, "rampPercent": 0, "gapPercent": 0}"#,
        );
    }
}
