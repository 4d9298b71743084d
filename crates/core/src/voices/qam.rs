//! `qam_beat` and `qam_beat_transition` (FORMAT §10.3).

use super::common::{MAX_AMP, carrier, peak_f32};
use super::{CarrierPhases, Voice, VoiceContext};
use crate::dsp::modulators::{MAX_LFO_HZ, Wobble};
use crate::dsp::osc::{IDX, RampPhase, chunks, cos_cycles, rad_to_cycles, wrap};
use crate::dsp::shapes::mod_shape;
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp, Region};
use crate::error::TrackError;
use crate::track::params::Params;

/// One amplitude modulator `1 + depth * shape(2*pi*freq*t + offset)`.
#[derive(Debug, Clone, Copy)]
struct Am {
    freq: Lerp,
    depth: Lerp,
    offset: Lerp,
    phase: RampPhase,
    /// Can be active at some point (freq and depth non-zero at one end).
    active: bool,
}

impl Am {
    fn read(
        r: &ParamReader,
        prefix: &str,
        ch: &str,
        d_freq: f64,
        d_depth: f64,
        ramp: &Ramp,
        sr: f64,
    ) -> Result<Self, TrackError> {
        let freq = r.freq(&format!("{prefix}Freq{ch}"), d_freq, MAX_LFO_HZ)?;
        let depth = r.in_range(&format!("{prefix}Depth{ch}"), d_depth, 0.0, 1.0)?;
        let off = r.num(&format!("{prefix}PhaseOffset{ch}"), 0.0)?;
        let active =
            (freq.start != 0.0 && depth.start != 0.0) || (freq.end != 0.0 && depth.end != 0.0);
        Ok(Am {
            freq,
            depth,
            offset: Lerp {
                start: rad_to_cycles(off.start),
                end: rad_to_cycles(off.end),
            },
            phase: RampPhase::new(0.0, freq.start, freq.end, sr, false, ramp),
            active,
        })
    }

    /// Depth at `a`, or 0 where the modulator is off (FORMAT: factor 1 if freq or depth is 0).
    #[inline(always)]
    fn depth_at(&self, a: f64) -> f64 {
        if !self.active || self.freq.at(a) == 0.0 {
            0.0
        } else {
            self.depth.at(a)
        }
    }

    /// Modulator phase (cycles) at `pos`, offset included.
    #[inline(always)]
    fn phase_at(&self, pos: &Pos) -> f64 {
        self.phase.at_pos(pos) + self.offset.at(pos.a)
    }
}

/// Two cosine carriers with quadrature-style amplitude modulation, cross modulation,
/// harmonic, sub-harmonic AM, sidebands and fades.
pub struct Qam {
    ramp: Ramp,
    sr: f64,
    amp: [Lerp; 2],
    car: [RampPhase; 2],
    am: [Am; 2],
    am2: [Am; 2],
    shape: [Lerp; 2],
    cross_depth: Lerp,
    /// `floor(crossModDelay * sr)`; cross modulation runs only if > 0.
    cross_delay: u64,
    harm_depth: Lerp,
    harm_ratio: f64,
    sub: Am,
    wob: Wobble,
    /// Sideband depth (0 = off) and the phase of `2*pi*sidebandOffset*t`.
    sb_depth: f64,
    sb_phase: RampPhase,
    attack: f64,
    release: f64,
    step_t: f64,
    plain: bool,
    pos: u64,
    peak: f32,
}

