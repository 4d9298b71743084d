#![allow(dead_code)]

use crate::loop_mode::LoopMode;
use crate::synthesizer_settings::SynthesizerSettings;

// In this class, fixed-point numbers are used for speed-up.
// A fixed-point number is expressed by Int64, whose lower 24 bits represent the fraction part,
// and the rest represent the integer part.
// For clarity, fixed-point number variables have a suffix "_fp".

#[derive(Debug)]
#[non_exhaustive]
pub(crate) struct Oscillator {
    synthesizer_sample_rate: i32,

    loop_mode: LoopMode,
    sample_sample_rate: i32,
    start: i32,
    end: i32,
    start_loop: i32,
    end_loop: i32,
    root_key: i32,

    tune: f32,
    pitch_change_scale: f32,
    sample_rate_ratio: f32,

    looping: bool,

    position_fp: i64,

    last_pitch: f32,
    last_ratio: f64,
}

impl Oscillator {
    const FRAC_BITS: i32 = 24;
    const FRAC_UNIT: i64 = 1_i64 << Oscillator::FRAC_BITS;
    const FP_TO_SAMPLE: f32 = 1_f32 / (32768 * Oscillator::FRAC_UNIT) as f32;

    pub(crate) fn new(settings: &SynthesizerSettings) -> Self {
        Self {
            synthesizer_sample_rate: settings.sample_rate,
            loop_mode: LoopMode::NoLoop,
            sample_sample_rate: 0,
            start: 0,
            end: 0,
            start_loop: 0,
            end_loop: 0,
            root_key: 0,
            tune: 0_f32,
            pitch_change_scale: 0_f32,
            sample_rate_ratio: 0_f32,
            looping: false,
            position_fp: 0,
            last_pitch: f32::NAN,
            last_ratio: 0_f64,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        &mut self,
        loop_mode: LoopMode,
        sample_rate: i32,
        start: i32,
        end: i32,
        start_loop: i32,
        end_loop: i32,
        root_key: i32,
        coarse_tune: i32,
        fine_tune: i32,
        scale_tuning: i32,
    ) {
        self.loop_mode = loop_mode;
        self.sample_sample_rate = sample_rate;
        self.start = start;
        self.end = end;
        self.start_loop = start_loop;
        self.end_loop = end_loop;
        self.root_key = root_key;

        self.tune = coarse_tune as f32 + 0.01_f32 * fine_tune as f32;
        self.pitch_change_scale = 0.01_f32 * scale_tuning as f32;
        self.sample_rate_ratio = sample_rate as f32 / self.synthesizer_sample_rate as f32;
        // Looping is disabled when the loop range is invalid (start >= end),
        // so the region plays once instead of reading past the loop (#55).
        self.looping = self.loop_mode != LoopMode::NoLoop && self.start_loop < self.end_loop;
        self.position_fp = (start as i64) << Oscillator::FRAC_BITS;
        self.last_pitch = f32::NAN;
    }

    pub(crate) fn release(&mut self) {
        if self.loop_mode == LoopMode::LoopUntilNoteOff {
            self.looping = false;
        }
    }

    pub(crate) fn process(&mut self, data: &[i16], block: &mut [f32], pitch: f32) -> bool {
        // Most blocks repeat the previous pitch (no vibrato or bend): skip the `powf`.
        if pitch.to_bits() != self.last_pitch.to_bits() {
            let pitch_change = self.pitch_change_scale * (pitch - self.root_key as f32) + self.tune;
            let pitch_ratio = self.sample_rate_ratio * 2_f32.powf(pitch_change / 12_f32);
            self.last_pitch = pitch;
            self.last_ratio = pitch_ratio as f64;
        }
        self.fill_block(data, block, self.last_ratio)
    }

    fn fill_block(&mut self, data: &[i16], block: &mut [f32], pitch_ratio: f64) -> bool {
        let pitch_ratio_fp = (Oscillator::FRAC_UNIT as f64 * pitch_ratio) as i64;

        if self.looping {
            self.fill_block_continuous(data, block, pitch_ratio_fp)
        } else {
            self.fill_block_no_loop(data, block, pitch_ratio_fp)
        }
    }

    /// Samples (from 0) at which `position + t * step` stays below `limit_fp`: the length of
    /// a run that needs no per-sample bounds or loop checks.
    #[inline]
    fn run_length(position_fp: i64, limit_fp: i64, step_fp: i64, max: usize) -> usize {
        if position_fp >= limit_fp {
            0
        } else if step_fp <= 0 {
            max
        } else {
            (((limit_fp - position_fp - 1) / step_fp + 1) as u64).min(max as u64) as usize
        }
    }

    /// Linear interpolation of `d` at `position_fp` over `out.len()` samples, with no loop
    /// wrap: the caller guarantees `(position_fp >> FRAC_BITS) + 1 < d.len()` for every sample.
    #[inline]
    fn interpolate_run(d: &[i16], out: &mut [f32], mut position_fp: i64, step_fp: i64) -> i64 {
        for sample in out.iter_mut() {
            let index = (position_fp >> Oscillator::FRAC_BITS) as usize;
            let x1 = d[index] as i64;
            let x2 = d[index + 1] as i64;
            let a_fp = position_fp & (Oscillator::FRAC_UNIT - 1);
            *sample = Oscillator::FP_TO_SAMPLE
                * ((x1 << Oscillator::FRAC_BITS) + a_fp * (x2 - x1)) as f32;
            position_fp += step_fp;
        }
        position_fp
    }

    // Same output as upstream's per-sample loop; the end check is hoisted out of the loop.
    fn fill_block_no_loop(&mut self, data: &[i16], block: &mut [f32], pitch_ratio_fp: i64) -> bool {
        let end_fp = (self.end as i64) << Oscillator::FRAC_BITS;
        let m = Oscillator::run_length(self.position_fp, end_fp, pitch_ratio_fp, block.len());
        if m == 0 {
            return false;
        }
        // Every index < end, so index + 1 <= end < data.len() (checked when the SoundFont is
        // loaded); slicing once lets the loop's bounds checks stay cheap.
        let d = &data[..(self.end as usize + 1).min(data.len())];
        self.position_fp =
            Oscillator::interpolate_run(d, &mut block[..m], self.position_fp, pitch_ratio_fp);
        block[m..].fill(0_f32);
        true
    }

    // Same output as upstream's per-sample loop: runs that cannot reach the loop end are
    // interpolated without the wrap checks; the samples near the loop end take the slow path.
    fn fill_block_continuous(
        &mut self,
        data: &[i16],
        block: &mut [f32],
        pitch_ratio_fp: i64,
    ) -> bool {
        let end_loop_fp = (self.end_loop as i64) << Oscillator::FRAC_BITS;
        let loop_length = (self.end_loop - self.start_loop) as i64;
        let loop_length_fp = loop_length << Oscillator::FRAC_BITS;
        // Below this position index1 + 1 < end_loop: no wrap of either index.
        let safe_fp = ((self.end_loop - 1) as i64) << Oscillator::FRAC_BITS;
        let d = &data[..(self.end_loop as usize).min(data.len())];

        let len = block.len();
        let mut t = 0;
        while t < len {
            let run = Oscillator::run_length(self.position_fp, safe_fp, pitch_ratio_fp, len - t);
            if run > 0 {
                self.position_fp = Oscillator::interpolate_run(
                    d,
                    &mut block[t..t + run],
                    self.position_fp,
                    pitch_ratio_fp,
                );
                t += run;
                continue;
            }
            // Upstream wraps once; a step longer than the loop (extreme pitch on a tiny loop)
            // then read past the loop, up to out of bounds. Wrap until inside.
            while self.position_fp >= end_loop_fp {
                self.position_fp -= loop_length_fp;
            }

            let index1 = (self.position_fp >> Oscillator::FRAC_BITS) as usize;
            let mut index2 = index1 + 1;
            if index2 >= self.end_loop as usize {
                index2 -= loop_length as usize;
            }

            let x1 = data[index1] as i64;
            let x2 = data[index2] as i64;
            let a_fp = self.position_fp & (Oscillator::FRAC_UNIT - 1);
            block[t] = Oscillator::FP_TO_SAMPLE
                * ((x1 << Oscillator::FRAC_BITS) + a_fp * (x2 - x1)) as f32;

            self.position_fp += pitch_ratio_fp;
            t += 1;
        }

        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream rustysynth 1.3.8's per-sample loops, the reference for the hoisted ones.
    fn upstream_fill(o: &mut Oscillator, data: &[i16], block: &mut [f32], step: i64) -> bool {
        if o.looping {
            let end_loop_fp = (o.end_loop as i64) << Oscillator::FRAC_BITS;
            let loop_length = (o.end_loop - o.start_loop) as i64;
            for sample in block.iter_mut() {
                if o.position_fp >= end_loop_fp {
                    o.position_fp -= loop_length << Oscillator::FRAC_BITS;
                }
                let index1 = (o.position_fp >> Oscillator::FRAC_BITS) as usize;
                let mut index2 = index1 + 1;
                if index2 >= o.end_loop as usize {
                    index2 -= loop_length as usize;
                }
                let (x1, x2) = (data[index1] as i64, data[index2] as i64);
                let a_fp = o.position_fp & (Oscillator::FRAC_UNIT - 1);
                *sample = Oscillator::FP_TO_SAMPLE
                    * ((x1 << Oscillator::FRAC_BITS) + a_fp * (x2 - x1)) as f32;
                o.position_fp += step;
            }
            true
        } else {
            for t in 0..block.len() {
                let index = (o.position_fp >> Oscillator::FRAC_BITS) as usize;
                if index >= o.end as usize {
                    if t > 0 {
                        block[t..].fill(0.0);
                        return true;
                    }
                    return false;
                }
                let (x1, x2) = (data[index] as i64, data[index + 1] as i64);
                let a_fp = o.position_fp & (Oscillator::FRAC_UNIT - 1);
                block[t] = Oscillator::FP_TO_SAMPLE
                    * ((x1 << Oscillator::FRAC_BITS) + a_fp * (x2 - x1)) as f32;
                o.position_fp += step;
            }
            true
        }
    }

    #[test]
    fn hoisted_loops_equal_upstream_per_sample_loops() {
        let data: Vec<i16> = (0..3000)
            .map(|i: i32| (i * 7919 % 65536 - 32768) as i16)
            .collect();
        let settings = SynthesizerSettings::new(44_100);
        for mode in [LoopMode::NoLoop, LoopMode::Continuous] {
            // Slow, unity and fast pitches (steps shorter than the 60-sample loop, where
            // upstream is well defined).
            for ratio in [0.37, 1.0, 2.9, 59.5] {
                let make = || {
                    let mut o = Oscillator::new(&settings);
                    let mode = match mode {
                        LoopMode::NoLoop => LoopMode::NoLoop,
                        _ => LoopMode::Continuous,
                    };
                    o.start(mode, 44_100, 100, 2900, 1000, 1060, 60, 0, 0, 100);
                    o
                };
                let (mut a, mut b) = (make(), make());
                let step = (Oscillator::FRAC_UNIT as f64 * ratio) as i64;
                for n in [64usize, 1, 13, 64, 7, 64, 64, 33].iter().cycle().take(400) {
                    let (mut x, mut y) = (vec![0.0f32; *n], vec![0.0f32; *n]);
                    let ra = a.fill_block(&data, &mut x, ratio);
                    let rb = upstream_fill(&mut b, &data, &mut y, step);
                    assert_eq!(ra, rb, "{mode:?} ratio {ratio}");
                    assert_eq!(x, y, "{mode:?} ratio {ratio}");
                    assert_eq!(a.position_fp, b.position_fp);
                    if !ra {
                        break;
                    }
                }
            }
        }
        // A step longer than the loop stays inside it (upstream indexed out of bounds).
        let mut o = Oscillator::new(&settings);
        o.start(
            LoopMode::Continuous,
            44_100,
            100,
            2900,
            1000,
            1060,
            60,
            0,
            0,
            100,
        );
        let mut x = vec![0.0f32; 64];
        for _ in 0..100 {
            assert!(o.fill_block(&data, &mut x, 150.3));
            assert!(x.iter().all(|v| v.abs() <= 1.0));
        }
    }
}
