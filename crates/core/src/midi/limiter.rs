//! Look-ahead peak limiter that guarantees `|out| <= ceiling` on every sample.
//!
//! Per input frame the required gain is `g = min(1, ceiling / max(|l|, |r|))`. The output is
//! delayed by `L` frames; the gain applied to a delayed frame is the mean over `L` frames of a
//! release-smoothed running minimum of `g` over the last `L + 1` frames. Every term of that
//! mean is at most the delayed frame's own `g` (each window covers it), so the bound holds
//! exactly, while gain changes are ramps of `L` frames (no clicks) and releases are smooth.
//! Gains are linked across channels (no image shift). No allocation after construction.

/// Stereo look-ahead limiter (see the module docs).
#[derive(Debug, Clone)]
pub struct Limiter {
    ceiling: f32,
    l: usize,
    release: f64,
    // Delay line of input frames (interleaved), ring of `l` frames.
    delay: Vec<f32>,
    // Required gains of the last `l + 1` frames, ring, for the running minimum.
    req: Vec<f32>,
    // Release-smoothed minimum gains of the last `l` frames, ring, for the mean.
    smooth: Vec<f32>,
    sum: f64,
    // Release state in f64: in f32 the rise towards 1 stalls about 1e-4 below it.
    last: f64,
    pos: usize,
    // Counts frames since reset to recompute `sum` exactly now and then (no drift).
    since_resum: usize,
    min_gain: f32,
    min_val: f32,
    min_pos: usize,
    ri: usize,
    si: usize,
    // Consecutive frames whose smoothed gain was exactly 1 (>= l: the `smooth` ring is all 1).
    ones_run: usize,
}

impl Limiter {
    /// A limiter with output ceiling `ceiling` (linear), look-ahead `lookahead` frames (>= 1)
    /// and release time constant `release_frames`.
    pub fn new(ceiling: f32, lookahead: usize, release_frames: f32) -> Self {
        let l = lookahead.max(1);
        let mut s = Limiter {
            ceiling,
            l,
            release: 1.0 - (-1.0 / release_frames.max(1.0) as f64).exp(),
            delay: vec![0.0; 2 * l],
            req: vec![1.0; l + 1],
            smooth: vec![1.0; l],
            sum: l as f64,
            last: 1.0,
            pos: 0,
            since_resum: 0,
            min_gain: 1.0,
            min_val: 1.0,
            min_pos: 0,
            ri: 0,
            si: 0,
            ones_run: l,
        };
        s.reset();
        s
    }

    /// Delay in frames between input and output.
    pub fn latency(&self) -> usize {
        self.l
    }

    /// Lowest gain applied since the last reset (1.0 = never limited).
    pub fn min_gain(&self) -> f32 {
        self.min_gain
    }

    /// Clears the state (delay line of zeros, unity gain).
    pub fn reset(&mut self) {
        self.delay.fill(0.0);
        self.req.fill(1.0);
        self.smooth.fill(1.0);
        self.sum = self.l as f64;
        self.last = 1.0;
        self.pos = 0;
        self.since_resum = 0;
        self.min_gain = 1.0;
        self.min_val = 1.0;
        self.min_pos = 0;
        self.ri = 0;
        self.si = 0;
        self.ones_run = self.l;
    }

    /// Processes interleaved stereo in place: each output frame is the input frame `latency()`
    /// frames earlier, scaled so that no sample exceeds the ceiling.
    pub fn process(&mut self, buf: &mut [f32]) {
        let mut rest = buf;
        while !rest.is_empty() {
            let n = self.pass_through(rest);
            let (_, tail) = rest.split_at_mut(2 * n);
            // One frame through the full path (it may start or end a gain change).
            let (one, tail) = tail.split_at_mut(tail.len().min(2));
            self.process_frames(one);
            rest = tail;
        }
    }

