//! Coarse alignment of score and recording: subsequence DTW on chroma + onset-chroma features,
//! and robust straight-line fits (tempo ratio and offset).

/// Frame sequence of 24-dimensional features (12 chroma + 12 onset chroma).
pub struct Seq {
    pub feats: Vec<[f32; 24]>,
}

impl Seq {
    /// Scales each half (chroma, onset chroma) by its 95th-percentile norm over the sequence,
    /// so "silent" and "no onset" mean the same for the score and the recording.
    fn normalised(&self) -> Vec<[f32; 24]> {
        let norm = |f: &[f32]| f.iter().map(|v| v * v).sum::<f32>().sqrt();
        let p95 = |half: usize| {
            let mut v: Vec<f32> = self
                .feats
                .iter()
                .map(|f| norm(&f[half * 12..half * 12 + 12]))
                .collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v.get(v.len() * 95 / 100).copied().unwrap_or(1.0).max(1e-9)
        };
        let (a, b) = (p95(0), p95(1));
        self.feats
            .iter()
            .map(|f| {
                let mut o = *f;
                o[..12].iter_mut().for_each(|v| *v /= a);
                o[12..].iter_mut().for_each(|v| *v /= b);
                o
            })
            .collect()
    }
}

/// Distance of two normalised frames, 0..1: half chroma (cosine distance; two quiet frames
/// are close, quiet against sound is far) and half onset (Euclidean, so "no onset" matches
/// "no onset").
#[inline]
fn frame_dist(a: &[f32; 24], b: &[f32; 24]) -> f32 {
    const QUIET: f32 = 0.05;
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for k in 0..12 {
        ab += a[k] * b[k];
        aa += a[k] * a[k];
        bb += b[k] * b[k];
    }
    let (na, nb) = (aa.sqrt(), bb.sqrt());
    let chroma = match (na > QUIET, nb > QUIET) {
        (true, true) => 1.0 - ab / (na * nb),
        (false, false) => 0.0,
        _ => 1.0,
    };
    let mut d = 0.0f32;
    for k in 12..24 {
        d += (a[k] - b[k]) * (a[k] - b[k]);
    }
    0.5 * chroma + 0.5 * (d.sqrt() * 0.5).min(1.0)
}

