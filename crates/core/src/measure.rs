//! Measurements on rendered audio: dominant frequency, modulation rate, levels, spectral slope.
//!
//! Used by tests (assert on the sound itself) and by the analysis features. All functions take
//! one channel as `&[f32]` at sample rate `sr`.

use realfft::RealFftPlanner;

/// Magnitude spectrum (Hann window, zero-padded to a power of two >= `pad * len`).
/// Returns `(magnitudes, bin_width_hz)`.
pub fn spectrum(x: &[f32], sr: f64, pad: usize) -> (Vec<f64>, f64) {
    let n = (x.len() * pad.max(1)).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut buf = fft.make_input_vec();
    let m = x.len();
    for (i, v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (m.max(2) - 1) as f64).cos();
        buf[i] = *v as f64 * w;
    }
    let mut out = fft.make_output_vec();
    fft.process(&mut buf, &mut out).expect("fft sizes match");
    (out.iter().map(|c| c.norm()).collect(), sr / n as f64)
}

/// Frequency of the largest spectral peak in `[lo, hi]` Hz, refined by parabolic interpolation
/// of the log magnitude (accurate to a small fraction of a bin).
pub fn dominant_frequency(x: &[f32], sr: f64, lo: f64, hi: f64) -> f64 {
    let (mag, df) = spectrum(x, sr, 4);
    peak_in(&mag, df, lo, hi)
}

/// The `k` largest separated spectral peaks in `[lo, hi]`, sorted by frequency.
pub fn top_frequencies(x: &[f32], sr: f64, lo: f64, hi: f64, k: usize) -> Vec<f64> {
    let (mag, df) = spectrum(x, sr, 4);
    let a = ((lo / df).ceil() as usize).max(1);
    let b = ((hi / df).floor() as usize).min(mag.len() - 2);
    let mut peaks: Vec<(f64, usize)> = (a..=b)
        .filter(|&i| mag[i] > mag[i - 1] && mag[i] >= mag[i + 1])
        .map(|i| (mag[i], i))
        .collect();
    peaks.sort_by(|p, q| q.0.total_cmp(&p.0));
    let mut chosen: Vec<f64> = Vec::new();
    for (_, i) in peaks {
        let f = refine(&mag, i, df);
        // Skip the side lobes of an already chosen peak (within 4 bins of the unpadded FFT).
        if chosen.iter().all(|c| (c - f).abs() > 16.0 * df) {
            chosen.push(f);
        }
        if chosen.len() == k {
            break;
        }
    }
    chosen.sort_by(|a, b| a.total_cmp(b));
    chosen
}

fn peak_in(mag: &[f64], df: f64, lo: f64, hi: f64) -> f64 {
    let a = ((lo / df).ceil() as usize).max(1);
    let b = ((hi / df).floor() as usize).min(mag.len() - 2);
    let mut best = a;
    for i in a..=b {
        if mag[i] > mag[best] {
            best = i;
        }
    }
    refine(mag, best, df)
}

fn refine(mag: &[f64], i: usize, df: f64) -> f64 {
    let (l, c, r) = (
        mag[i - 1].max(1e-300).ln(),
        mag[i].max(1e-300).ln(),
        mag[i + 1].max(1e-300).ln(),
    );
    let d = l - 2.0 * c + r;
    let off = if d.abs() > 1e-300 {
        0.5 * (l - r) / d
    } else {
        0.0
    };
    (i as f64 + off.clamp(-0.5, 0.5)) * df
}

/// Amplitude envelope `|x|` smoothed by a moving average of `win` samples, then decimated by
/// `step` (keeps the modulation, drops the carrier).
pub fn envelope(x: &[f32], win: usize, step: usize) -> Vec<f32> {
    let win = win.max(1);
    let mut out = Vec::with_capacity(x.len() / step.max(1) + 1);
    let mut acc = 0.0f64;
    let abs: Vec<f64> = x.iter().map(|v| v.abs() as f64).collect();
    for i in 0..abs.len() {
        acc += abs[i];
        if i >= win {
            acc -= abs[i - win];
        }
        if i + 1 >= win && (i + 1 - win).is_multiple_of(step.max(1)) {
            out.push((acc / win as f64) as f32);
        }
    }
    out
}

/// Rate (Hz) of the strongest amplitude modulation of `x` in `[lo, hi]` Hz: the dominant
/// frequency of the envelope's spectrum (DC removed). `carrier_hz` sets the smoothing window
/// (about two carrier periods).
pub fn modulation_rate(x: &[f32], sr: f64, carrier_hz: f64, lo: f64, hi: f64) -> f64 {
    let win = ((2.0 * sr / carrier_hz.max(1.0)).round() as usize).max(1);
    let step = 16;
    let env = envelope(x, win, step);
    let mean = env.iter().map(|v| *v as f64).sum::<f64>() / env.len().max(1) as f64;
    let centred: Vec<f32> = env.iter().map(|v| (*v as f64 - mean) as f32).collect();
    dominant_frequency(&centred, sr / step as f64, lo, hi)
}

