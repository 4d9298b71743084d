//! Stereo convolution reverb: uniformly partitioned FFT convolution (overlap-save) on `realfft`.
//!
//! The impulse response (IR) of each channel is cut into `K` partitions of `P` samples; their
//! spectra (FFT size `2P`) are computed once. Each input block of `P` samples is transformed once,
//! kept in a frequency-domain delay line, and the output block is
//! `IFFT(sum_k X[n-k] * H[k])`. Cost per sample is about `K + 2 log2(2P)` complex operations, so
//! the partition size grows with the IR ([`ConvolutionReverb::partition_for`]) and a 2 s IR stays
//! in the same speed class as the default 100 ms one.
//!
//! There is no added latency for any call pattern: a call that ends inside a partition
//! computes that partial block with the missing input treated as zeros (convolution is causal, so
//! the samples already written are exact), and the block is recomputed when more input arrives.
//! The sum over older partitions is computed once per block, so a partial recompute costs one
//! FFT pair and one spectrum multiply. Calls in multiples of [`ConvolutionReverb::block_size`]
//! never recompute. `process` never allocates.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Settings of the default reverb.
#[derive(Debug, Clone, PartialEq)]
pub struct ReverbConfig {
    /// Length of the generated exponential-decay impulse response in seconds (it decays by
    /// 60 dB over this length). Default 0.1 s.
    pub ir_seconds: f64,
    /// Wet (reverberated) gain. Default 0.3.
    pub wet: f32,
    /// Dry (direct) gain. Default 0.7.
    pub dry: f32,
}

impl Default for ReverbConfig {
    fn default() -> Self {
        ReverbConfig {
            ir_seconds: 0.1,
            wet: 0.3,
            dry: 0.7,
        }
    }
}

/// One channel's convolution state.
struct Channel {
    /// IR partition spectra, `K` blocks of `P + 1` bins, pre-scaled by `1 / 2P` (realfft's inverse
    /// is unnormalised).
    h: Vec<Complex<f32>>,
    /// Frequency-domain delay line: spectra of the last `K` input blocks, a ring indexed by `head`.
    fdl: Vec<Complex<f32>>,
    /// Sum over partitions 1..K of the older input blocks for the current block.
    acc_old: Vec<Complex<f32>>,
    /// Time-domain input: previous block followed by the current (partially filled) block.
    window: Vec<f32>,
    /// Wet output of the current block (last computed).
    out: Vec<f32>,
    // Work buffers (per channel, so the two channels can run on two threads).
    time: Vec<f32>,
    spec: Vec<Complex<f32>>,
    ytime: Vec<f32>,
    scratch_f: Vec<Complex<f32>>,
    scratch_i: Vec<Complex<f32>>,
}

/// Runs two channel jobs (both before returning), e.g. `rayon::join`; see
/// [`ConvolutionReverb::process_with`].
pub type ChannelJoin = dyn Fn(&mut (dyn FnMut() + Send), &mut (dyn FnMut() + Send));

/// What both channels share (read-only while processing).
struct Shared<'a> {
    p: usize,
    k: usize,
    wet: f32,
    dry: f32,
    fwd: &'a dyn RealToComplex<f32>,
    inv: &'a dyn ComplexToReal<f32>,
}

/// Stereo uniformly partitioned convolution reverb with wet/dry mix.
pub struct ConvolutionReverb {
    p: usize,
    k: usize,
    /// Position inside the current block.
    fill: usize,
    /// Ring index of the newest FDL slot (the current block's spectrum goes here).
    head: usize,
    wet: f32,
    dry: f32,
    ch: [Channel; 2],
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for ConvolutionReverb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConvolutionReverb")
            .field("partition", &self.p)
            .field("partitions", &self.k)
            .field("wet", &self.wet)
            .field("dry", &self.dry)
            .finish()
    }
}

impl ConvolutionReverb {
    /// The partition size used for an IR of `ir_len` samples: about an eighth of the IR, a
    /// power of two between 256 and 8192 (keeps the cost per sample nearly flat in IR length).
    pub fn partition_for(ir_len: usize) -> usize {
        (ir_len / 8).next_power_of_two().clamp(256, 8192)
    }

    /// A reverb with the given per-channel impulse responses (any lengths, at least one sample;
    /// an empty IR acts as silence). Allocates everything `process` needs.
    pub fn new(ir_left: &[f32], ir_right: &[f32], wet: f32, dry: f32) -> Self {
        let len = ir_left.len().max(ir_right.len()).max(1);
        Self::with_partition(ir_left, ir_right, wet, dry, Self::partition_for(len))
    }

