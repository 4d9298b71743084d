//! `monaural_beat_stereo_amps` and its `_transition` (FORMAT §11.1, PY only in the original).

use super::common::{MAX_AMP, carrier, peak_f32};
use super::{CarrierPhases, Voice, VoiceContext};
use crate::dsp::modulators::{MAX_LFO_HZ, Wobble};
use crate::dsp::osc::{IDX, RampPhase, chunks, rad_to_cycles, sin_cycles};
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp, Region};
use crate::error::TrackError;
use crate::track::params::Params;

/// Two tones `baseFreq -/+ beatFreq/2` mixed into both channels with four amplitudes, an
/// optional slow AM and the phase wobble; each channel clipped to [-1, 1].
pub struct Monaural {
    ramp: Ramp,
    /// `[lower->L, upper->L, lower->R, upper->R]`.
    amps: [Lerp; 4],
    /// Lower and upper tone.
    car: [RampPhase; 2],
    wob: Wobble,
    am_depth: Lerp,
    am_freq: Lerp,
    am_offset: Lerp,
    am_phase: RampPhase,
    am_active: bool,
    pos: u64,
    peak: f32,
}

impl Monaural {
    /// Builds the voice from its params (`transition`: the `_transition` variant).
    pub fn new(p: &Params, transition: bool, ctx: &VoiceContext) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = if transition {
            Ramp::from_params(p, ctx.step_duration, ctx.sample_rate)?
        } else {
            Ramp::none()
        };
        let mut amps = [Lerp::fixed(0.0); 4];
        for (i, key) in ["amp_lower_L", "amp_upper_L", "amp_lower_R", "amp_upper_R"]
            .iter()
            .enumerate()
        {
            let v = r.keys(&format!("start_{key}"), &format!("end_{key}"), key, 0.5)?;
            let bad = |x: f64| !(0.0..=MAX_AMP).contains(&x);
            if bad(v.start) || bad(v.end) {
                let k = if transition {
                    format!("start_{key}` / `end_{key}")
                } else {
                    key.to_string()
                };
                return Err(p.error(&k, format!("must be a finite number in [0, {MAX_AMP}]")));
            }
            amps[i] = v;
        }
        let base = r.non_negative("baseFreq", 200.0)?;
        let beat = r.num("beatFreq", 4.0)?;
        let lo = Lerp {
            start: base.start - 0.5 * beat.start,
            end: base.end - 0.5 * beat.end,
        };
        let hi = Lerp {
            start: base.start + 0.5 * beat.start,
            end: base.end + 0.5 * beat.end,
        };
        // max(0, f): exact for a whole ramp only if the sign does not change along it.
        let clamp = |f: Lerp, key: &str| -> Result<Lerp, TrackError> {
            if f.start < 0.0 && f.end < 0.0 || f.start <= 0.0 && f.end <= 0.0 {
                Ok(Lerp::fixed(0.0))
            } else if f.start < 0.0 || f.end < 0.0 {
                Err(p.error(
                    key,
                    "baseFreq -/+ beatFreq/2 changes sign during the transition",
                ))
            } else {
                Ok(f)
            }
        };
        let (lo, hi) = (clamp(lo, "beatFreq")?, clamp(hi, "beatFreq")?);
        carrier(&r, "baseFreq", hi, sr)?;
        carrier(&r, "baseFreq", lo, sr)?;
        let p0 = match ctx.inherited_phases {
            Some(ph) => ph,
            None => [
                rad_to_cycles(r.fixed("startPhaseL", 0.0)?),
                rad_to_cycles(if transition && p.has("startStartPhaseU") {
                    p.num("startStartPhaseU", 0.0)?
                } else {
                    r.fixed("startPhaseR", 0.0)?
                }),
            ],
        };
        let car = [
            RampPhase::new(p0[0], lo.start, lo.end, sr, true, &ramp),
            RampPhase::new(p0[1], hi.start, hi.end, sr, true, &ramp),
        ];
        let wob = Wobble::read(&r, 0.0, &ramp, sr)?;
        // FORMAT: depth clamped to [0, 2] (not rejected).
        let d = r.num("ampOscDepth", 0.0)?;
        let am_depth = Lerp {
            start: d.start.clamp(0.0, 2.0),
            end: d.end.clamp(0.0, 2.0),
        };
        let am_freq = r.freq("ampOscFreq", 0.0, MAX_LFO_HZ)?;
        let off = r.num("ampOscPhaseOffset", 0.0)?;
        let am_active = (am_depth.start != 0.0 && am_freq.start != 0.0)
            || (am_depth.end != 0.0 && am_freq.end != 0.0);
        let sum =
            |i: usize, j: usize| (amps[i].start + amps[j].start).max(amps[i].end + amps[j].end);
        // AM gain (1 - D/2) + (D/2) sin is in [1 - D, 1]: |gain| <= 1 for D in [0, 2].
        let peak = sum(0, 1).max(sum(2, 3)).min(1.0);
        Ok(Monaural {
            ramp,
            amps,
            car,
            wob,
            am_depth,
            am_freq,
            am_offset: Lerp {
                start: rad_to_cycles(off.start),
                end: rad_to_cycles(off.end),
            },
            am_phase: RampPhase::new(0.0, am_freq.start, am_freq.end, sr, false, &ramp),
            am_active,
            pos: 0,
            peak: peak_f32(peak),
        })
    }

    #[inline(always)]
    fn sample(&self, pos: &Pos) -> (f64, f64) {
        let a = pos.a;
        let d = self.wob.cycles(pos);
        let lo = sin_cycles(self.car[0].at_pos(pos) - d);
        let up = sin_cycles(self.car[1].at_pos(pos) + d);
        let mut l = lo * self.amps[0].at(a) + up * self.amps[1].at(a);
        let mut r = lo * self.amps[2].at(a) + up * self.amps[3].at(a);
        if self.am_active {
            let dep = self.am_depth.at(a);
            if dep != 0.0 && self.am_freq.at(a) != 0.0 {
                let g = (1.0 - 0.5 * dep)
                    + 0.5 * dep * sin_cycles(self.am_phase.at_pos(pos) + self.am_offset.at(a));
                l *= g;
                r *= g;
            }
        }
        (l.clamp(-1.0, 1.0), r.clamp(-1.0, 1.0))
    }

    /// Constant region without wobble (AM allowed).
    fn render_plain(&self, region: Region, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        let a = if region == Region::After { 1.0 } else { 0.0 };
        let ((q0, i0), (q1, i1)) = (self.car[0].linear(region), self.car[1].linear(region));
        let [a0, a1, a2, a3] = self.amps.map(|x| x.at(a));
        let dep = if self.am_active && self.am_freq.at(a) != 0.0 {
            self.am_depth.at(a)
        } else {
            0.0
        };
        let (qa, ia) = self.am_phase.linear(region);
        let qa = qa + self.am_offset.at(a);
        let (g0, g1) = (1.0 - 0.5 * dep, 0.5 * dep);
        let k = PlainMono {
            q0,
            i0,
            q1,
            i1,
            amps: [a0, a1, a2, a3],
            qa,
            ia,
            g0,
            g1,
        };
        if dep != 0.0 {
            mono_am(&k, n0, lo, ro)
        } else {
            mono_flat(&k, n0, lo, ro)
        }
    }
}

