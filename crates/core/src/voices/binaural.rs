//! `binaural_beat` and `binaural_beat_transition` (FORMAT §10.1).

use super::common::{MAX_AMP, carrier, peak_f32};
use super::stereo_tone::{Freqs, StereoTone};
use super::{CarrierPhases, Voice, VoiceContext};
use crate::dsp::osc::fill_sine;
use crate::dsp::transition::{Lerp, ParamReader, Pos, Ramp, Region};
use crate::error::TrackError;
use crate::track::params::Params;

/// Two sine carriers `baseFreq -/+ beatFreq/2` (swapped by `leftHigh`), with tremolo,
/// vibrato and phase wobble.
pub struct Binaural {
    tone: StereoTone,
    ramp: Ramp,
    pos: u64,
    peak: f32,
}

impl Binaural {
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
        let base = r.non_negative("baseFreq", 200.0)?;
        let beat = r.non_negative("beatFreq", 4.0)?;
        let beat = r.check(
            "beatFreq",
            beat,
            |x| x <= 0.5 * sr,
            "must be below the Nyquist frequency",
        )?;
        let left_high = p.boolean("leftHigh", false)?;
        let mono = r.boolean("forceMono", false)?;
        let lo = Lerp {
            start: base.start - 0.5 * beat.start,
            end: base.end - 0.5 * beat.end,
        };
        let hi = Lerp {
            start: base.start + 0.5 * beat.start,
            end: base.end + 0.5 * beat.end,
        };
        carrier(&r, "baseFreq", hi, sr)?;
        carrier(&r, "baseFreq", base, sr)?;
        let chan = if left_high { [hi, lo] } else { [lo, hi] };
        let triangle = match p.string("freqOscShape", "sine")?.as_str() {
            "triangle" => true,
            "sine" => false,
            other => {
                log::warn!(
                    "{}.freqOscShape: unknown shape {other:?}, using sine",
                    p.path
                );
                false
            }
        };
        let freqs = Freqs {
            chan,
            mono_freq: base,
            mono,
        };
        let tone = StereoTone::new(&r, amp, freqs, triangle, &ramp, sr, ctx.inherited_phases)?;
        let pk = tone.peak();
        Ok(Binaural {
            peak: peak_f32(pk[0].max(pk[1])),
            tone,
            ramp,
            pos: 0,
        })
    }
}