    /// Like [`ConvolutionReverb::new`] with an explicit partition size (rounded up to a power of
    /// two, at least 16).
    pub fn with_partition(
        ir_left: &[f32],
        ir_right: &[f32],
        wet: f32,
        dry: f32,
        partition: usize,
    ) -> Self {
        let p = partition.max(16).next_power_of_two();
        let len = ir_left.len().max(ir_right.len()).max(1);
        let k = len.div_ceil(p);
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(2 * p);
        let inv = planner.plan_fft_inverse(2 * p);
        let mut time = fwd.make_input_vec();
        let mut scratch_f = fwd.make_scratch_vec();
        let bins = p + 1;
        let scale = 1.0 / (2 * p) as f32;
        let mut make = |ir: &[f32]| {
            let mut h = vec![Complex::new(0.0f32, 0.0); k * bins];
            for part in 0..k {
                time.fill(0.0);
                let start = part * p;
                if start < ir.len() {
                    let end = (start + p).min(ir.len());
                    for (t, &v) in time.iter_mut().zip(&ir[start..end]) {
                        *t = v * scale;
                    }
                }
                // Lengths match the plan, so this cannot fail.
                let _ = fwd.process_with_scratch(
                    &mut time,
                    &mut h[part * bins..(part + 1) * bins],
                    &mut scratch_f,
                );
            }
            Channel {
                h,
                fdl: vec![Complex::new(0.0, 0.0); k * bins],
                acc_old: vec![Complex::new(0.0, 0.0); bins],
                window: vec![0.0; 2 * p],
                out: vec![0.0; p],
                time: fwd.make_input_vec(),
                spec: fwd.make_output_vec(),
                ytime: inv.make_output_vec(),
                scratch_f: fwd.make_scratch_vec(),
                scratch_i: inv.make_scratch_vec(),
            }
        };
        let ch = [make(ir_left), make(ir_right)];
        ConvolutionReverb {
            p,
            k,
            fill: 0,
            head: 0,
            wet,
            dry,
            ch,
            fwd,
            inv,
        }
    }

    /// The default reverb: an exponential-decay noise IR of `cfg.ir_seconds` (-60 dB at its end,
    /// different deterministic noise per channel for width, unit energy so the wet level matches
    /// the dry level), mixed `cfg.wet` / `cfg.dry`.
    pub fn from_config(sample_rate: u32, cfg: &ReverbConfig) -> Self {
        let (l, r) = exponential_ir(sample_rate, cfg.ir_seconds);
        Self::new(&l, &r, cfg.wet, cfg.dry)
    }

    /// Partition (block) size in samples; calls in multiples of it never recompute a block.
    pub fn block_size(&self) -> usize {
        self.p
    }

    /// Number of IR partitions per channel.
    pub fn partitions(&self) -> usize {
        self.k
    }

    /// Clears all history (the next output equals a fresh reverb's).
    pub fn reset(&mut self) {
        self.fill = 0;
        self.head = 0;
        for c in &mut self.ch {
            c.fdl.fill(Complex::new(0.0, 0.0));
            c.acc_old.fill(Complex::new(0.0, 0.0));
            c.window.fill(0.0);
            c.out.fill(0.0);
        }
    }

    /// Processes stereo audio in place: `x = dry * x + wet * (x * ir)`. Both slices must have
    /// the same length (the shorter length is used otherwise). Never allocates.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_with(left, right, &|a, b| {
            a();
            b();
        });
    }

    /// Like [`ConvolutionReverb::process`], with the two channels (independent work) handed to
    /// `join`, which must run both closures before returning, e.g. on two threads
    /// (`rayon::join`). Same output as `process`.
    pub fn process_with(&mut self, left: &mut [f32], right: &mut [f32], join: &ChannelJoin) {
        let n = left.len().min(right.len());
        let sh = Shared {
            p: self.p,
            k: self.k,
            wet: self.wet,
            dry: self.dry,
            fwd: &*self.fwd,
            inv: &*self.inv,
        };
        let (fill, head) = (self.fill, self.head);
        let [cl, cr] = &mut self.ch;
        let mut end_l = (fill, head);
        let mut end_r = (fill, head);
        join(
            &mut || end_l = cl.run(&sh, &mut left[..n], fill, head),
            &mut || end_r = cr.run(&sh, &mut right[..n], fill, head),
        );
        (self.fill, self.head) = end_l;
    }
}