/// Constants of the plain monaural loop.
struct PlainMono {
    q0: f64,
    i0: f64,
    q1: f64,
    i1: f64,
    amps: [f64; 4],
    qa: f64,
    ia: f64,
    g0: f64,
    g1: f64,
}

#[inline(always)]
fn mono_kernel<const AM: bool>(k: &PlainMono, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
    let [a0, a1, a2, a3] = k.amps;
    for (nf0, s, len) in chunks(n0, lo.len()) {
        let (lc, rc) = (&mut lo[s..s + len], &mut ro[s..s + len]);
        for ((l, r), i) in lc.iter_mut().zip(rc.iter_mut()).zip(IDX.iter()) {
            let nf = nf0 + i;
            let x = sin_cycles(k.q0 + nf * k.i0);
            let y = sin_cycles(k.q1 + nf * k.i1);
            let g = if AM {
                k.g0 + k.g1 * sin_cycles(k.qa + nf * k.ia)
            } else {
                1.0
            };
            *l = ((x * a0 + y * a1) * g).clamp(-1.0, 1.0) as f32;
            *r = ((x * a2 + y * a3) * g).clamp(-1.0, 1.0) as f32;
        }
    }
}

crate::multiversion! {
    fn mono_am(k: &PlainMono, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        mono_kernel::<true>(k, n0, lo, ro)
    }
}

crate::multiversion! {
    fn mono_flat(k: &PlainMono, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        mono_kernel::<false>(k, n0, lo, ro)
    }
}