    /// Fast path while the limiter is idle (every gain in its windows exactly 1) and the input
    /// stays within the ceiling: the full path would then compute a gain of exactly 1 for every
    /// frame, so this only delays the frames and advances the state the same way. Returns the
    /// frames done.
    fn pass_through(&mut self, buf: &mut [f32]) -> usize {
        let l = self.l;
        let idle = self.min_val == 1.0
            && self.last == 1.0
            && self.ones_run >= l
            && (self.sum / l as f64) as f32 == 1.0;
        if !idle {
            return 0;
        }
        let c = self.ceiling;
        // NaN compares false, so non-finite input leaves the fast path too.
        let n = buf
            .chunks_exact(2)
            .position(|fr| !(fr[0].abs() <= c && fr[1].abs() <= c))
            .unwrap_or(buf.len() / 2);
        let mut si = self.si;
        for fr in buf[..2 * n].chunks_exact_mut(2) {
            let d = &mut self.delay[2 * si..2 * si + 2];
            let (x0, x1) = (d[0], d[1]);
            d[0] = fr[0];
            d[1] = fr[1];
            fr[0] = x0;
            fr[1] = x1;
            si = if si + 1 == l { 0 } else { si + 1 };
        }
        if n > 0 {
            self.si = si;
            self.ri = (self.ri + n) % (l + 1);
            self.pos += n;
            self.min_pos = self.pos - 1;
            if self.since_resum + n >= 65536 {
                // The full path re-sums the (all-one) ring here.
                self.sum = l as f64;
            }
            self.since_resum = (self.since_resum + n) % 65536;
            self.ones_run += n;
        }
        n
    }