impl Qam {
    /// Builds the voice from its params (`transition`: the `_transition` variant).
    pub fn new(p: &Params, transition: bool, ctx: &VoiceContext) -> Result<Self, TrackError> {
        let sr = ctx.sample_rate as f64;
        let r = ParamReader::new(p, transition);
        let ramp = if transition {
            Ramp::from_params(p, ctx.step_duration, ctx.sample_rate)?
        } else {
            Ramp::none()
        };
        let amp = [
            r.in_range("ampL", 0.5, 0.0, MAX_AMP)?,
            r.in_range("ampR", 0.5, 0.0, MAX_AMP)?,
        ];
        let fl = carrier(&r, "baseFreqL", r.num("baseFreqL", 200.0)?, sr)?;
        let fr = carrier(&r, "baseFreqR", r.num("baseFreqR", 204.0)?, sr)?;
        let p0 = match ctx.inherited_phases {
            Some(ph) => ph,
            None => [
                rad_to_cycles(r.fixed("startPhaseL", 0.0)?),
                rad_to_cycles(r.fixed("startPhaseR", 0.0)?),
            ],
        };
        let car = [
            RampPhase::new(p0[0], fl.start, fl.end, sr, true, &ramp),
            RampPhase::new(p0[1], fr.start, fr.end, sr, true, &ramp),
        ];
        let am = [
            Am::read(&r, "qamAm", "L", 4.0, 0.5, &ramp, sr)?,
            Am::read(&r, "qamAm", "R", 4.0, 0.5, &ramp, sr)?,
        ];
        let am2 = [
            Am::read(&r, "qamAm2", "L", 0.0, 0.0, &ramp, sr)?,
            Am::read(&r, "qamAm2", "R", 0.0, 0.0, &ramp, sr)?,
        ];
        let positive = |x: f64| x > 0.0 && x <= 100.0;
        let shape = [
            r.check(
                "modShapeL",
                r.num("modShapeL", 1.0)?,
                positive,
                "must be a number in (0, 100]",
            )?,
            r.check(
                "modShapeR",
                r.num("modShapeR", 1.0)?,
                positive,
                "must be a number in (0, 100]",
            )?,
        ];
        let cross_depth = r.in_range("crossModDepth", 0.0, 0.0, 1.0)?;
        let cross_delay = (p.in_range("crossModDelay", 0.0, 0.0, 60.0)? * sr).floor() as u64;
        let harm_depth = r.in_range("harmonicDepth", 0.0, 0.0, MAX_AMP)?;
        let harm_ratio = p.in_range("harmonicRatio", 2.0, 0.0, 64.0)?;
        let sub_f = r.freq("subHarmonicFreq", 0.0, MAX_LFO_HZ)?;
        let sub_d = r.in_range("subHarmonicDepth", 0.0, 0.0, 1.0)?;
        let sub = Am {
            active: (sub_f.start != 0.0 && sub_d.start != 0.0)
                || (sub_f.end != 0.0 && sub_d.end != 0.0),
            freq: sub_f,
            depth: sub_d,
            offset: Lerp::fixed(0.0),
            phase: RampPhase::new(0.0, sub_f.start, sub_f.end, sr, false, &ramp),
        };
        let wob = Wobble::read(&r, p.num("phaseOscPhaseOffset", 0.0)?, &ramp, sr)?;
        let sidebands = p.boolean("beatingSidebands", false)?;
        let sb_off = p.in_range("sidebandOffset", 1.0, 0.0, MAX_LFO_HZ)?;
        let sb_depth = if sidebands {
            p.in_range("sidebandDepth", 0.1, 0.0, MAX_AMP)?
        } else {
            0.0
        };
        let attack = p.non_negative("attackTime", 0.0)?;
        let release = p.non_negative("releaseTime", 0.0)?;
        let cross = cross_delay > 0 && !cross_depth.is_zero();
        let plain = !cross
            && !am2[0].active
            && !am2[1].active
            && shape.iter().all(|s| s.start == 1.0 && s.end == 1.0)
            && harm_depth.is_zero()
            && !sub.active
            && !wob.active
            && sb_depth == 0.0
            && attack == 0.0
            && release == 0.0;
        // Peak: amp * |E| * (carrier + harmonic + sidebands), E a product of (1 + depth) terms.
        let e_pre = [0, 1].map(|c| {
            let d1 = if am[c].active { am[c].depth.max() } else { 0.0 };
            let d2 = if am2[c].active {
                am2[c].depth.max()
            } else {
                0.0
            };
            (1.0 + d1) * (1.0 + d2)
        });
        let e_max = [0, 1].map(|c| {
            let x = if cross {
                1.0 + cross_depth.max() * (e_pre[1 - c] - 1.0)
            } else {
                1.0
            };
            let s = if sub.active { 1.0 + sub_d.max() } else { 1.0 };
            e_pre[c] * x * s
        });
        let terms = 1.0 + harm_depth.max() + 2.0 * sb_depth;
        let peak = (0..2)
            .map(|c| amp[c].max() * e_max[c] * terms)
            .fold(0.0, f64::max);
        Ok(Qam {
            ramp,
            sr,
            amp,
            car,
            am,
            am2,
            shape,
            cross_depth,
            cross_delay: if cross { cross_delay } else { 0 },
            harm_depth,
            harm_ratio,
            sub,
            wob,
            sb_depth,
            sb_phase: RampPhase::constant(0.0, sb_off, sr, false),
            attack,
            release,
            step_t: ctx.step_duration,
            plain,
            pos: 0,
            peak: peak_f32(peak),
        })
    }

