//! Time-frequency features of a recording: log-magnitude STFT, spectral flux, harmonic
//! pitch salience of the flux (per MIDI pitch), chroma.

use realfft::RealFftPlanner;

/// Analysis rate after decimation (about 22 kHz: enough for pitch up to C8 and its harmonics).
pub const TARGET_RATE: f64 = 22_050.0;
/// STFT size at the analysis rate (93 ms: resolves semitones from about C3 up by the
/// fundamental, lower notes by their harmonics).
pub const N_FFT: usize = 2048;
/// Lowest and highest MIDI pitch analysed.
pub const PITCH_LO: u8 = 21;
pub const PITCH_HI: u8 = 108;
pub const N_PITCH: usize = (PITCH_HI - PITCH_LO + 1) as usize;
const HARMONICS: usize = 8;
/// Flux lag in frames (the reference frame is this far back).
const LAG: usize = 2;
/// Log compression: ln(1 + GAMMA * |X|).
const GAMMA: f32 = 1000.0;

/// Frame features of one recording.
pub struct Features {
    /// Rate of the analysed (decimated) signal.
    pub rate: f64,
    /// Frame hop in samples of the analysed signal.
    pub hop: usize,
    /// Frame hop in seconds.
    pub hop_s: f64,
    /// Number of frames; frame `t` is centred on `t * hop_s` seconds.
    pub frames: usize,
    /// `frames x N_PITCH`: harmonic salience of the positive flux (new energy) per pitch.
    pub pitch_flux: Vec<f32>,
    /// `frames x 12`: chroma of the log magnitude.
    pub chroma: Vec<f32>,
    /// `frames x 12`: chroma of the positive flux.
    pub onset_chroma: Vec<f32>,
    /// `frames`: summed positive flux (broadband onset strength).
    pub onset: Vec<f32>,
    /// The analysed (decimated) signal, for the long-window checks.
    pub signal: Vec<f32>,
    /// Long-window spectra around chosen onsets.
    pub hi: HiRes,
}

/// Mono mix of interleaved audio.
pub fn mono(samples: &[f32], channels: usize) -> Vec<f32> {
    let c = channels.max(1);
    if c == 1 {
        return samples.to_vec();
    }
    let inv = 1.0 / c as f32;
    samples
        .chunks_exact(c)
        .map(|f| f.iter().sum::<f32>() * inv)
        .collect()
}

/// Outputs computed side by side in [`decimate`].
const LANES: usize = 16;
/// Outputs per work unit in [`decimate`] (a multiple of `LANES`).
const BLOCK: usize = 4096;

/// Decimates by an integer factor toward [`TARGET_RATE`] with a windowed-sinc low-pass.
/// Returns the signal and its new rate.
pub fn decimate(x: &[f32], rate: u32) -> (Vec<f32>, f64) {
    decimate_interleaved(x, 1, rate)
}