impl Channel {
    /// Processes one channel's samples from block position `fill` and FDL head `head`;
    /// returns the new `(fill, head)` (the same for both channels).
    fn run(
        &mut self,
        sh: &Shared,
        buf: &mut [f32],
        mut fill: usize,
        mut head: usize,
    ) -> (usize, usize) {
        let (p, n) = (sh.p, buf.len());
        let mut off = 0;
        while off < n {
            let take = (p - fill).min(n - off);
            let (f0, f1) = (fill, fill + take);
            self.window[p + f0..p + f1].copy_from_slice(&buf[off..off + take]);
            self.compute_block(sh, head);
            for (x, &y) in buf[off..off + take].iter_mut().zip(&self.out[f0..f1]) {
                *x = sh.dry * *x + sh.wet * y;
            }
            fill = f1;
            off += take;
            if fill == p {
                fill = 0;
                head = (head + 1) % sh.k;
                self.advance_block(sh, head);
            }
        }
        (fill, head)
    }

    /// Output of the current block from its (zero-padded) input so far; stores the block's
    /// spectrum in the FDL head slot.
    fn compute_block(&mut self, sh: &Shared, head: usize) {
        let (p, bins) = (sh.p, sh.p + 1);
        self.time.copy_from_slice(&self.window);
        // The window holds zeros for the not-yet-received tail of the current block (cleared
        // by `advance_block`), so a partial block may be recomputed with more input.
        let _ = sh
            .fwd
            .process_with_scratch(&mut self.time, &mut self.spec, &mut self.scratch_f);
        let head = head * bins;
        self.fdl[head..head + bins].copy_from_slice(&self.spec);
        let h0 = &self.h[..bins];
        for ((s, &x), (&h, &a)) in self
            .spec
            .iter_mut()
            .zip(&self.fdl[head..head + bins])
            .zip(h0.iter().zip(&self.acc_old))
        {
            *s = a + x * h;
        }
        // Real signals: DC and Nyquist bins are real (clear rounding noise realfft rejects).
        self.spec[0].im = 0.0;
        self.spec[p].im = 0.0;
        let _ = sh
            .inv
            .process_with_scratch(&mut self.spec, &mut self.ytime, &mut self.scratch_i);
        self.out.copy_from_slice(&self.ytime[p..]);
    }

    /// Closes the current block (the FDL head has moved to `head`): shifts the time window and
    /// sums the older partitions for the next block.
    fn advance_block(&mut self, sh: &Shared, head: usize) {
        let (p, k, bins) = (sh.p, sh.k, sh.p + 1);
        self.window.copy_within(p.., 0);
        self.window[p..].fill(0.0);
        // The new head slot holds the oldest block, which no longer contributes.
        self.fdl[head * bins..(head + 1) * bins].fill(Complex::new(0.0, 0.0));
        self.acc_old.fill(Complex::new(0.0, 0.0));
        // Partition j (1..k) multiplies the block j steps older than the new head.
        for j in 1..k {
            let slot = (head + k - j) % k;
            let x = &self.fdl[slot * bins..(slot + 1) * bins];
            let h = &self.h[j * bins..(j + 1) * bins];
            for ((a, &x), &h) in self.acc_old.iter_mut().zip(x).zip(h) {
                *a += x * h;
            }
        }
    }
}