impl Voice for Monaural {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n0 = self.pos;
        let ramp = self.ramp;
        let plain = !self.wob.active;
        ramp.split(n0, left.len(), |region, off, len| {
            let (lo, ro) = (&mut left[off..off + len], &mut right[off..off + len]);
            let start = n0 + off as u64;
            if plain && region != Region::Ramp {
                self.render_plain(region, start, lo, ro);
            } else {
                for (i, (l, r)) in lo.iter_mut().zip(ro.iter_mut()).enumerate() {
                    let (x, y) = self.sample(&Pos::new(start + i as u64, &ramp));
                    *l = x as f32;
                    *r = y as f32;
                }
            }
        });
        self.pos += left.len() as u64;
    }

    fn seek(&mut self, pos: u64) {
        self.pos = pos;
    }

    fn peak_bound(&self) -> f32 {
        self.peak
    }

    fn carrier_phases_at(&self, pos: u64) -> Option<CarrierPhases> {
        Some([
            self.car[0].accumulated(pos, &self.ramp),
            self.car[1].accumulated(pos, &self.ramp),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::*;
    use crate::measure;

    const M: &str = "monaural_beat_stereo_amps";
    const MT: &str = "monaural_beat_stereo_amps_transition";

    #[test]
    fn both_tones_in_each_ear_and_beat() {
        let j = r#"{"amp_lower_L": 0.4, "amp_upper_L": 0.4, "amp_lower_R": 0.4, "amp_upper_R": 0.4, "baseFreq": 220, "beatFreq": 8}"#;
        let (l, r) = full(M, j, 6.0);
        assert_eq!(l, r);
        let tops = measure::top_frequencies(&l, 44100.0, 50.0, 2000.0, 2);
        assert_close("lower", tops[0], 216.0, 0.1);
        assert_close("upper", tops[1], 224.0, 0.1);
        assert_close(
            "beat",
            measure::modulation_rate(&l, 44100.0, 220.0, 0.5, 40.0),
            8.0,
            0.05,
        );
        // Two uncorrelated tones of 0.4: RMS sqrt(2 * 0.08).
        assert_close(
            "dBFS",
            measure::rms_dbfs(&l),
            20.0 * (0.16f64).sqrt().log10(),
            0.05,
        );
        check_blocks_and_peak(M, j, 2.0);
        check_seek(M, j, 6.0, &[0.1, 4.0]);
        check_phase_carry(M, j);
    }

    #[test]
    fn stereo_amps_am_and_clip() {
        let j = r#"{"amp_lower_L": 0.5, "amp_upper_L": 0.0, "amp_lower_R": 0.0, "amp_upper_R": 0.3, "baseFreq": 300, "beatFreq": 20,
                    "ampOscDepth": 1.0, "ampOscFreq": 2.0}"#;
        let (l, r) = full(M, j, 4.0);
        assert_close("L", freq(&l, 50.0, 2000.0), 290.0, 0.1);
        assert_close("R", freq(&r, 50.0, 2000.0), 310.0, 0.1);
        assert_close(
            "AM",
            measure::modulation_rate(&l, 44100.0, 290.0, 0.5, 40.0),
            2.0,
            0.05,
        );
        check_blocks_and_peak(M, j, 2.0);
        // Sum of amps 1.6 > 1: clipped, bound 1.
        let k =
            r#"{"amp_lower_L": 0.8, "amp_upper_L": 0.8, "phaseOscFreq": 0.5, "phaseOscRange": 1}"#;
        let (l, _) = full(M, k, 1.0);
        assert_eq!(measure::peak(&l), 1.0);
        check_blocks_and_peak(M, k, 1.0);
    }

    #[test]
    fn transition() {
        let j = r#"{"startBaseFreq": 200, "endBaseFreq": 300, "startBeatFreq": 4, "endBeatFreq": 10,
                    "start_amp_lower_L": 0.5, "end_amp_lower_L": 0.2, "initial_offset": 2, "transition_duration": 6}"#;
        let (l, _) = full(MT, j, 10.0);
        let t0 = measure::top_frequencies(win(&l, 0.0, 1.95), 44100.0, 50.0, 2000.0, 2);
        assert_close("lower start", t0[0], 198.0, 0.15);
        assert_close("upper start", t0[1], 202.0, 0.15);
        let t1 = measure::top_frequencies(win(&l, 8.05, 10.0), 44100.0, 50.0, 2000.0, 2);
        assert_close("lower end", t1[0], 295.0, 0.1);
        assert_close("upper end", t1[1], 305.0, 0.1);
        check_blocks_and_peak(MT, j, 10.0);
        check_seek(MT, j, 10.0, &[1.5, 4.0, 8.5]);
    }

    #[test]
    fn rejects_bad_amps() {
        assert!(build_err(M, r#"{"amp_upper_R": -0.5}"#).contains("params.amp_upper_R"));
        assert!(build_err(MT, r#"{"end_amp_lower_L": 20}"#).contains("end_amp_lower_L"));
    }
}