/// [`decimate`] of the [`mono`] mix of interleaved audio, mixed on the fly (no full-rate
/// mono copy). The same values bit for bit as `decimate(&mono(x, channels), rate)`.
pub fn decimate_interleaved(x: &[f32], channels: usize, rate: u32) -> (Vec<f32>, f64) {
    let c = channels.max(1);
    let d = ((rate as f64 / TARGET_RATE).round() as usize).max(1);
    if d == 1 {
        return (mono(x, c), rate as f64);
    }
    let inv = 1.0 / c as f32;
    // Mono sample `j`, as [`mono`] computes it (`sum` starts from -0.0, so a + b is exact).
    let at = |j: usize| -> f32 {
        match c {
            1 => x[j],
            2 => (x[2 * j] + x[2 * j + 1]) * inv,
            _ => x[j * c..j * c + c].iter().sum::<f32>() * inv,
        }
    };
    let len = x.len() / c;
    // 8 taps per output-rate period on each side; cutoff at 0.9 x the new Nyquist.
    let half = 8 * d;
    let fc = 0.45 / d as f64;
    let taps: Vec<f32> = (0..=2 * half)
        .map(|i| {
            let n = i as f64 - half as f64;
            let sinc = if n == 0.0 {
                2.0 * fc
            } else {
                (std::f64::consts::TAU * fc * n).sin() / (std::f64::consts::PI * n)
            };
            let w = 0.5 + 0.5 * (std::f64::consts::PI * n / (half as f64 + 1.0)).cos();
            (sinc * w) as f32
        })
        .collect();
    let sum: f32 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| t / sum).collect();
    let out_len = len.div_ceil(d);
    // Polyphase: output `o` is the in-order sum over taps `k` of `padded[o * d + k] * taps[k]`,
    // with `padded` the signal behind `half` zeros. Phase `r` holds `padded[i * d + r]`, so
    // tap `k` reads `phase[k % d][o + k / d]`: contiguous in `o`, and LANES outputs are
    // computed side by side (vectorised) while each keeps the scalar summation order.
    // Each block of outputs gathers its own phases (small, cache-resident, reused per thread).
    let span = BLOCK + taps.len() / d + 1;
    // Where tap `k` reads in a block's phases, relative to the output.
    let offs: Vec<usize> = (0..taps.len()).map(|k| (k % d) * span + k / d).collect();
    let block = |ph: &mut Vec<f32>, o0: usize, dst: &mut [f32]| {
        ph.resize(d * span, 0.0);
        for (r, p) in ph.chunks_exact_mut(span).enumerate() {
            // p[i] = padded[(o0 + i) * d + r] = mono[(o0 + i) * d + r - half] (zero outside).
            let j0 = (o0 * d + r) as isize - half as isize;
            if j0 >= 0 && j0 as usize + (span - 1) * d < len {
                let j0 = j0 as usize;
                match c {
                    1 => p
                        .iter_mut()
                        .zip(x[j0..].iter().step_by(d))
                        .for_each(|(v, &s)| *v = s),
                    2 => p
                        .iter_mut()
                        .zip(x[2 * j0..].chunks_exact(2).step_by(d))
                        .for_each(|(v, f)| *v = (f[0] + f[1]) * inv),
                    _ => p
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = at(j0 + i * d)),
                }
            } else {
                for (i, v) in p.iter_mut().enumerate() {
                    let j = ((o0 + i) * d + r).wrapping_sub(half);
                    *v = if j < len { at(j) } else { 0.0 };
                }
            }
        }
        for (g, out) in dst.chunks_exact_mut(LANES).enumerate() {
            let o = g * LANES;
            // -0.0: the neutral element `Iterator::sum` starts from (same zero signs).
            let mut acc = [-0.0f32; LANES];
            for (&t, &at) in taps.iter().zip(&offs) {
                let src: &[f32; LANES] = ph[o + at..o + at + LANES].try_into().unwrap();
                for (a, &v) in acc.iter_mut().zip(src) {
                    *a += v * t;
                }
            }
            out.copy_from_slice(&acc);
        }
    };
    let mut y = vec![0.0f32; out_len.div_ceil(LANES) * LANES];
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        y.par_chunks_mut(BLOCK)
            .enumerate()
            .for_each_init(Vec::new, |ph, (i, c)| block(ph, i * BLOCK, c));
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut ph = Vec::new();
        for (i, c) in y.chunks_mut(BLOCK).enumerate() {
            block(&mut ph, i * BLOCK, c);
        }
    }
    y.truncate(out_len);
    (y, rate as f64 / d as f64)
}

/// Frequency of MIDI pitch `p`.
pub fn pitch_hz(p: f64) -> f64 {
    440.0 * 2f64.powf((p - 69.0) / 12.0)
}

/// Bin ranges covering +-half a semitone around each harmonic of each pitch.
fn harmonic_ranges(rate: f64, n_fft: usize, bins: usize) -> Vec<(u16, u16)> {
    let df = rate / n_fft as f64;
    let mut r = vec![(0u16, 0u16); N_PITCH * HARMONICS];
    for pi in 0..N_PITCH {
        let f0 = pitch_hz((PITCH_LO as usize + pi) as f64);
        for h in 0..HARMONICS {
            let f = f0 * (h + 1) as f64;
            let (lo, hi) = (f * 2f64.powf(-0.5 / 12.0), f * 2f64.powf(0.5 / 12.0));
            if hi / df >= (bins - 2) as f64 || f > 7000.0 {
                break;
            }
            let c = (f / df).round() as usize;
            let lo = ((lo / df).ceil() as usize).min(c).max(1);
            let hi = ((hi / df).floor() as usize).max(c);
            r[pi * HARMONICS + h] = (lo as u16, hi as u16);
        }
    }
    r
}

