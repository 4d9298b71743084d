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
/// "no onset"). The reference for [`RowCosts::fill`], which computes the same values.
#[cfg(test)]
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

/// Frames per lane group in [`dtw_map`].
const LANES: usize = 8;

/// Chroma norm of a frame, as `frame_dist` computes it.
#[inline]
fn chroma_norm(a: &[f32; 24]) -> f32 {
    let mut aa = 0.0f32;
    for v in &a[..12] {
        aa += v * v;
    }
    aa.sqrt()
}

/// Recording frames transposed (feature-major `rt`, `mp` per feature) with their chroma norms.
struct RowCosts<'a> {
    rt: &'a [f32],
    rn: &'a [f32],
    mp: usize,
}

impl RowCosts<'_> {
    /// `frame_dist(a, rec[j])` for every recording frame `j` into `crow` (`mp` values).
    fn fill(&self, a: &[f32; 24], crow: &mut [f32]) {
        const QUIET: f32 = 0.05;
        let (rt, mp) = (self.rt, self.mp);
        let na = chroma_norm(a);
        for (g, out) in crow.chunks_exact_mut(LANES).enumerate() {
            let j0 = g * LANES;
            let col = |k: usize| -> &[f32; LANES] {
                rt[k * mp + j0..k * mp + j0 + LANES].try_into().unwrap()
            };
            let mut ab = [0.0f32; LANES];
            for (k, &ak) in a[..12].iter().enumerate() {
                for (x, &b) in ab.iter_mut().zip(col(k)) {
                    *x += ak * b;
                }
            }
            let mut d = [0.0f32; LANES];
            for (k, &ak) in a.iter().enumerate().skip(12) {
                for (x, &b) in d.iter_mut().zip(col(k)) {
                    *x += (ak - b) * (ak - b);
                }
            }
            let nb = &self.rn[j0..j0 + LANES];
            for l in 0..LANES {
                let chroma = match (na > QUIET, nb[l] > QUIET) {
                    (true, true) => 1.0 - ab[l] / (na * nb[l]),
                    (false, false) => 0.0,
                    _ => 1.0,
                };
                out[l] = 0.5 * chroma + 0.5 * (d[l].sqrt() * 0.5).min(1.0);
            }
        }
    }
}

/// Extra cost share of a (1,0) or (0,1) step.
const STAY: f32 = 0.5;

/// Subsequence DTW: the whole score (`score`, rows) is matched against a free stretch of the
/// recording (`rec`, columns), steps (1,1), (1,0), (0,1). Returns for each score frame the mean
/// recording frame it was matched to.
pub fn dtw_map(score: &Seq, rec: &Seq) -> Vec<f64> {
    let (n, m) = (score.feats.len(), rec.feats.len());
    if n == 0 || m == 0 {
        return vec![0.0; n];
    }
    let (sf, rf) = (score.normalised(), rec.normalised());
    // Recording frames transposed (feature-major, padded to whole lane groups) with their
    // chroma norms, so a row of costs is computed LANES frames at a time; each lane does the
    // arithmetic of `frame_dist` in its order, so the costs are the same bit for bit.
    let mp = m.div_ceil(LANES) * LANES;
    let mut rt = vec![0.0f32; 24 * mp];
    for (j, f) in rf.iter().enumerate() {
        for (k, &v) in f.iter().enumerate() {
            rt[k * mp + j] = v;
        }
    }
    let mut rn = vec![0.0f32; mp];
    for (j, f) in rf.iter().enumerate() {
        rn[j] = chroma_norm(f);
    }
    let mut crow = vec![0.0f32; mp];
    // Back pointers: 0 diagonal, 1 from the row above (score advances), 2 from the left.
    let mut back = vec![0u8; n * m];
    let mut prev = vec![0.0f32; m];
    let mut cur = vec![0.0f32; m];
    let rows = RowCosts {
        rt: &rt,
        rn: &rn,
        mp,
    };
    rows.fill(&sf[0], &mut crow);
    prev.copy_from_slice(&crow[..m]); // free start anywhere in the recording
    for i in 1..n {
        rows.fill(&sf[i], &mut crow);
        let row = &mut back[i * m..(i + 1) * m];
        cur[0] = prev[0] + crow[0];
        row[0] = 1;
        for j in 1..m {
            let c = crow[j];
            // Staying on one recording frame (or score frame) costs more than moving on both:
            // without it a path may squeeze the score into a repeated passage.
            let (d, u, l) = (prev[j - 1], prev[j] + STAY * c, cur[j - 1] + STAY * c);
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
    // Selection, not a full sort: the same element (total order), in linear time.
    let k = v.len() / 2;
    *v.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1
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
    fn row_costs_equal_frame_dist_bit_for_bit() {
        // Pseudo-random frames, some quiet (chroma norm under the threshold), 13 recording
        // frames (not a whole lane group).
        let mut seed = 12345u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32
        };
        let mut frame = |scale: f32| {
            let mut f = [0.0f32; 24];
            f.iter_mut().for_each(|v| *v = scale * rnd());
            f
        };
        let rec: Vec<[f32; 24]> = (0..13)
            .map(|j| frame(if j % 4 == 0 { 0.01 } else { 1.0 }))
            .collect();
        let mp = 16;
        let mut rt = vec![0.0f32; 24 * mp];
        let mut rn = vec![0.0f32; mp];
        for (j, f) in rec.iter().enumerate() {
            for k in 0..24 {
                rt[k * mp + j] = f[k];
            }
            rn[j] = chroma_norm(f);
        }
        let rows = RowCosts {
            rt: &rt,
            rn: &rn,
            mp,
        };
        let mut crow = vec![0.0f32; mp];
        for i in 0..6 {
            let a = frame(if i == 0 { 0.01 } else { 2.0 });
            rows.fill(&a, &mut crow);
            for (j, b) in rec.iter().enumerate() {
                assert_eq!(crow[j].to_bits(), frame_dist(&a, b).to_bits(), "{i} {j}");
            }
        }
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