    fn process_frames(&mut self, buf: &mut [f32]) {
        let l = self.l;
        for fr in buf.chunks_exact_mut(2) {
            let a = fr[0].abs().max(fr[1].abs());
            // Non-finite input is silenced rather than passed on.
            let g = if !a.is_finite() {
                0.0
            } else if a > self.ceiling {
                self.ceiling / a
            } else {
                1.0
            };
            // Ring indices without division: `ri` cycles over l + 1 slots, `si` over l.
            let ri = self.ri;
            self.req[ri] = g;
            // Running minimum over the last l + 1 frames; rescan only when the minimum's most
            // recent occurrence leaves the window.
            if g <= self.min_val {
                self.min_val = g;
                self.min_pos = self.pos;
            } else if self.pos - self.min_pos > l {
                self.min_val = f32::INFINITY;
                for back in 0..=l.min(self.pos) {
                    let v = self.req[(ri + l + 1 - back) % (l + 1)];
                    if v < self.min_val {
                        self.min_val = v;
                        self.min_pos = self.pos - back;
                    }
                }
            }
            let m = self.min_val;
            // Release: follow drops at once, rises exponentially (stays <= m).
            let m64 = m as f64;
            let mut r64 = if m64 < self.last {
                m64
            } else {
                self.last + (m64 - self.last) * self.release
            };
            // A release within 1e-7 of unity is complete (below f32 resolution of the gain).
            if m == 1.0 && r64 > 1.0 - 1e-7 {
                r64 = 1.0;
            }
            self.last = r64;
            // Rounding a value <= m (an f32) to f32 stays <= m: the ceiling bound holds.
            let r = r64 as f32;
            self.ones_run = if r == 1.0 { self.ones_run + 1 } else { 0 };
            let si = self.si;
            self.sum += r as f64 - self.smooth[si] as f64;
            self.smooth[si] = r;
            self.since_resum += 1;
            if self.since_resum >= 65536 {
                self.sum = self.smooth.iter().map(|&v| v as f64).sum();
                self.since_resum = 0;
            }
            // The delayed frame entered l frames ago: its required gain sits in the slot after
            // `ri`. Each smoothed value is <= it; the float mean could round just above, so clamp.
            let oldest = if ri == l { 0 } else { ri + 1 };
            let gain = ((self.sum / l as f64) as f32).min(self.req[oldest].max(0.0));
            self.min_gain = self.min_gain.min(gain);
            let di = 2 * si;
            let (x0, x1) = (self.delay[di], self.delay[di + 1]);
            self.delay[di] = if fr[0].is_finite() { fr[0] } else { 0.0 };
            self.delay[di + 1] = if fr[1].is_finite() { fr[1] } else { 0.0 };
            fr[0] = x0 * gain;
            fr[1] = x1 * gain;
            self.pos += 1;
            self.ri = if ri == l { 0 } else { ri + 1 };
            self.si = if si + 1 == l { 0 } else { si + 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_ceiling_and_passes_quiet_audio_unchanged() {
        let mut lim = Limiter::new(0.5, 64, 2000.0);
        let n = 20000;
        let mut buf: Vec<f32> = (0..n)
            .flat_map(|i| {
                let t = i as f32 / 44100.0;
                // A loud burst (peak 2.0) between 0.1 and 0.2 s, quiet sine elsewhere.
                let amp = if (4410..8820).contains(&i) { 2.0 } else { 0.25 };
                let v = amp * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
                [v, -v * 0.9]
            })
            .collect();
        let input = buf.clone();
        lim.process(&mut buf);
        let peak = buf.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak <= 0.5 + 1e-6, "peak {peak}");
        // Before the burst (minus look-ahead): output = input delayed by 64 frames.
        for i in 64..4000 {
            assert_eq!(buf[2 * i], input[2 * (i - 64)]);
        }
        assert!(
            lim.min_gain() < 0.26 && lim.min_gain() > 0.2,
            "{}",
            lim.min_gain()
        );
        // Long after the burst the gain has recovered (> 0.99).
        let late = &buf[2 * 19000..];
        let late_in = &input[2 * (19000 - 64)..2 * (n - 64)];
        let ratio = late.iter().map(|v| v.abs()).sum::<f32>()
            / late_in.iter().map(|v| v.abs()).sum::<f32>();
        assert!(ratio > 0.99, "{ratio}");
    }

    #[test]
    fn block_size_does_not_change_output() {
        let input: Vec<f32> = (0..6000)
            .map(|i| ((i * 7919) % 1000) as f32 / 300.0 - 1.5)
            .collect();
        let mut a = input.clone();
        Limiter::new(0.9, 32, 500.0).process(&mut a);
        let mut b = input.clone();
        let mut lim = Limiter::new(0.9, 32, 500.0);
        for c in b.chunks_mut(2 * 37) {
            lim.process(c);
        }
        assert_eq!(a, b);
        assert!(a.iter().all(|v| v.abs() <= 0.9));
    }

    #[test]
    fn idle_fast_path_equals_the_full_path() {
        // Quiet audio with short bursts over the ceiling and a NaN: the fast path (idle
        // limiter) and the full per-frame path must give the same samples and state.
        let input: Vec<f32> = (0..200_000)
            .map(|i| {
                let base = ((i * 7919) % 1000) as f32 / 2000.0 - 0.25;
                match i % 40_000 {
                    10_000..10_050 => base * 8.0,
                    20_000 => f32::NAN,
                    _ => base,
                }
            })
            .collect();
        let mut fast = input.clone();
        let mut lim_fast = Limiter::new(0.9, 66, 500.0);
        for c in fast.chunks_mut(2 * 1024) {
            lim_fast.process(c);
        }
        let mut full = input.clone();
        let mut lim_full = Limiter::new(0.9, 66, 500.0);
        lim_full.process_frames(&mut full);
        assert_eq!(fast, full);
        assert_eq!(lim_fast.min_gain(), lim_full.min_gain());
        assert!(lim_fast.min_gain() < 0.5);
        // The release completed after the last burst: the fast path is back on.
        assert!(lim_fast.ones_run >= lim_fast.l && lim_fast.last == 1.0);
    }
}