/// Weight of harmonic `h` (0-based) in the salience sum.
#[inline]
pub fn hweight(h: usize) -> f32 {
    [1.0, 0.8, 0.65, 0.55, 0.45, 0.4, 0.35, 0.3][h]
}

/// Harmonic salience of one spectrum (`bins` values) for every pitch, into `out` (N_PITCH).
pub fn salience(spec: &[f32], ranges: &[(u16, u16)], out: &mut [f32]) {
    for (pi, o) in out.iter_mut().enumerate() {
        let mut s = 0.0;
        for h in 0..HARMONICS {
            let (lo, hi) = ranges[pi * HARMONICS + h];
            if hi == 0 {
                break;
            }
            let m = spec[lo as usize..=hi as usize]
                .iter()
                .fold(0.0f32, |a, &b| a.max(b));
            s += hweight(h) * m;
        }
        *o = s;
    }
}

/// Natural log, to about 1e-4 relative (the STFT's log compression; `f32::ln` dominated).
#[inline]
fn fast_ln(x: f32) -> f32 {
    // x = m * 2^e with m in [1, 2): ln x = e ln 2 + ln m, ln m by a polynomial in m - 1.
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000) - 1.0;
    let p = m
        * (0.999_970_4
            + m * (-0.499_078_2
                + m * (0.327_100_8 + m * (-0.223_119_1 + m * (0.130_880_4 + m * -0.035_177_5)))));
    e as f32 * std::f32::consts::LN_2 + p
}

/// Work buffers of one [`compute`] worker, reused across its chunks.
struct ChunkScratch {
    buf: Vec<f32>,
    out: Vec<realfft::num_complex::Complex<f32>>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    /// Log spectra of the chunk's frames (and the LAG before).
    lm: Vec<f32>,
    /// Positive flux of one frame.
    fl: Vec<f32>,
    /// Sparse max table of `fl`, see [`SalienceTable`].
    st: Vec<f32>,
}

/// Positive SuperFlux `fl = max(0, cur - max3(prev))` (max over the bin and its neighbours,
/// clamped at the edges), written to vectorise.
fn superflux(cur: &[f32], prev: &[f32], fl: &mut [f32]) {
    let n = cur.len();
    if n < 3 {
        for b in 0..n {
            let r = prev[b.saturating_sub(1)]
                .max(prev[b])
                .max(prev[(b + 1).min(n - 1)]);
            fl[b] = (cur[b] - r).max(0.0);
        }
        return;
    }
    fl[0] = (cur[0] - prev[0].max(prev[0]).max(prev[1])).max(0.0);
    for ((((f, &c), &a), &b), &d) in fl[1..n - 1]
        .iter_mut()
        .zip(&cur[1..n - 1])
        .zip(&prev[..n - 2])
        .zip(&prev[1..n - 1])
        .zip(&prev[2..])
    {
        *f = (c - a.max(b).max(d)).max(0.0);
    }
    fl[n - 1] = (cur[n - 1] - prev[n - 2].max(prev[n - 1]).max(prev[n - 1])).max(0.0);
}

/// [`salience`] by a sparse max table: level `l` holds the max of `2^l` bins from each bin,
/// so the max over any harmonic range is the max of two table entries. Max is exact, and the
/// weighted sum keeps the order of [`salience`]: the same values bit for bit for spectra >= 0
/// (the positive flux; `salience` starts its max at 0).
struct SalienceTable {
    levels: usize,
    bins: usize,
    /// Per pitch, the end of its entries in `terms`.
    ends: Vec<u32>,
    /// (weight, table index a, table index b) per harmonic.
    terms: Vec<(f32, u32, u32)>,
}

impl SalienceTable {
    fn new(ranges: &[(u16, u16)], bins: usize) -> Self {
        let mut levels = 1;
        let mut ends = Vec::with_capacity(N_PITCH);
        let mut terms = Vec::new();
        for pi in 0..N_PITCH {
            for h in 0..HARMONICS {
                let (lo, hi) = ranges[pi * HARMONICS + h];
                if hi == 0 {
                    break;
                }
                let (lo, hi) = (lo as usize, hi as usize);
                let l = (hi - lo + 1).ilog2() as usize;
                levels = levels.max(l + 1);
                let a = l * bins + lo;
                let b = l * bins + hi + 1 - (1 << l);
                terms.push((hweight(h), a as u32, b as u32));
            }
            ends.push(terms.len() as u32);
        }
        SalienceTable {
            levels,
            bins,
            ends,
            terms,
        }
    }