/// Root-mean-square level.
pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// RMS level in dBFS (full-scale sine = -3.01 dBFS).
pub fn rms_dbfs(x: &[f32]) -> f64 {
    20.0 * rms(x).max(1e-12).log10()
}

/// Largest absolute sample.
pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Largest absolute difference between consecutive samples (click detector).
pub fn max_step(x: &[f32]) -> f32 {
    x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
}

/// Slope of the power spectrum in dB per octave, least-squares fitted over `[lo, hi]` Hz on a
/// log-frequency axis (averaged in 1/6-octave bands so the fit is not dominated by the many
/// high-frequency bins). Bins within 3 Hz of any frequency in `exclude` are dropped.
pub fn spectral_slope_db_per_octave(x: &[f32], sr: f64, lo: f64, hi: f64, exclude: &[f64]) -> f64 {
    // Welch average of 8192-sample Hann frames, 50 % overlap.
    let n = 8192.min(x.len().next_power_of_two());
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut psd = vec![0.0f64; n / 2 + 1];
    let mut buf = fft.make_input_vec();
    let mut out = fft.make_output_vec();
    let mut frames = 0;
    let mut start = 0;
    while start + n <= x.len() {
        for i in 0..n {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos();
            buf[i] = x[start + i] as f64 * w;
        }
        fft.process(&mut buf, &mut out).expect("fft sizes match");
        for (p, c) in psd.iter_mut().zip(out.iter()) {
            *p += c.norm_sqr();
        }
        frames += 1;
        start += n / 2;
    }
    let df = sr / n as f64;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut f = lo;
    while f * 2f64.powf(1.0 / 6.0) <= hi {
        let f2 = f * 2f64.powf(1.0 / 6.0);
        let (mut sum, mut cnt) = (0.0, 0);
        for (i, p) in psd.iter().enumerate() {
            let fi = i as f64 * df;
            if fi >= f && fi < f2 && exclude.iter().all(|e| (fi - e).abs() > 3.0) {
                sum += p / frames.max(1) as f64;
                cnt += 1;
            }
        }
        if cnt > 0 {
            xs.push((f * f2).sqrt().log2());
            ys.push(10.0 * (sum / cnt as f64).max(1e-300).log10());
        }
        f = f2;
    }
    let m = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / m, ys.iter().sum::<f64>() / m);
    let num: f64 = xs.iter().zip(&ys).map(|(a, b)| (a - mx) * (b - my)).sum();
    let den: f64 = xs.iter().map(|a| (a - mx).powi(2)).sum();
    num / den
}

/// Splits interleaved stereo into `(left, right)`.
pub fn deinterleave(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    (
        x.iter().step_by(2).copied().collect(),
        x.iter().skip(1).step_by(2).copied().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f64, sr: f64, secs: f64) -> Vec<f32> {
        (0..(sr * secs) as usize)
            .map(|i| (std::f64::consts::TAU * f * i as f64 / sr).sin() as f32)
            .collect()
    }

    #[test]
    fn finds_frequency_to_a_hundredth_of_a_hz() {
        let x = sine(195.0, 44100.0, 5.0);
        assert!((dominant_frequency(&x, 44100.0, 20.0, 2000.0) - 195.0).abs() < 0.01);
        let y: Vec<f32> = sine(216.0, 44100.0, 5.0)
            .iter()
            .zip(sine(224.0, 44100.0, 5.0))
            .map(|(a, b)| a + b)
            .collect();
        let tops = top_frequencies(&y, 44100.0, 20.0, 2000.0, 2);
        assert!(
            (tops[0] - 216.0).abs() < 0.05 && (tops[1] - 224.0).abs() < 0.05,
            "{tops:?}"
        );
    }

    #[test]
    fn finds_am_rate() {
        let sr = 44100.0;
        let x: Vec<f32> = (0..(sr * 10.0) as usize)
            .map(|i| {
                let t = i as f64 / sr;
                ((std::f64::consts::TAU * 300.0 * t).sin()
                    * (1.0 + 0.5 * (std::f64::consts::TAU * 6.0 * t).cos())) as f32
            })
            .collect();
        assert!((modulation_rate(&x, sr, 300.0, 0.5, 40.0) - 6.0).abs() < 0.02);
        assert!((rms_dbfs(&sine(100.0, sr, 1.0)) + 3.0103).abs() < 0.01);
    }
}