/// Subsequence DTW: the whole score (`score`, rows) is matched against a free stretch of the
/// recording (`rec`, columns), steps (1,1), (1,0), (0,1). Returns for each score frame the mean
/// recording frame it was matched to.
pub fn dtw_map(score: &Seq, rec: &Seq) -> Vec<f64> {
    let (n, m) = (score.feats.len(), rec.feats.len());
    if n == 0 || m == 0 {
        return vec![0.0; n];
    }
    let (sf, rf) = (score.normalised(), rec.normalised());
    let cost = |i: usize, j: usize| -> f32 { frame_dist(&sf[i], &rf[j]) };
    // Back pointers: 0 diagonal, 1 from the row above (score advances), 2 from the left.
    let mut back = vec![0u8; n * m];
    let mut prev = vec![0.0f32; m];
    let mut cur = vec![0.0f32; m];
    for (j, p) in prev.iter_mut().enumerate() {
        *p = cost(0, j); // free start anywhere in the recording
    }
    for i in 1..n {
        let row = &mut back[i * m..(i + 1) * m];
        cur[0] = prev[0] + cost(i, 0);
        row[0] = 1;
        for j in 1..m {
            let c = cost(i, j);
            let (d, u, l) = (prev[j - 1], prev[j], cur[j - 1]);
            let (best, dir) = if d <= u && d <= l {
                (d, 0)
            } else if u <= l {
                (u, 1)
            } else {
                (l, 2)
            };
            cur[j] = best + c;
            row[j] = dir;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    // Free end: the best cell of the last score row.
    let mut j = (0..m)
        .min_by(|&a, &b| prev[a].total_cmp(&prev[b]))
        .unwrap_or(0);
    let mut i = n - 1;
    let mut sum = vec![0.0f64; n];
    let mut cnt = vec![0u32; n];
    loop {
        sum[i] += j as f64;
        cnt[i] += 1;
        if i == 0 {
            break;
        }
        match back[i * m + j] {
            0 => {
                i -= 1;
                j -= 1;
            }
            1 => i -= 1,
            _ => j -= 1,
        }
    }
    sum.iter()
        .zip(&cnt)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect()
}

/// Least-squares line `y = a x + b` through the points with weight > 0.
fn lsq(pts: &[(f64, f64)], keep: &[bool]) -> Option<(f64, f64)> {
    let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&(x, y), &k) in pts.iter().zip(keep) {
        if k {
            n += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
    }
    if n < 1.0 {
        return None;
    }
    let var = sxx - sx * sx / n;
    if n < 2.0 || var < 1e-9 {
        return Some((1.0, (sy - sx) / n));
    }
    let a = (sxy - sx * sy / n) / var;
    Some((a, (sy - a * sx) / n))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Robust line fit: least squares, then repeatedly dropping points further than
/// `max(3 x 1.48 x MAD, floor)` from the line. Returns `(slope, intercept, inlier mask)`.
pub fn robust_line(pts: &[(f64, f64)], floor: f64) -> (f64, f64, Vec<bool>) {
    let mut keep = vec![true; pts.len()];
    let Some((mut a, mut b)) = lsq(pts, &keep) else {
        return (1.0, 0.0, keep);
    };
    // Start from the median-based estimate (Theil-Sen on a subsample) so a lot of outliers
    // cannot drag the first fit.
    if pts.len() >= 4 {
        let step = (pts.len() / 400).max(1);
        let sub: Vec<&(f64, f64)> = pts.iter().step_by(step).collect();
        let mut slopes = Vec::new();
        for i in 0..sub.len() {
            for j in i + 1..sub.len() {
                let dx = sub[j].0 - sub[i].0;
                if dx.abs() > 1.0 {
                    slopes.push((sub[j].1 - sub[i].1) / dx);
                }
            }
        }
        if !slopes.is_empty() {
            a = median(&mut slopes);
            let mut icpt: Vec<f64> = pts.iter().map(|(x, y)| y - a * x).collect();
            b = median(&mut icpt);
        }
    }
    for _ in 0..6 {
        let mut res: Vec<f64> = pts.iter().map(|(x, y)| (y - a * x - b).abs()).collect();
        let mad = median(&mut res.clone());
        let lim = (3.0 * 1.4826 * mad).max(floor);
        for (k, r) in keep.iter_mut().zip(res.iter_mut()) {
            *k = *r <= lim;
        }
        match lsq(pts, &keep) {
            Some((na, nb)) if keep.iter().filter(|&&k| k).count() >= 2 => {
                let done = (na - a).abs() < 1e-9 && (nb - b).abs() < 1e-9;
                (a, b) = (na, nb);
                if done {
                    break;
                }
            }
            _ => break,
        }
    }
    (a, b, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_line_ignores_outliers() {
        let mut pts: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, 1.5 + 1.1 * i as f64)).collect();
        for k in (0..100).step_by(10) {
            pts[k].1 += 0.1 * if k % 20 == 0 { 1.0 } else { -1.0 };
        }
        pts[3].1 += 40.0;
        let (a, b, keep) = robust_line(&pts, 0.03);
        assert!((a - 1.1).abs() < 1e-9 && (b - 1.5).abs() < 1e-9, "{a} {b}");
        assert_eq!(keep.iter().filter(|k| !**k).count(), 11);
    }

    #[test]
    fn dtw_follows_a_stretched_copy() {
        // A score of 40 distinct frames; the recording repeats every other frame (ratio 1.5)
        // after 10 silent frames.
        let mk = |k: usize| {
            let mut f = [0.0f32; 24];
            f[k % 12] = 1.0;
            f[12 + (k * 5) % 12] = 1.0;
            f[(k / 12 + 3) % 12] += 0.5;
            f
        };
        let score = Seq {
            feats: (0..40).map(mk).collect(),
        };
        let mut rec = vec![[0.0f32; 24]; 10];
        for k in 0..40 {
            rec.push(mk(k));
            if k % 2 == 1 {
                rec.push(mk(k));
            }
        }
        let map = dtw_map(&score, &Seq { feats: rec });
        for (k, &j) in map.iter().enumerate() {
            let start = 10 + k + k / 2; // first recording frame of score frame k
            assert!(j >= start as f64 && j <= start as f64 + 1.0, "{k}: {j}");
        }
    }
}