    /// Salience of `spec` (`bins` values) per pitch into `out`; `st`: `levels * bins` scratch.
    fn apply(&self, spec: &[f32], st: &mut [f32], out: &mut [f32]) {
        let n = self.bins;
        st[..n].copy_from_slice(spec);
        for l in 1..self.levels {
            let w = 1 << (l - 1);
            // Entries whose window fits the spectrum (the only ones read).
            let m = (n + 1).saturating_sub(2 * w);
            let (done, rest) = st.split_at_mut(l * n);
            let src = &done[(l - 1) * n..];
            for ((d, &a), &b) in rest[..m].iter_mut().zip(&src[..m]).zip(&src[w..w + m]) {
                *d = a.max(b);
            }
        }
        let mut k = 0;
        for (o, &end) in out.iter_mut().zip(&self.ends) {
            let mut s = 0.0;
            for &(w, a, b) in &self.terms[k..end as usize] {
                s += w * st[a as usize].max(st[b as usize]);
            }
            k = end as usize;
            *o = s;
        }
    }
}

/// Frames per parallel work unit in [`compute`].
const CHUNK: usize = 64;

/// Computes every feature of a mono signal at `rate` (decimated first), hop about 10 ms.
pub fn compute(x: &[f32], rate: u32) -> Features {
    compute_interleaved(x, 1, rate)
}