/// Deterministic exponential-decay noise IRs (left, right) of `seconds` at `sample_rate`:
/// amplitude falls by 60 dB over the length; each IR has unit energy.
pub fn exponential_ir(sample_rate: u32, seconds: f64) -> (Vec<f32>, Vec<f32>) {
    let n = ((seconds.max(0.0) * sample_rate as f64).round() as usize).max(1);
    let make = |seed: u64| {
        let mut s = seed;
        let tau = n as f64 / 1000f64.ln();
        let mut v: Vec<f64> = (0..n)
            .map(|i| {
                // xorshift64*: uniform in [-1, 1).
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                let u = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
                (2.0 * u - 1.0) * (-(i as f64) / tau).exp()
            })
            .collect();
        let e = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-30);
        v.iter_mut().for_each(|x| *x /= e);
        v.into_iter().map(|x| x as f32).collect::<Vec<f32>>()
    };
    (make(0x9E37_79B9_7F4A_7C15), make(0xD1B5_4A32_D192_ED03))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(x: &[f32], h: &[f32]) -> Vec<f64> {
        (0..x.len())
            .map(|n| {
                (0..h.len().min(n + 1))
                    .map(|k| x[n - k] as f64 * h[k] as f64)
                    .sum()
            })
            .collect()
    }

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn impulse_response_equals_ir() {
        let (l, r) = exponential_ir(44100, 0.1);
        let mut rv = ConvolutionReverb::new(&l, &r, 1.0, 0.0);
        let n = l.len() + 3000;
        let mut a = vec![0.0f32; n];
        let mut b = vec![0.0f32; n];
        a[0] = 1.0;
        b[0] = 1.0;
        rv.process(&mut a, &mut b);
        for i in 0..n {
            let el = if i < l.len() { l[i] } else { 0.0 };
            let er = if i < r.len() { r[i] } else { 0.0 };
            assert!(
                (a[i] - el).abs() < 1e-5,
                "left sample {i}: {} vs {}",
                a[i],
                el
            );
            assert!(
                (b[i] - er).abs() < 1e-5,
                "right sample {i}: {} vs {}",
                b[i],
                er
            );
        }
        // The two channels differ (decorrelated IRs).
        assert!(l.iter().zip(&r).map(|(x, y)| (x - y).abs()).sum::<f32>() > 1.0);
    }

    #[test]
    fn equals_direct_convolution_any_block_sizes() {
        let h: Vec<f32> = noise(1000, 7)
            .iter()
            .enumerate()
            .map(|(i, v)| v * (-(i as f32) / 200.0).exp() * 0.1)
            .collect();
        let x = noise(5000, 3);
        let want = direct(&x, &h);
        for blocks in [&[5000usize][..], &[1, 7, 256, 13, 1000, 3723], &[64; 79]] {
            let mut rv = ConvolutionReverb::with_partition(&h, &h, 1.0, 0.5, 128);
            let mut l = x.clone();
            let mut r = x.clone();
            let mut pos = 0;
            for &b in blocks.iter().cycle() {
                if pos >= x.len() {
                    break;
                }
                let e = (pos + b).min(x.len());
                rv.process(&mut l[pos..e], &mut r[pos..e]);
                pos = e;
            }
            for i in 0..x.len() {
                let expect = want[i] + 0.5 * x[i] as f64;
                assert!(
                    (l[i] as f64 - expect).abs() < 1e-5,
                    "blocks {:?} sample {i}: {} vs {expect}",
                    &blocks[..1],
                    l[i]
                );
                assert_eq!(l[i], r[i]);
            }
        }
    }

    #[test]
    fn long_ir_matches_direct_and_reset_repeats() {
        // A 2 s IR at 8 kHz (16000 taps) keeps the direct reference cheap.
        let (l, r) = exponential_ir(8000, 2.0);
        let mut rv = ConvolutionReverb::new(&l, &r, 1.0, 0.0);
        assert!(rv.block_size() >= 1024 && rv.partitions() <= 16, "{rv:?}");
        let x = noise(20000, 11);
        let want = direct(&x, &l);
        let (mut a, mut b) = (x.clone(), x.clone());
        rv.process(&mut a, &mut b);
        let max_err = (0..x.len())
            .map(|i| (a[i] as f64 - want[i]).abs())
            .fold(0.0, f64::max);
        assert!(max_err < 1e-5, "max error {max_err}");
        rv.reset();
        let (mut a2, mut b2) = (x.clone(), x.clone());
        rv.process(&mut a2, &mut b2);
        assert_eq!(a, a2);
        assert_eq!(b, b2);
    }

    #[test]
    fn default_tail_decays_60db_over_its_length() {
        let (l, _) = exponential_ir(44100, 0.1);
        assert_eq!(l.len(), 4410);
        let e = |s: &[f32]| (s.iter().map(|v| (v * v) as f64).sum::<f64>() / s.len() as f64).sqrt();
        let head = e(&l[..441]);
        let tail = e(&l[4410 - 441..]);
        let drop_db = 20.0 * (head / tail).log10();
        // Over 90% of the length the envelope falls 54 dB; allow noise in the estimate.
        assert!((drop_db - 54.0).abs() < 6.0, "drop {drop_db} dB");
        let energy: f64 = l.iter().map(|v| (v * v) as f64).sum();
        assert!((energy - 1.0).abs() < 1e-4);
    }
}
