//! The carrier pair shared by `binaural_beat` and `isochronic_tone` (FORMAT §10.1, §10.2):
//! two sine carriers with per-channel amplitude, tremolo and vibrato, and the interaural
//! phase wobble.
//!
//! Carrier phases are closed-form ([`RampPhase`]) unless the frequency cannot be integrated
//! in closed form: vibrato active, a `forceMono` switch during a transition, or a channel
//! frequency below 0 (clamped, FORMAT §10.1). Then the phase is integrated sample by sample
//! (`serial`), and `seek` runs that integration loop (increments only, no output sines).

use crate::dsp::modulators::{Tremolo, Vibrato, Wobble};
use crate::dsp::osc::{RampPhase, rad_to_cycles, sin_cycles, wrap};
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp};
use crate::error::TrackError;
use crate::voices::CarrierPhases;

/// How the channel frequencies are derived from the parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freqs {
    /// Frequency of each channel when not mono.
    pub chan: [Lerp; 2],
    /// Frequency of both channels when mono.
    pub mono_freq: Lerp,
    /// `forceMono` at the start and end of the ramp (switches at `a >= 0.5`).
    pub mono: (bool, bool),
}

impl Freqs {
    #[inline(always)]
    fn at(&self, c: usize, a: f64) -> f64 {
        let mono = if a >= 0.5 { self.mono.1 } else { self.mono.0 };
        if mono {
            self.mono_freq.at(a)
        } else {
            self.chan[c].at(a)
        }
    }
}

/// Two carriers with amplitude, tremolo, vibrato and phase wobble.
#[derive(Debug, Clone)]
pub(crate) struct StereoTone {
    sr: f64,
    pub amp: [Lerp; 2],
    pub car: [RampPhase; 2],
    pub trem: [Tremolo; 2],
    vib: [Vibrato; 2],
    wob: Wobble,
    freqs: Freqs,
    /// Integrate the phases sample by sample.
    serial: bool,
    /// Start phases (cycles).
    p0: [f64; 2],
    /// Serial state: phases after `spos` increments.
    sphase: [f64; 2],
    spos: u64,
}

impl StereoTone {
    /// Reads `ampL/R` (fallback `amp_fallback`), `startPhaseL/R`, tremolo, vibrato and wobble.
    pub fn new(
        r: &ParamReader,
        amp: [Lerp; 2],
        freqs: Freqs,
        vib_triangle: bool,
        ramp: &Ramp,
        sr: f64,
        inherited: Option<CarrierPhases>,
    ) -> Result<Self, TrackError> {
        let p0 = match inherited {
            Some(p) => p,
            None => [
                rad_to_cycles(r.fixed("startPhaseL", 0.0)?),
                rad_to_cycles(r.fixed("startPhaseR", 0.0)?),
            ],
        };
        let trem = [
            Tremolo::read(r, "L", ramp, sr)?,
            Tremolo::read(r, "R", ramp, sr)?,
        ];
        let vib = [
            Vibrato::read(r, "L", vib_triangle, ramp, sr)?,
            Vibrato::read(r, "R", vib_triangle, ramp, sr)?,
        ];
        let wob = Wobble::read(r, 0.0, ramp, sr)?;
        let mono_switch = freqs.mono.0 != freqs.mono.1;
        let negative = (0..2).any(|c| freqs.at(c, 0.0) < 0.0 || freqs.at(c, 1.0) < 0.0);
        let serial = vib[0].active || vib[1].active || mono_switch || negative;
        let car = [0, 1]
            .map(|c| RampPhase::new(p0[c], freqs.at(c, 0.0), freqs.at(c, 1.0), sr, true, ramp));
        Ok(StereoTone {
            sr,
            amp,
            car,
            trem,
            vib,
            wob,
            freqs,
            serial,
            p0,
            sphase: p0,
            spos: 0,
        })
    }

    /// True when a sample is just `amp * sin(q + n*inc)` per channel outside the ramp.
    pub fn is_plain(&self) -> bool {
        !self.serial && !self.trem[0].active && !self.trem[1].active && !self.wob.active
    }

    /// Phase increment of channel `c` at `pos` for the serial integration.
    #[inline(always)]
    fn serial_inc(&self, c: usize, pos: &Pos) -> f64 {
        let mut f = self.freqs.at(c, pos.a);
        if self.vib[c].active {
            f += self.vib[c].offset_hz(pos);
        }
        f.max(0.0) / self.sr
    }

    /// Carrier phases (cycles) of the sample at `pos`. In serial mode this advances the
    /// integration state, so it must be called once per sample, in order (see [`Self::seek`]).
    #[inline(always)]
    pub fn phases(&mut self, pos: &Pos) -> [f64; 2] {
        if self.serial {
            debug_assert_eq!(pos.n, self.spos);
            for c in 0..2 {
                self.sphase[c] = wrap(self.sphase[c] + self.serial_inc(c, pos));
            }
            self.spos += 1;
            self.sphase
        } else {
            [self.car[0].at_pos(pos), self.car[1].at_pos(pos)]
        }
    }

    /// The two channel samples at `pos` for carrier phases `ph` (before any gate or pan).
    #[inline(always)]
    pub fn tone(&self, pos: &Pos, ph: [f64; 2]) -> (f64, f64) {
        let d = self.wob.cycles(pos);
        let l = sin_cycles(ph[0] - d) * self.trem[0].gain(pos) * self.amp[0].at(pos.a);
        let r = sin_cycles(ph[1] + d) * self.trem[1].gain(pos) * self.amp[1].at(pos.a);
        (l, r)
    }

    /// Integration state after `n` increments, advancing from the current state when possible.
    fn integrate_to(&self, n: u64, ramp: &Ramp) -> [f64; 2] {
        let (mut ph, from) = if n >= self.spos {
            (self.sphase, self.spos)
        } else {
            (self.p0, 0)
        };
        for k in from..n {
            let pos = Pos::new(k, ramp);
            for (c, p) in ph.iter_mut().enumerate() {
                *p = wrap(*p + self.serial_inc(c, &pos));
            }
        }
        ph
    }

    /// Puts the serial state at sample `pos` (no-op for closed-form phases).
    pub fn seek(&mut self, pos: u64, ramp: &Ramp) {
        if self.serial {
            self.sphase = self.integrate_to(pos, ramp);
            self.spos = pos;
        }
    }

    /// Carrier phases after `pos` samples (phase carry to the next step).
    pub fn carrier_phases_at(&self, pos: u64, ramp: &Ramp) -> CarrierPhases {
        if self.serial {
            self.integrate_to(pos, ramp)
        } else {
            [
                self.car[0].accumulated(pos, ramp),
                self.car[1].accumulated(pos, ramp),
            ]
        }
    }

    /// Upper bound of `|tone|` over the step, per channel.
    pub fn peak(&self) -> [f64; 2] {
        [0, 1].map(|c| self.amp[c].max_abs() * self.trem[c].max_gain())
    }
}