    /// Envelope of channel `c` before cross modulation.
    #[inline(always)]
    fn env_pre(&self, c: usize, pos: &Pos) -> f64 {
        let a = pos.a;
        let mut e = 1.0;
        let d1 = self.am[c].depth_at(a);
        if d1 != 0.0 {
            e *= 1.0 + d1 * mod_shape(self.am[c].phase_at(pos), self.shape[c].at(a));
        }
        let d2 = self.am2[c].depth_at(a);
        if d2 != 0.0 {
            e *= 1.0 + d2 * cos_cycles(self.am2[c].phase_at(pos));
        }
        e
    }

    /// One stereo sample, every feature.
    #[inline(always)]
    fn sample(&self, pos: &Pos) -> (f64, f64) {
        let a = pos.a;
        let pre = [self.env_pre(0, pos), self.env_pre(1, pos)];
        let mut env = pre;
        if self.cross_delay > 0 && pos.n >= self.cross_delay {
            let cd = self.cross_depth.at(a);
            if cd != 0.0 {
                let back = Pos::new(pos.n - self.cross_delay, &self.ramp);
                let old = [self.env_pre(0, &back), self.env_pre(1, &back)];
                env[0] *= 1.0 + cd * (old[1] - 1.0);
                env[1] *= 1.0 + cd * (old[0] - 1.0);
            }
        }
        let sd = self.sub.depth_at(a);
        if sd != 0.0 {
            let s = 1.0 + sd * cos_cycles(self.sub.phase_at(pos));
            env[0] *= s;
            env[1] *= s;
        }
        let d = self.wob.cycles(pos);
        let hd = self.harm_depth.at(a);
        let t = pos.nf / self.sr;
        let mut fade = 1.0;
        if t < self.attack {
            fade *= t / self.attack;
        }
        if t > self.step_t - self.release {
            fade *= ((self.step_t - t) / self.release).max(0.0);
        }
        let sb = if self.sb_depth != 0.0 {
            2.0 * self.sb_depth * cos_cycles(self.sb_phase.at_pos(pos))
        } else {
            0.0
        };
        let mut out = [0.0; 2];
        for c in 0..2 {
            let ph = self.car[c].at_pos(pos);
            let dd = if c == 0 { -d } else { d };
            let carrier = cos_cycles(ph + dd);
            let mut x = carrier * (1.0 + sb);
            if hd != 0.0 {
                x += hd * cos_cycles(self.harm_ratio * (wrap(ph) + dd));
            }
            out[c] = x * env[c] * self.amp[c].at(a) * fade;
        }
        (out[0], out[1])
    }