/// [`compute`] of the [`mono`] mix of interleaved audio (the same features bit for bit,
/// without the full-rate mono copy).
pub fn compute_interleaved(x: &[f32], channels: usize, rate: u32) -> Features {
    let (mut y, sr) = decimate_interleaved(x, channels, rate);
    // 10 ms fade-in: a recording cut in the middle of a sound would otherwise start with a
    // broadband click that looks like the onset of every pitch.
    let fade = ((sr * 0.01) as usize).min(y.len());
    for (i, v) in y.iter_mut().take(fade).enumerate() {
        *v *= 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / fade as f32).cos();
    }
    let hop = (sr * 0.01).round().max(1.0) as usize;
    // Only bins up to ~7.2 kHz are used (harmonics above are not summed).
    let bins = ((7200.0 * N_FFT as f64 / sr) as usize + 4).min(N_FFT / 2 + 1);
    let frames = y.len().div_ceil(hop).max(1);
    let window: Vec<f32> = (0..N_FFT)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / N_FFT as f32).cos())
        .collect();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(N_FFT);
    let norm = 2.0 / window.iter().sum::<f32>();
    let ranges = harmonic_ranges(sr, N_FFT, bins);
    // Chroma bins (50 Hz to 5 kHz: contiguous) as runs of one pitch class, in bin order.
    let mut pc_runs: Vec<(usize, usize, usize)> = Vec::new(); // (pitch class, lo, hi excl.)
    for k in 0..bins {
        let f = k as f64 * sr / N_FFT as f64;
        if !(50.0..=5000.0).contains(&f) {
            continue;
        }
        let p = 69.0 + 12.0 * (f / 440.0).log2();
        let pc = (p.round() as i64).rem_euclid(12) as usize;
        match pc_runs.last_mut() {
            Some(r) if r.0 == pc && r.2 == k => r.2 = k + 1,
            _ => pc_runs.push((pc, k, k + 1)),
        }
    }
    let sal = SalienceTable::new(&ranges, bins);
    let mut pitch_flux = vec![0.0f32; frames * N_PITCH];
    let mut chroma = vec![0.0f32; frames * 12];
    let mut onset_chroma = vec![0.0f32; frames * 12];
    let mut onset = vec![0.0f32; frames];
    let new_scratch = || ChunkScratch {
        buf: fft.make_input_vec(),
        out: fft.make_output_vec(),
        scratch: fft.make_scratch_vec(),
        lm: vec![0.0; (CHUNK + LAG) * bins],
        fl: vec![0.0; bins],
        st: vec![0.0; sal.levels * bins],
    };
    // One chunk of CHUNK frames: its log spectra (plus the LAG frames before, for the flux)
    // live only in the chunk's scratch, so no frames x bins matrix is ever stored.
    let run = |w: &mut ChunkScratch,
               ci: usize,
               pf: &mut [f32],
               ch: &mut [f32],
               och: &mut [f32],
               on: &mut [f32]| {
        let t0 = ci * CHUNK;
        let cnt = on.len();
        let first = t0.saturating_sub(LAG);
        let lm = &mut w.lm[..(t0 + cnt - first) * bins];
        for (k, dst) in lm.chunks_exact_mut(bins).enumerate() {
            // Frame t is centred on sample t * hop.
            let start = (first + k) as isize * hop as isize - (N_FFT / 2) as isize;
            if start >= 0 && start as usize + N_FFT <= y.len() {
                let src = &y[start as usize..start as usize + N_FFT];
                for ((b, &v), &wi) in w.buf.iter_mut().zip(src).zip(&window) {
                    *b = v * wi;
                }
            } else {
                for (i, b) in w.buf.iter_mut().enumerate() {
                    let j = start + i as isize;
                    *b = if j >= 0 && (j as usize) < y.len() {
                        y[j as usize] * window[i]
                    } else {
                        0.0
                    };
                }
            }
            fft.process_with_scratch(&mut w.buf, &mut w.out, &mut w.scratch)
                .expect("fft sizes match");
            for (d, c) in dst.iter_mut().zip(w.out.iter()) {
                *d = fast_ln(1.0 + GAMMA * norm * (c.re * c.re + c.im * c.im).sqrt());
            }
        }
        let fl = &mut w.fl;
        for k in 0..cnt {
            let t = t0 + k;
            let cur = &lm[(t - first) * bins..(t - first + 1) * bins];
            if t < LAG {
                // Before the signal is silence: a note right at the start is an onset too.
                fl.copy_from_slice(cur);
            } else {
                let prev = &lm[(t - LAG - first) * bins..(t - LAG - first + 1) * bins];
                // Reference: the previous frame max-filtered over 3 bins (SuperFlux), so
                // small pitch wobbles do not count as new energy.
                superflux(cur, prev, fl);
            }
            sal.apply(fl, &mut w.st, &mut pf[k * N_PITCH..(k + 1) * N_PITCH]);
            let (c, oc) = (&mut ch[k * 12..k * 12 + 12], &mut och[k * 12..k * 12 + 12]);
            // Same summation order as a plain pass over the bins (results bit for bit).
            let mut s = 0.0;
            for &(pc, lo, hi) in &pc_runs {
                let (mut a, mut o) = (c[pc], oc[pc]);
                for (&v, &f) in cur[lo..hi].iter().zip(&fl[lo..hi]) {
                    a += v;
                    o += f;
                    s += f;
                }
                c[pc] = a;
                oc[pc] = o;
            }
            on[k] = s;
        }
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        pitch_flux
            .par_chunks_mut(CHUNK * N_PITCH)
            .zip(chroma.par_chunks_mut(CHUNK * 12))
            .zip(onset_chroma.par_chunks_mut(CHUNK * 12))
            .zip(onset.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each_init(new_scratch, |w, (ci, (((pf, ch), och), on))| {
                run(w, ci, pf, ch, och, on)
            });
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut w = new_scratch();
        for (ci, (((pf, ch), och), on)) in pitch_flux
            .chunks_mut(CHUNK * N_PITCH)
            .zip(chroma.chunks_mut(CHUNK * 12))
            .zip(onset_chroma.chunks_mut(CHUNK * 12))
            .zip(onset.chunks_mut(CHUNK))
            .enumerate()
        {
            run(&mut w, ci, pf, ch, och, on);
        }
    }
    let hi = HiRes::new(sr);
    Features {
        rate: sr,
        hop,
        hop_s: hop as f64 / sr,
        frames,
        pitch_flux,
        chroma,
        onset_chroma,
        onset,
        signal: y,
        hi,
    }
}

/// Size of the long analysis window at the analysis rate (186 ms at 22.05 kHz: 5.4 Hz
/// bins, so the harmonics of low notes a semitone apart fall in different bins).
pub const N_HI: usize = 4096;