impl Voice for Binaural {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n0 = self.pos;
        let ramp = self.ramp;
        let tone = &mut self.tone;
        ramp.split(n0, left.len(), |region, off, len| {
            let (lo, ro) = (&mut left[off..off + len], &mut right[off..off + len]);
            let start = n0 + off as u64;
            if tone.is_plain() && region != Region::Ramp {
                let a = if region == Region::After { 1.0 } else { 0.0 };
                for c in 0..2 {
                    let (q, inc) = tone.car[c].linear(region);
                    fill_sine(
                        if c == 0 { &mut *lo } else { &mut *ro },
                        start,
                        q,
                        inc,
                        tone.amp[c].at(a),
                    );
                }
            } else {
                for (i, (l, r)) in lo.iter_mut().zip(ro.iter_mut()).enumerate() {
                    let pos = Pos::new(start + i as u64, &ramp);
                    let ph = tone.phases(&pos);
                    let (x, y) = tone.tone(&pos, ph);
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

    const B: &str = "binaural_beat";
    const BT: &str = "binaural_beat_transition";

    #[test]
    fn carriers_per_channel_and_level() {
        let (l, r) = full(
            B,
            r#"{"ampL": 0.5, "ampR": 0.25, "baseFreq": 200, "beatFreq": 10}"#,
            4.0,
        );
        assert_close("L", freq(win(&l, 1.0, 3.0), 20.0, 2000.0), 195.0, 0.1);
        assert_close("R", freq(win(&r, 1.0, 3.0), 20.0, 2000.0), 205.0, 0.1);
        // sine of amplitude A: RMS 20*log10(A) - 3.01 dBFS.
        assert_close(
            "L dBFS",
            measure::rms_dbfs(&l),
            20.0 * 0.5f64.log10() - 3.0103,
            0.02,
        );
        assert_close(
            "R dBFS",
            measure::rms_dbfs(&r),
            20.0 * 0.25f64.log10() - 3.0103,
            0.02,
        );
        // No AM inside a channel: the envelope is flat.
        // 100 ms window = 39 half-cycles of 195 Hz: a flat tone gives a flat envelope.
        let env = measure::envelope(win(&l, 1.0, 3.0), 4410, 64);
        let (mn, mx) = env
            .iter()
            .fold((f32::MAX, 0.0f32), |(a, b), v| (a.min(*v), b.max(*v)));
        assert!(mx - mn < 0.01 * mx, "envelope varies {mn}..{mx}");
    }

    #[test]
    fn left_high_swaps_and_force_mono() {
        let (l, r) = full(
            B,
            r#"{"baseFreq": 300, "beatFreq": 8, "leftHigh": true}"#,
            3.0,
        );
        assert_close("L", freq(&l, 20.0, 2000.0), 304.0, 0.1);
        assert_close("R", freq(&r, 20.0, 2000.0), 296.0, 0.1);
        let (l, r) = full(
            B,
            r#"{"baseFreq": 300, "beatFreq": 8, "forceMono": true}"#,
            3.0,
        );
        assert_close("L mono", freq(&l, 20.0, 2000.0), 300.0, 0.1);
        assert_close("R mono", freq(&r, 20.0, 2000.0), 300.0, 0.1);
    }

    #[test]
    fn tremolo_rate_and_depth() {
        let j = r#"{"baseFreq": 400, "beatFreq": 0, "ampOscDepthL": 0.8, "ampOscFreqL": 3.0, "ampOscDepthR": 0.5, "ampOscFreqR": 7.0, "ampOscSkewR": 0.3}"#;
        let (l, r) = full(B, j, 6.0);
        assert_close(
            "AM L",
            measure::modulation_rate(&l, 44100.0, 400.0, 0.5, 40.0),
            3.0,
            0.05,
        );
        assert_close(
            "AM R",
            measure::modulation_rate(&r, 44100.0, 400.0, 0.5, 40.0),
            7.0,
            0.05,
        );
        // Depth 0.8 -> envelope from 0.2 to 1 of amp 0.5.
        let env = measure::envelope(&l, 220, 32);
        let mx = env.iter().fold(0.0f32, |m, v| m.max(*v)) as f64;
        let mn = env.iter().fold(1.0f32, |m, v| m.min(*v)) as f64;
        assert_close("min/max", mn / mx, 0.2, 0.03);
        check_blocks_and_peak(B, j, 3.0);
    }

    #[test]
    fn vibrato_moves_the_frequency() {
        // Vibrato of 20 Hz peak-to-peak at 0.25 Hz: quarter-period windows around the extremes.
        let j = r#"{"baseFreq": 300, "beatFreq": 0, "freqOscRangeL": 20, "freqOscFreqL": 0.25, "freqOscShape": "triangle"}"#;
        let (l, r) = full(B, j, 8.0);
        // Triangle W: -1 at t=0 and 4 s, +1 at t=2 s; mean over [1.5, 2.5] is 0.875 * 10 Hz.
        assert_close("high", freq(win(&l, 1.5, 2.5), 100.0, 500.0), 308.75, 0.3);
        assert_close("low", freq(win(&l, 3.5, 4.5), 100.0, 500.0), 291.25, 0.3);
        assert_close("R unmodulated", freq(&r, 100.0, 500.0), 300.0, 0.1);
        check_blocks_and_peak(B, j, 2.0);
        check_seek(B, j, 4.0, &[0.5, 2.7]);
    }

    #[test]
    fn transition_glides_between_start_and_end() {
        let j = r#"{"startBaseFreq": 200, "endBaseFreq": 180, "startBeatFreq": 10, "endBeatFreq": 6,
                    "initial_offset": 2, "post_offset": 2, "startAmpL": 0.5, "endAmpL": 0.25}"#;
        let (l, r) = full(BT, j, 14.0);
        assert_close("L start", freq(win(&l, 0.0, 1.9), 20.0, 2000.0), 195.0, 0.1);
        assert_close("R start", freq(win(&r, 0.0, 1.9), 20.0, 2000.0), 205.0, 0.1);
        assert_close("L end", freq(win(&l, 12.1, 14.0), 20.0, 2000.0), 177.0, 0.1);
        assert_close("R end", freq(win(&r, 12.1, 14.0), 20.0, 2000.0), 183.0, 0.1);
        // Mid-ramp (t = 7, a = 0.5): L = 190 - 4 = 186.
        assert_close("L mid", freq(win(&l, 6.5, 7.5), 20.0, 2000.0), 186.0, 0.3);
        assert_close(
            "L level end",
            measure::rms_dbfs(win(&l, 12.5, 14.0)),
            20.0 * 0.25f64.log10() - 3.0103,
            0.05,
        );
        // No click: the largest step between samples stays below that of the highest tone.
        let max_step = 0.5 * std::f64::consts::TAU * 205.0 / 44100.0 * 1.01;
        assert!(
            (measure::max_step(&l) as f64) < max_step && (measure::max_step(&r) as f64) < max_step
        );
        check_blocks_and_peak(BT, j, 14.0);
        check_seek(BT, j, 14.0, &[1.0, 2.0, 6.3, 11.99, 12.5]);
    }

    #[test]
    fn exponential_curve_and_transition_duration() {
        let j = r#"{"startBaseFreq": 200, "endBaseFreq": 150, "startBeatFreq": 10, "endBeatFreq": 2,
                    "initial_offset": 1, "transition_duration": 4, "transition_curve": "exponential"}"#;
        let (l, _) = full(BT, j, 8.0);
        // After the ramp (t >= 5): L = 150 - 1 = 149.
        assert_close("L end", freq(win(&l, 5.5, 8.0), 20.0, 2000.0), 149.0, 0.1);
        // t = 3: u = 0.5, a = 0.25: base 187.5, beat 8 -> L 183.5.
        assert_close(
            "L quarter",
            freq(win(&l, 2.8, 3.2), 20.0, 2000.0),
            183.5,
            1.0,
        );
        check_seek(BT, j, 8.0, &[0.3, 2.2, 5.5]);
    }

    #[test]
    fn modulators_block_and_seek() {
        let j = r#"{"startBaseFreq": 220, "endBaseFreq": 260, "startAmpOscDepthL": 0.3, "endAmpOscDepthL": 0.9,
                    "startAmpOscFreqL": 2, "endAmpOscFreqL": 5, "phaseOscFreq": 0.5, "phaseOscRange": 1.0,
                    "startForceMono": false, "endForceMono": true, "initial_offset": 0.5, "post_offset": 0.5}"#;
        check_blocks_and_peak(BT, j, 4.0);
        check_seek(BT, j, 4.0, &[0.2, 1.7, 3.6]);
    }

    #[test]
    fn phase_carries_over() {
        check_phase_carry(
            B,
            r#"{"baseFreq": 200, "beatFreq": 10, "startPhaseL": 1.0}"#,
        );
        check_phase_carry(
            B,
            r#"{"baseFreq": 200, "beatFreq": 10, "freqOscRangeL": 4, "freqOscFreqL": 1}"#,
        );
        check_phase_carry(BT, r#"{"startBaseFreq": 200, "endBaseFreq": 250}"#);
    }

    #[test]
    fn rejects_absurd_values() {
        assert!(build_err(B, r#"{"ampL": -0.1}"#).contains("params.ampL"));
        assert!(build_err(B, r#"{"ampR": 11}"#).contains("params.ampR"));
        assert!(build_err(B, r#"{"baseFreq": 30000}"#).contains("Nyquist"));
        assert!(build_err(BT, r#"{"endBaseFreq": -5}"#).contains("params.endBaseFreq"));
        assert!(build_err(B, r#"{"beatFreq": "fast"}"#).contains("params.beatFreq"));
        assert!(build_err(B, r#"{"leftHigh": "yes"}"#).contains("params.leftHigh"));
    }
}