    /// Constant region, primary AM with cosine shape only (one AM shared by both channels
    /// when they are identical, the common case).
    fn render_plain(&self, region: Region, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        let a = if region == Region::After { 1.0 } else { 0.0 };
        let ((ql, il), (qr, ir)) = (self.car[0].linear(region), self.car[1].linear(region));
        let (al, ar) = (self.amp[0].at(a), self.amp[1].at(a));
        let am = [0, 1].map(|c| {
            let (q, inc) = self.am[c].phase.linear(region);
            (q + self.am[c].offset.at(a), inc, self.am[c].depth_at(a))
        });
        let k = PlainQam {
            ql,
            il,
            qr,
            ir,
            al,
            ar,
            am,
        };
        if am[0] == am[1] {
            qam_shared(&k, n0, lo, ro)
        } else {
            qam_two(&k, n0, lo, ro)
        }
    }
}

/// Constants of the plain QAM loop; `am[c] = (phase, increment, depth)`.
struct PlainQam {
    ql: f64,
    il: f64,
    qr: f64,
    ir: f64,
    al: f64,
    ar: f64,
    am: [(f64, f64, f64); 2],
}

#[inline(always)]
fn qam_kernel<const SHARED: bool>(k: &PlainQam, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
    let ((qa, ia, da), (qb, ib, db)) = (k.am[0], k.am[1]);
    for (nf0, s, len) in chunks(n0, lo.len()) {
        let (lc, rc) = (&mut lo[s..s + len], &mut ro[s..s + len]);
        for ((l, r), i) in lc.iter_mut().zip(rc.iter_mut()).zip(IDX.iter()) {
            let nf = nf0 + i;
            let el = 1.0 + da * cos_cycles(qa + nf * ia);
            let er = if SHARED {
                el
            } else {
                1.0 + db * cos_cycles(qb + nf * ib)
            };
            *l = (cos_cycles(k.ql + nf * k.il) * el * k.al) as f32;
            *r = (cos_cycles(k.qr + nf * k.ir) * er * k.ar) as f32;
        }
    }
}

crate::multiversion! {
    fn qam_shared(k: &PlainQam, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        qam_kernel::<true>(k, n0, lo, ro)
    }
}

crate::multiversion! {
    fn qam_two(k: &PlainQam, n0: u64, lo: &mut [f32], ro: &mut [f32]) {
        qam_kernel::<false>(k, n0, lo, ro)
    }
}