/// Long-window spectra, computed on demand around chosen onsets (score-informed checks).
pub struct HiRes {
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    /// Hann windows of N_HI and N_HI / 2 samples (the short one zero-padded) and their
    /// amplitude normalisations.
    window: Vec<f32>,
    norm: f32,
    short: Vec<f32>,
    short_norm: f32,
    /// Bins kept (up to ~7.2 kHz).
    pub bins: usize,
    /// Bin width, Hz.
    pub df: f64,
    /// Harmonic bin ranges per pitch at this resolution, like those `harmonic_ranges` gives the features.
    pub ranges: Vec<(u16, u16)>,
}

/// Work buffers of [`HiRes::log_spectrum`].
pub struct HiScratch {
    buf: Vec<f32>,
    out: Vec<realfft::num_complex::Complex<f32>>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
}

impl HiRes {
    fn new(sr: f64) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_HI);
        let window: Vec<f32> = (0..N_HI)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / N_HI as f32).cos())
            .collect();
        let norm = 2.0 / window.iter().sum::<f32>();
        let short: Vec<f32> = (0..N_HI / 2)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / (N_HI / 2) as f32).cos())
            .collect();
        let short_norm = 2.0 / short.iter().sum::<f32>();
        let bins = ((7200.0 * N_HI as f64 / sr) as usize + 8).min(N_HI / 2 + 1);
        HiRes {
            fft,
            window,
            norm,
            short,
            short_norm,
            bins,
            df: sr / N_HI as f64,
            ranges: harmonic_ranges(sr, N_HI, bins),
        }
    }

    /// Fresh work buffers.
    pub fn scratch(&self) -> HiScratch {
        HiScratch {
            buf: self.fft.make_input_vec(),
            out: self.fft.make_output_vec(),
            scratch: self.fft.make_scratch_vec(),
        }
    }

    /// Log magnitude (same compression as the STFT) of the window of `y` starting at sample
    /// `start` (zeros outside the signal), into `dst` (`bins` values). `short`: a window half
    /// as long (zero-padded, same bin grid, wider peaks).
    pub fn log_spectrum(
        &self,
        y: &[f32],
        start: isize,
        short: bool,
        s: &mut HiScratch,
        dst: &mut [f32],
    ) {
        self.magnitude(y, start, short, s, dst);
        for d in dst.iter_mut() {
            *d = fast_ln(1.0 + GAMMA * *d);
        }
    }

    /// Amplitude spectrum (a steady sinusoid of amplitude A reads about A at its bin, for
    /// either window) of the window of `y` starting at `start`, into `dst` (`bins` values).
    pub fn magnitude(
        &self,
        y: &[f32],
        start: isize,
        short: bool,
        s: &mut HiScratch,
        dst: &mut [f32],
    ) {
        let (w, norm) = if short {
            (&self.short, self.short_norm)
        } else {
            (&self.window, self.norm)
        };
        s.buf.iter_mut().for_each(|b| *b = 0.0);
        for (i, (b, &wi)) in s.buf.iter_mut().zip(w.iter()).enumerate() {
            let j = start + i as isize;
            if j >= 0 && (j as usize) < y.len() {
                *b = y[j as usize] * wi;
            }
        }
        self.fft
            .process_with_scratch(&mut s.buf, &mut s.out, &mut s.scratch)
            .expect("fft sizes match");
        for (d, c) in dst.iter_mut().zip(s.out.iter()) {
            *d = norm * (c.re * c.re + c.im * c.im).sqrt();
        }
    }
}

impl Features {
    /// Pitch-flux value of MIDI pitch `p` at frame `t` (0 outside the range).
    #[inline]
    pub fn pf(&self, t: usize, p: u8) -> f32 {
        if t >= self.frames || !(PITCH_LO..=PITCH_HI).contains(&p) {
            return 0.0;
        }
        self.pitch_flux[t * N_PITCH + (p - PITCH_LO) as usize]
    }

    /// Frame index nearest to `seconds`.
    #[inline]
    pub fn frame_at(&self, seconds: f64) -> isize {
        (seconds / self.hop_s).round() as isize
    }