impl Voice for Qam {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n0 = self.pos;
        let ramp = self.ramp;
        ramp.split(n0, left.len(), |region, off, len| {
            let (lo, ro) = (&mut left[off..off + len], &mut right[off..off + len]);
            let start = n0 + off as u64;
            if self.plain && region != Region::Ramp {
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

    const Q: &str = "qam_beat";
    const QT: &str = "qam_beat_transition";

    #[test]
    fn carriers_am_and_level() {
        let j = r#"{"ampL": 0.4, "ampR": 0.4, "baseFreqL": 250, "baseFreqR": 256, "qamAmFreqL": 5, "qamAmFreqR": 5,
                    "qamAmDepthL": 0.6, "qamAmDepthR": 0.6}"#;
        let (l, r) = full(Q, j, 6.0);
        assert_close("L", freq(win(&l, 1.0, 5.0), 50.0, 2000.0), 250.0, 0.1);
        assert_close("R", freq(win(&r, 1.0, 5.0), 50.0, 2000.0), 256.0, 0.1);
        assert_close(
            "AM L",
            measure::modulation_rate(&l, 44100.0, 250.0, 0.5, 40.0),
            5.0,
            0.05,
        );
        assert_close(
            "AM R",
            measure::modulation_rate(&r, 44100.0, 256.0, 0.5, 40.0),
            5.0,
            0.05,
        );
        // (1 + d cos)^2 averages 1 + d^2/2: RMS of 0.4 * sqrt(1.18) / sqrt(2).
        let want = 20.0 * (0.4 * (1.18f64).sqrt() / 2f64.sqrt()).log10();
        assert_close("dBFS", measure::rms_dbfs(&l), want, 0.05);
        // The peak reaches amp * (1 + depth) = 0.64 and never exceeds the bound.
        assert!(measure::peak(&l) > 0.63);
        check_blocks_and_peak(Q, j, 2.0);
        check_seek(Q, j, 6.0, &[0.5, 3.3]);
        check_phase_carry(Q, r#"{"qamAmDepthL": 0, "qamAmDepthR": 0}"#);
    }

    #[test]
    fn every_feature_blocks_seek_and_bound() {
        let j = r#"{"baseFreqL": 300, "baseFreqR": 310, "qamAm2FreqL": 1.5, "qamAm2DepthL": 0.3, "modShapeR": 3,
                    "crossModDepth": 0.5, "crossModDelay": 0.1, "harmonicDepth": 0.3, "subHarmonicFreq": 0.7,
                    "subHarmonicDepth": 0.4, "phaseOscFreq": 0.3, "phaseOscRange": 0.8, "beatingSidebands": true,
                    "sidebandOffset": 2, "sidebandDepth": 0.2, "attackTime": 0.5, "releaseTime": 0.7}"#;
        check_blocks_and_peak(Q, j, 3.0);
        check_seek(Q, j, 3.0, &[0.05, 0.6, 2.5]);
        let (l, _) = full(Q, j, 3.0);
        // Fades: silent at both ends.
        assert!(l[0].abs() < 1e-3 && measure::peak(win(&l, 2.995, 3.0)) < 0.01);
        assert_close(
            "harmonic",
            freq(win(&l, 1.0, 2.0), 450.0, 2000.0),
            600.0,
            1.0,
        );
    }

    #[test]
    fn transition_glides() {
        let j = r#"{"startBaseFreqL": 200, "endBaseFreqL": 300, "startBaseFreqR": 206, "endBaseFreqR": 310,
                    "startQamAmFreqL": 4, "endQamAmFreqL": 8, "startQamAmFreqR": 4, "endQamAmFreqR": 8,
                    "startAmpL": 0.2, "endAmpL": 0.5, "initial_offset": 2, "post_offset": 2, "transition_curve": "logarithmic"}"#;
        let (l, r) = full(QT, j, 12.0);
        assert_close(
            "L start",
            freq(win(&l, 0.0, 1.95), 50.0, 2000.0),
            200.0,
            0.1,
        );
        assert_close(
            "R start",
            freq(win(&r, 0.0, 1.95), 50.0, 2000.0),
            206.0,
            0.1,
        );
        assert_close(
            "L end",
            freq(win(&l, 10.05, 12.0), 50.0, 2000.0),
            300.0,
            0.1,
        );
        assert_close(
            "R end",
            freq(win(&r, 10.05, 12.0), 50.0, 2000.0),
            310.0,
            0.1,
        );
        assert_close(
            "AM start",
            measure::modulation_rate(win(&l, 0.0, 1.95), 44100.0, 200.0, 0.5, 40.0),
            4.0,
            0.05,
        );
        assert_close(
            "AM end",
            measure::modulation_rate(win(&l, 10.05, 12.0), 44100.0, 300.0, 0.5, 40.0),
            8.0,
            0.05,
        );
        check_blocks_and_peak(QT, j, 12.0);
        check_seek(QT, j, 12.0, &[1.0, 5.0, 9.99, 11.0]);
    }

    #[test]
    fn rejects_absurd_values() {
        assert!(build_err(Q, r#"{"baseFreqR": 23000}"#).contains("params.baseFreqR"));
        assert!(build_err(Q, r#"{"qamAmDepthL": 1.5}"#).contains("params.qamAmDepthL"));
        assert!(build_err(Q, r#"{"modShapeL": 0}"#).contains("params.modShapeL"));
        assert!(build_err(QT, r#"{"endAmpR": -1}"#).contains("params.endAmpR"));
    }
}