    /// Long-window harmonic bin ranges of pitch `p`.
    pub fn pitch_ranges(&self, p: u8) -> &[(u16, u16)] {
        let pi = (p.clamp(PITCH_LO, PITCH_HI) - PITCH_LO) as usize;
        &self.hi.ranges[pi * HARMONICS..(pi + 1) * HARMONICS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// The decimation as first written: one output at a time, a plain dot product over the
    /// zero-padded signal (the reference the polyphase version must equal bit for bit).
    fn decimate_reference(x: &[f32], rate: u32) -> Vec<f32> {
        let d = ((rate as f64 / TARGET_RATE).round() as usize).max(1);
        if d == 1 {
            return x.to_vec();
        }
        let half = 8 * d;
        let fc = 0.45 / d as f64;
        let taps: Vec<f32> = (0..=2 * half)
            .map(|i| {
                let n = i as f64 - half as f64;
                let sinc = if n == 0.0 {
                    2.0 * fc
                } else {
                    (std::f64::consts::TAU * fc * n).sin() / (std::f64::consts::PI * n)
                };
                let w = 0.5 + 0.5 * (std::f64::consts::PI * n / (half as f64 + 1.0)).cos();
                (sinc * w) as f32
            })
            .collect();
        let sum: f32 = taps.iter().sum();
        let taps: Vec<f32> = taps.iter().map(|t| t / sum).collect();
        let mut padded = vec![0.0f32; x.len() + 2 * half + d];
        padded[half..half + x.len()].copy_from_slice(x);
        (0..x.len().div_ceil(d))
            .map(|o| {
                let s = &padded[o * d..o * d + taps.len()];
                s.iter().zip(&taps).map(|(a, b)| a * b).sum()
            })
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn polyphase_decimation_equals_the_plain_dot_product() {
        // Lengths around the block size and shorter than the filter; factors 1, 2, 4; a
        // silent stretch (zero signs matter to bit equality).
        for (n, rate) in [
            (10_000, 44_100),
            (BLOCK * 4 + 7, 44_100),
            (5, 44_100),
            (9_001, 88_200),
            (3_000, 48_000),
            (1_000, 22_050),
        ] {
            let mut x = noise(n, n as u32);
            x[n / 3..n / 2].iter_mut().for_each(|v| *v = 0.0);
            let (y, sr) = decimate(&x, rate);
            assert_eq!(
                bits(&y),
                bits(&decimate_reference(&x, rate)),
                "{n} at {rate}"
            );
            let d = ((rate as f64 / TARGET_RATE).round() as usize).max(1);
            assert_eq!(sr, rate as f64 / d as f64);
        }
    }

    #[test]
    fn interleaved_decimation_equals_mono_then_decimate() {
        for (ch, n, rate) in [(2, 20_000, 44_100), (3, 7_001, 48_000), (2, 999, 22_050)] {
            let x = noise(ch * n + 1, 7); // a trailing partial frame is dropped, as by `mono`
            let (a, ra) = decimate_interleaved(&x, ch, rate);
            let (b, rb) = decimate(&mono(&x, ch), rate);
            assert_eq!(bits(&a), bits(&b), "{ch} channels at {rate}");
            assert_eq!(ra, rb);
        }
    }

    #[test]
    fn salience_table_equals_salience() {
        let bins = (7200.0 * N_FFT as f64 / TARGET_RATE) as usize + 4;
        let ranges = harmonic_ranges(TARGET_RATE, N_FFT, bins);
        let table = SalienceTable::new(&ranges, bins);
        let mut st = vec![0.0; table.levels * bins];
        for seed in 0..4 {
            let spec: Vec<f32> = noise(bins, seed).iter().map(|v| v.max(0.0)).collect();
            let (mut a, mut b) = (vec![0.0; N_PITCH], vec![0.0; N_PITCH]);
            table.apply(&spec, &mut st, &mut a);
            salience(&spec, &ranges, &mut b);
            assert_eq!(bits(&a), bits(&b));
            assert!(a.iter().any(|&v| v > 0.5), "a salience that can fail");
        }
    }

    #[test]
    fn superflux_equals_the_per_bin_formula() {
        for n in [1, 2, 3, 10, 672] {
            let (cur, prev) = (noise(n, 1), noise(n, 2));
            let mut fl = vec![0.0; n];
            superflux(&cur, &prev, &mut fl);
            for b in 0..n {
                let r = prev[b.saturating_sub(1)]
                    .max(prev[b])
                    .max(prev[(b + 1).min(n - 1)]);
                assert_eq!(fl[b].to_bits(), (cur[b] - r).max(0.0).to_bits(), "{n} {b}");
            }
        }
    }
}
