//! What was newly struck at one onset, as non-negative activations of harmonic templates.
//!
//! At an onset frame the *new energy* is `D(f) = max(0, A(f) - B(f))`: `A` the long-window
//! (4096 points at ~22 kHz, 186 ms) amplitude spectrum starting just after the onset, `B` the
//! short-window (93 ms) one ending just before it, max-filtered over 3 bins (a restruck note
//! that still sounds rises, so it shows too). `D` is square-root compressed and pooled (max)
//! onto a log-frequency axis of three bins per semitone up to 5 kHz, then fitted by
//! non-negative least squares (multiplicative updates) with one harmonic template per
//! candidate pitch (harmonics up to 5 kHz, weight `h^-0.8`, each spread over +-1 axis bin)
//! plus a flat template that takes broadband attack noise.
//!
//! The instrument is then learned from the recording ([`PitchFit::adapt`]): how strong a
//! note's own upper harmonics are depends on the piano or SoundFont, and a wrong share makes
//! the fit credit a lower note's partials to the notes an octave or a twelfth above it (or the
//! reverse). At the onsets of notes the first pass judged played alone, the new energy at each
//! harmonic ([`PitchFit::profile`]) gives a profile; the per-harmonic median of the profiles
//! within 6 semitones (3 or more) replaces a pitch's `h^-0.8` weights, and pitches with too few
//! learned neighbours take the nearest learned pitch's weights, so that all templates are of
//! one family. The extra-note scan runs with these templates; the decisions do not (their
//! thresholds were set on the fixed ones, and a second pass with learned templates lost
//! wrong-pitch recall).

use std::collections::HashMap;

use super::features::{self, Features, HiScratch, N_HI};

/// Lowest pitch of the log-frequency axis (A1, 55 Hz).
const AX_LO: f64 = 33.0;
/// Lowest pitch whose fundamental the fit sees (on the axis, with its +-1 bin spread): lower
/// keys are only their harmonics, which belong to other notes as well.
pub const FIT_PITCH_LO: u8 = AX_LO as u8 + 1;
/// Axis bins per semitone.
const BPS: f64 = 3.0;
/// Highest frequency used, Hz.
const F_MAX: f64 = 5000.0;
/// [`PitchFit::continuity`]: window length (s), gap kept clear each side of the onset (s),
/// partials read and the highest frequency read (Hz).
const CONT_WIN: f64 = 0.0464;
const CONT_GAP: f64 = 0.005;
const CONT_PARTIALS: usize = 4;
const CONT_F_MAX: f64 = 4000.0;
/// Harmonics per template at most.
pub const MAX_H: usize = 12;
/// A learned profile needs this share of the new energy (squared) at its harmonics.
const LEARN_CONC: f32 = 0.6;
/// Learned notes pooled into a pitch's template: within this many semitones...
const ADAPT_SPAN: u8 = 6;
/// ...and at least this many of them, else the fixed template stays.
const ADAPT_MIN: usize = 3;
/// Fewer learned notes than this in the whole recording: the fixed templates stay.
const ADAPT_TOTAL: usize = 20;
/// Least learned weight of a harmonic (relative to the strongest): a harmonic the learned
/// notes lack still keeps a trace, so the fit is not blind there.
const ADAPT_FLOOR: f32 = 0.02;
/// Piano string inharmonicity assumed for the templates (small: the +-1 bin spread takes the rest).
const INHARM: f64 = 5e-5;
/// [`PitchFit::step_trios`] leaves out partials this near a partial up to this one of
/// another struck note.
const STEP_OTHERS_H: usize = 6;
/// NNLS iterations.
const ITER: usize = 60;
/// The rise test ignores a harmonic whose level (either side) is below this share of the
/// loudest harmonic measured (-40 dB).
const RISE_FLOOR: f32 = 0.01;
/// [`PitchFit::own_share`] needs this share of the template's energy in bins of its own.
const OWN_MIN_NORM: f32 = 0.1;
/// `A` starts this long after the onset; `B` ends this long before it (seconds).
const GAP_AFTER: f64 = 0.01;
const GAP_BEFORE: f64 = 0.005;

/// Harmonic-template fit at chosen onset frames; spectra cached per frame.
pub struct PitchFit<'a> {
    f: &'a Features,
    scratch: HiScratch,
    a: Vec<f32>,
    b: Vec<f32>,
    /// New energy on the log-frequency axis at the loaded frame.
    l: Vec<f32>,
    /// Linear bin range pooled into each axis bin.
    pool: Vec<(usize, usize)>,
    /// Sparse unit-norm template per pitch index (`pitch - PITCH_LO`): (axis bin, weight).
    tmpl: Vec<Vec<(u16, f32)>>,
    cache: HashMap<usize, Vec<f32>>,
    /// Frame whose new energy is loaded.
    loaded: Option<usize>,
    /// Last fit per frame: (candidates, activations, flat floor). The extra scan fits each
    /// onset twice with the same candidates (to measure, then to judge).
    fits: HashMap<usize, (Vec<u8>, Vec<f32>, f32)>,
    recon: Vec<f32>,
    num: Vec<f32>,
    /// Flat (broadband) level of the last fit, per axis bin.
    floor: f32,
    /// Axis bins not near a harmonic of the pitches given to [`own_share`](Self::own_share).
    free: Vec<bool>,
    /// Lowest pitch whose template was learned from notes near it (see [`adapt`](Self::adapt)).
    learned_lo: Option<u8>,
    /// Short-window spectrum just after the onset frame `short_at` ([`step_trios`](Self::step_trios)).
    short: Vec<f32>,
    short_at: Option<usize>,
}

impl<'a> PitchFit<'a> {
    /// Templates and buffers for the recording's features.
    pub fn new(f: &'a Features) -> Self {
        let hi = &f.hi;
        let n_ax = ((12.0 * (F_MAX / 440.0).log2() + 69.0 - AX_LO) * BPS).ceil() as usize;
        let pool = (0..n_ax)
            .map(|k| {
                let c = AX_LO + k as f64 / BPS;
                let lo = features::pitch_hz(c - 0.5 / BPS) / hi.df;
                let hi_b = features::pitch_hz(c + 0.5 / BPS) / hi.df;
                let mid = (features::pitch_hz(c) / hi.df).round();
                let lo = (lo.ceil().min(mid) as usize).min(f.hi.bins - 1);
                let hb = (hi_b.floor().max(mid) as usize).min(f.hi.bins - 1);
                (lo, hb)
            })
            .collect();
        let tmpl = (features::PITCH_LO..=features::PITCH_HI)
            .map(|p| template(p, n_ax, |h| (h as f64).powf(-0.8) as f32))
            .collect();
        PitchFit {
            f,
            scratch: hi.scratch(),
            a: vec![0.0; hi.bins],
            b: vec![0.0; hi.bins],
            l: vec![0.0; n_ax],
            pool,
            tmpl,
            cache: HashMap::new(),
            loaded: None,
            fits: HashMap::new(),
            recon: vec![0.0; n_ax],
            num: Vec::new(),
            floor: 0.0,
            free: vec![true; n_ax],
            learned_lo: None,
            short: vec![0.0; hi.bins],
            short_at: None,
        }
    }

    /// A copy with the same templates and caches (new energy and fits so far), for judging
    /// again as this one would after it has [`adapt`](Self::adapt)ed: only what changes is
    /// computed again.
    pub fn fork(&self) -> PitchFit<'a> {
        PitchFit {
            f: self.f,
            scratch: self.f.hi.scratch(),
            a: self.a.clone(),
            b: self.b.clone(),
            l: self.l.clone(),
            pool: self.pool.clone(),
            tmpl: self.tmpl.clone(),
            cache: self.cache.clone(),
            loaded: self.loaded,
            fits: self.fits.clone(),
            recon: self.recon.clone(),
            num: self.num.clone(),
            floor: self.floor,
            free: self.free.clone(),
            learned_lo: self.learned_lo,
            short: self.short.clone(),
            short_at: self.short_at,
        }
    }

    /// Computes (or recalls) the new energy at frame `t`.
    pub fn load(&mut self, t: usize) {
        self.loaded = Some(t);
        if let Some(c) = self.cache.get(&t) {
            self.l.copy_from_slice(c);
            return;
        }
        new_energy(
            self.f,
            &self.pool,
            t,
            (&mut self.scratch, &mut self.a, &mut self.b),
            &mut self.l,
        );
        self.cache.insert(t, self.l.clone());
    }

    /// Computes the new energy at the frames not cached yet, in parallel (the `parallel`
    /// feature), so that their [`load`](Self::load)s are recalls. The same values as `load`.
    pub fn preload(&mut self, frames: &[usize]) {
        let mut todo: Vec<usize> = frames
            .iter()
            .copied()
            .filter(|t| !self.cache.contains_key(t))
            .collect();
        todo.sort_unstable();
        todo.dedup();
        let (f, pool, n_ax) = (self.f, &self.pool, self.l.len());
        let work = || (f.hi.scratch(), vec![0.0; f.hi.bins], vec![0.0; f.hi.bins]);
        let one = |w: &mut (HiScratch, Vec<f32>, Vec<f32>), t: usize| {
            let mut l = vec![0.0; n_ax];
            new_energy(f, pool, t, (&mut w.0, &mut w.1, &mut w.2), &mut l);
            (t, l)
        };
        #[cfg(feature = "parallel")]
        let got: Vec<(usize, Vec<f32>)> = {
            use rayon::prelude::*;
            todo.par_iter().map_init(work, |w, &t| one(w, t)).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let got: Vec<(usize, Vec<f32>)> = {
            let mut w = work();
            todo.iter().map(|&t| one(&mut w, t)).collect()
        };
        self.cache.extend(got);
    }

    /// Level change (dB) at the onset frame `t` at the harmonics of `p` that no pitch of
    /// `others` (notes struck there) shares (none when `p` is a harmonic of one of them): the
    /// median over those harmonics of the peak amplitude in the short window just after the
    /// onset over the one just before. A struck key rises; a held or released one only decays.
    /// Harmonics nearly silent on both sides are left out. `None` when no harmonic is free (or none sounds).
    pub fn rise_db(&mut self, t: usize, p: u8, others: &[u8]) -> Option<f32> {
        median_db(self.rise_levels(t, p, others))
    }

    /// The per-harmonic level changes behind [`rise_db`](Self::rise_db): (harmonic number,
    /// dB) for each free harmonic that sounds.
    pub fn rise_levels(&mut self, t: usize, p: u8, others: &[u8]) -> Vec<(usize, f32)> {
        let f = self.f;
        let s = (t * f.hop) as isize;
        let after = (GAP_AFTER * f.rate) as isize;
        let before = (GAP_BEFORE * f.rate) as isize;
        f.hi.magnitude(&f.signal, s + after, true, &mut self.scratch, &mut self.a);
        f.hi.magnitude(
            &f.signal,
            s - before - (N_HI / 2) as isize,
            true,
            &mut self.scratch,
            &mut self.b,
        );
        self.harmonic_change(p, others, 8)
    }

    /// Level change (dB) of key `p` from the attack at frame `t0` to the attack at frame `t`:
    /// the median over its harmonics (up to the 4th) that no pitch of `others` shares of the
    /// peak amplitude in the short window just after each onset. A key struck again at a like
    /// force is back at its first attack's level; one that was not has decayed. `None` when no
    /// harmonic is free.
    pub fn reattack_db(&mut self, t0: usize, t: usize, p: u8, others: &[u8]) -> Option<f32> {
        let f = self.f;
        let after = (GAP_AFTER * f.rate) as isize;
        let at = |fr: usize| (fr * f.hop) as isize + after;
        f.hi.magnitude(&f.signal, at(t0), true, &mut self.scratch, &mut self.b);
        f.hi.magnitude(&f.signal, at(t), true, &mut self.scratch, &mut self.a);
        median_db(self.harmonic_change(p, others, 4))
    }

    /// How far key `p`'s partials depart at time `t` (s) from what they did just before: at
    /// each of its first [`CONT_PARTIALS`] partials that no pitch of `others` shares, the
    /// complex amplitude (a single-frequency Hann-windowed DFT, [`CONT_WIN`] long) of the
    /// window just after `t` against its prediction from the two windows before (the same
    /// step in phase and level again): |after - predicted| / |predicted|, the median over
    /// those partials. A string struck again starts a new vibration at a new phase (large); one
    /// that only rings on, or decays, keeps its phase (small). `None` with fewer than two such
    /// partials (or at the recording's edges).
    ///
    /// Why by hand: three 46 ms DFTs at a few exact frequencies per note, where an FFT would
    /// compute a whole spectrum and round the frequency to a bin.
    pub fn continuity(&self, t: f64, p: u8, others: &[u8]) -> Option<f32> {
        let f = self.f;
        let n = (CONT_WIN * f.rate).round() as isize;
        let gap = (CONT_GAP * f.rate).round() as isize;
        let s = (t * f.rate).round() as isize;
        let starts = [s - gap - 2 * n, s - gap - n, s + gap];
        if starts[0] < 0 || starts[2] + n > f.signal.len() as isize {
            return None;
        }
        // The Hann window's step, the same for every partial.
        let (sh, ch) = (2.0 * std::f64::consts::PI / n as f64).sin_cos();
        let mut devs = Vec::with_capacity(CONT_PARTIALS);
        for (_, fh) in self.free_partials(p, others, CONT_PARTIALS, CONT_F_MAX) {
            let w = 2.0 * std::f64::consts::PI * fh / f.rate;
            // Phasors stepped sample by sample (no trigonometry in the loop); the phase runs
            // from the absolute sample index, so the three windows share a clock.
            let (sw, cw) = w.sin_cos();
            let z = starts.map(|st| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                let (mut pi, mut pr) = (w * st as f64).sin_cos();
                let (mut hs, mut hc) = (0.0f64, 1.0f64);
                for &v in &f.signal[st as usize..(st + n) as usize] {
                    let x = v as f64 * (0.5 - 0.5 * hc);
                    re += x * pr;
                    im -= x * pi;
                    (pr, pi) = (pr * cw - pi * sw, pi * cw + pr * sw);
                    (hc, hs) = (hc * ch - hs * sh, hs * ch + hc * sh);
                }
                (re, im)
            });
            let [(a, b), (c, d), (e, g)] = z;
            let m0 = a * a + b * b;
            if m0 <= 1e-20 {
                continue;
            }
            // predicted = z1 * (z1 / z0)
            let (rr, ri) = ((c * a + d * b) / m0, (d * a - c * b) / m0);
            let (pr, pi) = (c * rr - d * ri, c * ri + d * rr);
            let denom = (pr * pr + pi * pi).sqrt().max((c * c + d * d).sqrt());
            if denom <= 1e-10 {
                continue;
            }
            devs.push((((e - pr).powi(2) + (g - pi).powi(2)).sqrt() / denom) as f32);
        }
        if devs.len() < 2 {
            return None;
        }
        median(devs)
    }

    /// How far (dB) each of `lower`'s partials `k`, `2k`, ... (up to the 6th such) stands
    /// above the mean of its two neighbouring partials, in the short window just after the
    /// onset frame `t`: (partial number, dB). A key `k` harmonic steps above `lower` (an
    /// octave: `k` = 2, a twelfth: 3, two octaves: 4) has its partials on exactly those, so
    /// struck with it they stand out; without it only the lower string's own uneven profile
    /// shows. A trio that a partial (up to the 6th) of a pitch in `others` comes within 0.3
    /// semitone of is left out.
    pub fn step_trios(
        &mut self,
        t: usize,
        lower: u8,
        k: usize,
        others: &[u8],
    ) -> Vec<(usize, f32)> {
        let f = self.f;
        let hi = &f.hi;
        if self.short_at != Some(t) {
            let s = (t * f.hop) as isize + (GAP_AFTER * f.rate) as isize;
            hi.magnitude(&f.signal, s, true, &mut self.scratch, &mut self.short);
            self.short_at = Some(t);
        }
        let f0 = features::pitch_hz(lower as f64);
        let taken = |fh: f64| {
            others.iter().any(|&o| {
                let fo = features::pitch_hz(o as f64);
                (1..=STEP_OTHERS_H).any(|j| (12.0 * (fh / (fo * j as f64)).log2()).abs() < 0.3)
            })
        };
        // Peak within 1.5 % (at least a bin) of the partial.
        let level = |h: usize| -> Option<f32> {
            let c = partial_hz(f0, h) / hi.df;
            let w = (0.015 * c).max(1.0);
            let lo = (c - w).floor().max(0.0) as usize;
            let hb = (c + w).ceil() as usize;
            (hb < hi.bins).then(|| self.short[lo..=hb].iter().cloned().fold(0.0f32, f32::max))
        };
        let db = |v: f32| 20.0 * (v + 1e-9).log10();
        let mut ex = Vec::new();
        for j in 1..=6 {
            let h = k * j;
            if partial_hz(f0, h + 1) > F_MAX {
                break;
            }
            if [h - 1, h, h + 1].iter().any(|&g| taken(partial_hz(f0, g))) {
                continue;
            }
            let (Some(lo), Some(mid), Some(up)) = (level(h - 1), level(h), level(h + 1)) else {
                break;
            };
            ex.push((h, db(mid) - 0.5 * (db(lo) + db(up))));
        }
        ex
    }

    /// (harmonic number, dB) from the short-window spectrum in `b` to the one in `a` at each
    /// harmonic 1..=`max_h` of `p` (peak within +-2 bins) that no pitch of `others` shares.
    fn harmonic_change(&self, p: u8, others: &[u8], max_h: usize) -> Vec<(usize, f32)> {
        let hi = &self.f.hi;
        let mut levels: Vec<(usize, f32, f32)> = Vec::with_capacity(max_h);
        for (h, fh) in self.free_partials(p, others, max_h, F_MAX) {
            let c = (fh / hi.df).round() as usize;
            let lo = c.saturating_sub(2);
            let hb = (c + 2).min(hi.bins - 1);
            if lo > hb {
                continue;
            }
            let pa = self.a[lo..=hb].iter().cloned().fold(0.0f32, f32::max);
            let pb = self.b[lo..=hb].iter().cloned().fold(0.0f32, f32::max);
            levels.push((h, pa, pb));
        }
        // A harmonic silent on both sides (far below the loudest one measured) tells nothing
        // about a change: its ratio is noise.
        let loud = levels.iter().map(|l| l.1.max(l.2)).fold(0.0f32, f32::max);
        levels
            .iter()
            .filter(|l| l.1.max(l.2) >= RISE_FLOOR * loud)
            .map(|&(h, pa, pb)| (h, 20.0 * ((pa + 1e-9) / (pb + 1e-9)).log10()))
            .collect()
    }

    /// (harmonic number, Hz) of `p`'s partials 1..=`max_h` up to `f_max` that no pitch of
    /// `others` shares ([`shared_with`](Self::shared_with)).
    fn free_partials<'s>(
        &'s self,
        p: u8,
        others: &'s [u8],
        max_h: usize,
        f_max: f64,
    ) -> impl Iterator<Item = (usize, f64)> + 's {
        let f0 = features::pitch_hz(p as f64);
        (1..=max_h)
            .map(move |h| (h, partial_hz(f0, h)))
            .take_while(move |&(_, fh)| fh <= f_max)
            .filter(move |&(_, fh)| !self.shared_with(p, fh, others))
    }

    /// Whether harmonic frequency `fh` of `p` is shared with a pitch of `others`: one of their
    /// first 12 ([`MAX_H`]) partials within 0.6 semitone, or any at all when `p` lies a harmonic step above
    /// one of them (octave, twelfth, ...: it shares every harmonic, however high).
    fn shared_with(&self, p: u8, fh: f64, others: &[u8]) -> bool {
        others.iter().any(|&o| {
            let fo = features::pitch_hz(o as f64);
            super::on_harmonic_of(p, o)
                || (1..=MAX_H).any(|k| (12.0 * (fh / (fo * k as f64)).log2()).abs() < 0.6)
        })
    }

    /// Whether the loaded new energy shows `p` by itself: one of its harmonics `lowest_h` to 4
    /// that no partial (up to the 12th) of `partners` comes near (half a semitone, at least two
    /// long-window bins) holds at least `share` of the strongest new energy at `p`'s harmonics.
    /// A pitch whose every low harmonic is another note's partial (a subharmonic of a struck
    /// chord) does not.
    pub fn own_evidence(&self, p: u8, partners: &[u8], share: f32, lowest_h: usize) -> bool {
        let f0 = features::pitch_hz(p as f64);
        let at = |h: usize| -> f32 {
            let fh = partial_hz(f0, h);
            if fh > F_MAX {
                return 0.0;
            }
            self.level_at(fh).unwrap_or(0.0)
        };
        let top = (1..=8).map(at).fold(0.0f32, f32::max);
        if top <= 0.0 {
            return false;
        }
        (lowest_h..=4).any(|h| !self.near_partial(f0 * h as f64, partners) && at(h) >= share * top)
    }

    /// The loaded new energy at frequency `hz`: its largest value within one axis bin of it
    /// (`None` off the axis).
    fn level_at(&self, hz: f64) -> Option<f32> {
        let x = axis_pos(hz).round() as isize;
        (x - 1..=x + 1)
            .filter(|&j| j >= 0 && (j as usize) < self.l.len())
            .map(|j| self.l[j as usize])
            .reduce(f32::max)
    }

    /// Whether `hz` lies near a partial (up to the 12th, as many as a template has) of one of
    /// `pitches`: within half a semitone, or two long-window bins where that is wider (low
    /// notes). Higher partials of a low note are weak, and with this tolerance they would
    /// cover most of the axis above it (up to the 16th: dev seeds extras 2 fewer, 1 more
    /// false; held-out the same).
    fn near_partial(&self, hz: f64, pitches: &[u8]) -> bool {
        let tol = (0.03 * hz).max(2.0 * self.f.hi.df);
        pitches.iter().any(|&e| {
            let fe = features::pitch_hz(e as f64);
            (1..=MAX_H).any(|k| (hz - partial_hz(fe, k)).abs() < tol)
        })
    }

    /// How strong the loaded new energy is at the partials of `e` that a key a harmonic step
    /// above it would share (harmonics `k`, `2k`, ...: `k` = 2 an octave above, 3 a twelfth,
    /// ...) relative to its other partials: the largest level among the former over the
    /// largest among the latter (levels as in [`profile`](Self::profile)). Partials that a
    /// harmonic of `others` comes near (half a semitone, or two long-window bins) are left
    /// out. `None` when either side has no partial left or the latter holds no energy.
    pub fn partial_balance(&self, e: u8, k: usize, others: &[u8]) -> Option<f32> {
        let f0 = features::pitch_hz(e as f64);
        let (mut shared_max, mut own_max) = (None::<f32>, None::<f32>);
        for h in 1..=MAX_H {
            let fh = partial_hz(f0, h);
            if fh > F_MAX {
                break;
            }
            if self.near_partial(fh, others) {
                continue;
            }
            let Some(lv) = self.level_at(fh) else {
                continue;
            };
            let side = if h % k == 0 {
                &mut shared_max
            } else {
                &mut own_max
            };
            *side = Some(side.unwrap_or(0.0).max(lv));
        }
        let (s, o) = (shared_max?, own_max?);
        (o > 0.0).then(|| s / o)
    }

    /// How much of the activation `ax` that the last fit gave `p` its own harmonics bear out:
    /// over the template bins of `p` that no harmonic of `others` reaches (within 2/3 of a
    /// semitone or 3 FFT bins, the resolution of the low notes), the new energy above the flat
    /// floor projected on the template, over what activation `ax` puts there. A pitch whose
    /// activation comes from other notes' partials (a subharmonic, a low note's unresolved
    /// neighbour) has little there. `None` when `p` has almost no bins of its own.
    ///
    /// Every harmonic of `others` up to 5 kHz counts (a bright piano's high partials of a
    /// low note struck here are real new energy); of `faint` (notes with little new energy
    /// here) only the first [`MAX_H`], as in [`near_partial`](Self::near_partial): a low
    /// note's dense upper series would otherwise leave a high note no bin of its own.
    pub fn own_share(&mut self, p: u8, others: &[u8], faint: &[u8], ax: f32) -> Option<f32> {
        let hi = &self.f.hi;
        let n_ax = self.l.len();
        self.free.iter_mut().for_each(|x| *x = true);
        let all = others.iter().map(|&o| (o, usize::MAX));
        for (o, max_h) in all.chain(faint.iter().map(|&o| (o, MAX_H))) {
            let fo = features::pitch_hz(o as f64);
            for h in 1..=max_h {
                let fh = partial_hz(fo, h);
                if fh > F_MAX * 1.05 {
                    break;
                }
                let tol = (fh * (2f64.powf(2.0 / 36.0) - 1.0)).max(3.0 * hi.df);
                let lo = axis_pos(fh - tol).ceil().max(0.0) as usize;
                let hb = axis_pos(fh + tol).floor();
                if hb < 0.0 {
                    continue;
                }
                for j in lo..=(hb as usize).min(n_ax - 1) {
                    self.free[j] = false;
                }
            }
        }
        let (mut proj, mut norm) = (0.0f32, 0.0f32);
        for &(j, w) in self.template(p) {
            if self.free[j as usize] {
                proj += w * (self.l[j as usize] - self.floor).max(0.0);
                norm += w * w;
            }
        }
        (norm >= OWN_MIN_NORM && ax > 0.0).then(|| proj / (ax * norm))
    }

    /// The harmonic profile of `p` in the new energy at frame `t`, for learning the instrument:
    /// per harmonic 1..=12 the new energy at it (max over +-1 axis bin; `NaN` above 5 kHz or
    /// below the axis), over the largest of them. `None` unless the note's harmonics hold
    /// [`LEARN_CONC`] of the new energy there (something else newly sounding spoils the
    /// profile) and it has some.
    pub fn profile(&mut self, t: usize, p: u8) -> Option<[f32; MAX_H]> {
        self.load(t);
        let n_ax = self.l.len();
        let f0 = features::pitch_hz(p as f64);
        let mut prof = [f32::NAN; MAX_H];
        let mut near = vec![false; n_ax];
        for (h, v) in prof.iter_mut().enumerate() {
            let fh = partial_hz(f0, h + 1);
            if fh > F_MAX {
                break;
            }
            let x = axis_pos(fh).round() as isize;
            let bins = (x - 1..=x + 1).filter(|&j| j >= 0 && (j as usize) < n_ax);
            let mut m = None;
            for j in bins {
                near[j as usize] = true;
                m = Some(m.unwrap_or(0.0f32).max(self.l[j as usize]));
            }
            if let Some(m) = m {
                *v = m;
            }
        }
        let total: f32 = self.l.iter().map(|x| x * x).sum();
        let own: f32 = (0..n_ax)
            .filter(|&j| near[j])
            .map(|j| self.l[j] * self.l[j])
            .sum();
        let top = prof
            .iter()
            .copied()
            .filter(|x| !x.is_nan())
            .fold(0.0f32, f32::max);
        if top <= 0.0 || own < LEARN_CONC * total {
            return None;
        }
        prof.iter_mut().for_each(|x| *x /= top);
        Some(prof)
    }

    /// Rebuilds the templates from harmonic profiles learned on this recording (`(pitch,
    /// profile)` from [`profile`](Self::profile)). Why: how strong a note's own 2nd and 3rd
    /// harmonics are depends on the piano (or SoundFont); with the fixed `h^-0.8` share the fit
    /// credits a lower note's partials to notes an octave or a twelfth above (or the reverse).
    /// A pitch with [`ADAPT_MIN`] or more learned notes within [`ADAPT_SPAN`] semitones takes
    /// their per-harmonic median as its weights (a harmonic most of them lack, above 5 kHz for
    /// them, keeps the `h^-0.8` decay from the last one they have). Every other pitch takes the
    /// weights of the nearest such pitch: templates of one family, since a fixed template
    /// beside learned ones soaks up what they leave (subharmonic false extras). Nothing learned
    /// anywhere, or fewer than [`ADAPT_TOTAL`] notes: the fixed templates stay.
    pub fn adapt(&mut self, learned: &[(u8, [f32; MAX_H])]) {
        // A handful of notes is too noisy a median to replace every template with.
        if learned.len() < ADAPT_TOTAL {
            return;
        }
        // Fits with the old templates are stale.
        self.fits.clear();
        let n_ax = self.l.len();
        let ws: Vec<Option<[f32; MAX_H]>> = (features::PITCH_LO..=features::PITCH_HI)
            .map(|p| {
                let near: Vec<&[f32; MAX_H]> = learned
                    .iter()
                    .filter(|(q, _)| q.abs_diff(p) <= ADAPT_SPAN)
                    .map(|(_, v)| v)
                    .collect();
                (near.len() >= ADAPT_MIN).then(|| pooled(&near))
            })
            .collect();
        self.learned_lo = (features::PITCH_LO..=features::PITCH_HI)
            .zip(&ws)
            .find(|(_, w)| w.is_some())
            .map(|(p, _)| p);
        for (i, p) in (features::PITCH_LO..=features::PITCH_HI).enumerate() {
            let nearest = (0..ws.len())
                .filter(|&j| ws[j].is_some())
                .min_by_key(|&j| j.abs_diff(i));
            if let Some(w) = nearest.and_then(|j| ws[j]) {
                self.tmpl[i] = template(p, n_ax, |h| w[h - 1].max(ADAPT_FLOOR));
            }
        }
    }

    /// Lowest pitch whose template was learned from notes near it: lower ones copy its shape.
    pub fn learned_lo(&self) -> Option<u8> {
        self.learned_lo
    }

    fn template(&self, p: u8) -> &[(u16, f32)] {
        &self.tmpl[(p.clamp(features::PITCH_LO, features::PITCH_HI) - features::PITCH_LO) as usize]
    }

    /// Projection of the loaded new energy on the template of `p` (a quick screen).
    pub fn projection(&self, p: u8) -> f32 {
        self.template(p)
            .iter()
            .map(|&(j, w)| w * self.l[j as usize])
            .sum()
    }

    /// Non-negative activations of `cands` (distinct pitches) explaining the loaded new energy,
    /// into `act` (same order). A flat template takes broadband energy and is not returned.
    pub fn fit(&mut self, cands: &[u8], act: &mut Vec<f32>) {
        let k = cands.len();
        act.clear();
        if k == 0 {
            return;
        }
        if let Some((_, a, floor)) = self
            .loaded
            .and_then(|t| self.fits.get(&t))
            .filter(|(c, _, _)| c == cands)
        {
            act.extend_from_slice(a);
            self.floor = *floor;
            return;
        }
        let n_ax = self.l.len();
        let flat = 1.0 / (n_ax as f32).sqrt();
        self.num.clear();
        for &p in cands {
            let v = self.projection(p);
            self.num.push(v.max(0.0));
        }
        let flat_num = self.l.iter().sum::<f32>() * flat;
        act.extend(self.num.iter().map(|&v| v / k as f32 + 1e-6));
        let mut a_flat = flat_num / (k as f32 + 1.0) + 1e-6;
        for _ in 0..ITER {
            self.recon.iter_mut().for_each(|r| *r = a_flat * flat);
            for (i, &p) in cands.iter().enumerate() {
                let a = act[i];
                let pi =
                    (p.clamp(features::PITCH_LO, features::PITCH_HI) - features::PITCH_LO) as usize;
                for &(j, w) in &self.tmpl[pi] {
                    self.recon[j as usize] += a * w;
                }
            }
            for (i, &p) in cands.iter().enumerate() {
                let den: f32 = self
                    .template(p)
                    .iter()
                    .map(|&(j, w)| w * self.recon[j as usize])
                    .sum();
                act[i] *= self.num[i] / (den + 1e-9);
            }
            let den = self.recon.iter().sum::<f32>() * flat;
            a_flat *= flat_num / (den + 1e-9);
        }
        self.floor = a_flat * flat;
        if let Some(t) = self.loaded {
            self.fits
                .insert(t, (cands.to_vec(), act.clone(), self.floor));
        }
    }
}

/// New energy at frame `t` on the log-frequency axis (see the module docs) into `l`.
fn new_energy(
    f: &Features,
    pool: &[(usize, usize)],
    t: usize,
    (scratch, a, b): (&mut HiScratch, &mut [f32], &mut [f32]),
    l: &mut [f32],
) {
    let hi = &f.hi;
    let s = (t * f.hop) as isize;
    let after = (GAP_AFTER * f.rate) as isize;
    let before = (GAP_BEFORE * f.rate) as isize;
    hi.magnitude(&f.signal, s + after, false, scratch, a);
    hi.magnitude(
        &f.signal,
        s - before - (N_HI / 2) as isize,
        true,
        scratch,
        b,
    );
    let n = a.len();
    for (j, &(lo, hb)) in pool.iter().enumerate() {
        let mut m = 0.0f32;
        for k in lo..=hb {
            let r = b[k.saturating_sub(1)].max(b[k]).max(b[(k + 1).min(n - 1)]);
            m = m.max(a[k] - r);
        }
        l[j] = m.max(0.0).sqrt();
    }
}

/// Frequency of partial `h` (1 = the fundamental) of a string at `f0` Hz, with the templates'
/// inharmonicity [`INHARM`].
fn partial_hz(f0: f64, h: usize) -> f64 {
    let hf = h as f64;
    f0 * hf * (1.0 + INHARM * hf * hf).sqrt()
}

/// Per-harmonic median of learned profiles, relative to its largest; a harmonic most of them
/// lack (above 5 kHz for them) continues the `h^-0.8` decay from the last one they have.
fn pooled(near: &[&[f32; MAX_H]]) -> [f32; MAX_H] {
    let mut w = [f32::NAN; MAX_H];
    for (h, wh) in w.iter_mut().enumerate() {
        let mut v: Vec<f32> = near.iter().map(|x| x[h]).filter(|x| !x.is_nan()).collect();
        if v.len() * 2 >= near.len() && !v.is_empty() {
            v.sort_by(|a, b| a.total_cmp(b));
            *wh = v[v.len() / 2];
        }
    }
    let mut last = (1usize, 1.0f32);
    for (h, wh) in w.iter_mut().enumerate() {
        if wh.is_nan() {
            *wh = last.1 * ((h + 1) as f32 / last.0 as f32).powf(-0.8);
        } else {
            last = (h + 1, *wh);
        }
    }
    let top = w.iter().copied().fold(0.0f32, f32::max).max(1e-9);
    w.iter_mut().for_each(|x| *x /= top);
    w
}

/// Sparse unit-norm template of `p` on an axis of `n_ax` bins: harmonic `h` (up to 5 kHz)
/// with weight `w(h)`, spread over +-1 axis bin.
fn template(p: u8, n_ax: usize, w: impl Fn(usize) -> f32) -> Vec<(u16, f32)> {
    let mut t: Vec<(u16, f32)> = Vec::new();
    let f0 = features::pitch_hz(p as f64);
    for h in 1..=MAX_H {
        let fh = partial_hz(f0, h);
        if fh > F_MAX {
            break;
        }
        let x = (12.0 * (fh / 440.0).log2() + 69.0 - AX_LO) * BPS;
        let wh = w(h);
        let k = x.round() as isize;
        for j in k - 1..=k + 1 {
            if j < 0 || j as usize >= n_ax {
                continue;
            }
            let v = wh * (1.0 - (j as f64 - x).abs() as f32 / 2.0).max(0.0);
            match t.iter_mut().find(|e| e.0 as isize == j) {
                Some(e) => e.1 += v,
                None => t.push((j as u16, v)),
            }
        }
    }
    let n = t.iter().map(|e| e.1 * e.1).sum::<f32>().sqrt().max(1e-9);
    t.iter_mut().for_each(|e| e.1 /= n);
    t
}

/// Position of frequency `hz` on the log-frequency axis (fractional axis bin).
fn axis_pos(hz: f64) -> f64 {
    (12.0 * (hz.max(1.0) / 440.0).log2() + 69.0 - AX_LO) * BPS
}

/// Each reading of `here` ((partial number, dB) from [`PitchFit::step_trios`]) less the
/// median of the same partial's readings in `usual` (one list per onset), for the partials
/// that `min_seen` or more of those onsets read.
pub fn beyond_usual<'u>(
    here: &[(usize, f32)],
    usual: impl Iterator<Item = &'u [(usize, f32)]> + Clone,
    min_seen: usize,
) -> Vec<f32> {
    here.iter()
        .filter_map(|&(h, v)| {
            let seen: Vec<f32> = usual
                .clone()
                .flat_map(|r| r.iter().filter(|y| y.0 == h).map(|y| y.1))
                .collect();
            (seen.len() >= min_seen).then(|| v - median(seen).unwrap_or(0.0))
        })
        .collect()
}

/// The median of the dB values of `levels` (`None` when empty).
fn median_db(levels: Vec<(usize, f32)>) -> Option<f32> {
    median(levels.into_iter().map(|x| x.1).collect())
}

/// The median (the upper one of an even count); `None` when empty.
pub(super) fn median(mut v: Vec<f32>) -> Option<f32> {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weight of harmonic `h` of `p` in its template (the centre bin).
    fn weight(pf: &PitchFit, p: u8, h: usize) -> f32 {
        let x = axis_pos(features::pitch_hz(p as f64) * h as f64).round() as u16;
        pf.template(p)
            .iter()
            .find(|e| e.0 == x)
            .map_or(0.0, |e| e.1)
    }

    /// A decaying string-like tone of `pitch` from `start` s (harmonics 1..=10 at `1/h`).
    fn tone(sig: &mut [f32], rate: f32, pitch: u8, start: f32, amp: f32) {
        let f0 = features::pitch_hz(pitch as f64) as f32;
        for (i, v) in sig.iter_mut().enumerate().skip((start * rate) as usize) {
            let t = i as f32 / rate - start;
            let env = amp * (-3.0 * t).exp();
            for h in 1..=10 {
                *v += env / h as f32 * (std::f32::consts::TAU * f0 * h as f32 * t).sin();
            }
        }
    }

    /// Features of one second at 22.05 kHz holding `tone`s of (pitch, start s) at amplitude 0.2.
    fn second_of(struck: &[(u8, f32)]) -> Features {
        let mut sig = vec![0.0f32; 22050];
        for &(pitch, start) in struck {
            tone(&mut sig, 22050.0, pitch, start, 0.2);
        }
        features::compute_interleaved(&sig, 1, 22050)
    }

    #[test]
    fn continuity_tells_a_key_struck_again_from_one_ringing_on() {
        let at = |struck: &[(u8, f32)], others: &[u8]| {
            let f = second_of(struck);
            PitchFit::new(&f).continuity(0.5, 60, others).unwrap()
        };
        // C4 struck at 0.1 s rings on (decaying) through 0.5 s: on course.
        let ringing = at(&[(60, 0.1)], &[]);
        assert!(ringing < 0.1, "{ringing}");
        // Struck again at 0.5 s: a new vibration over the decayed one.
        let again = at(&[(60, 0.1), (60, 0.5)], &[]);
        assert!(again > 1.0, "{again}");
        // C5 struck over it: C4's partials 1 and 3 (C5 has neither) stay on course.
        let octave = at(&[(60, 0.1), (72, 0.5)], &[72]);
        assert!(octave < 0.1, "{octave}");
        // Read at every partial, C5's attack shows in the shared ones.
        assert!(at(&[(60, 0.1), (72, 0.5)], &[]) > 0.5);
    }

    #[test]
    fn step_trios_stand_out_when_the_octave_is_struck_too() {
        // C3's partials 2, 4, 6, 8 against their neighbours (1/h amplitudes: about 0 dB), with
        // and without C4 (whose partials land on exactly those, in phase: about +9.5 dB).
        let read = |struck: &[(u8, f32)], others: &[u8]| -> Vec<(usize, f32)> {
            let f = second_of(struck);
            let mut pf = PitchFit::new(&f);
            let t = (0.5 / f.hop_s).round() as usize;
            pf.step_trios(t, 48, 2, others)
                .into_iter()
                .filter(|x| x.0 <= 8)
                .collect()
        };
        let alone = read(&[(48, 0.5)], &[]);
        let with = read(&[(48, 0.5), (60, 0.5)], &[]);
        assert_eq!(alone.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 4, 6, 8]);
        assert!(alone.iter().all(|x| x.1.abs() < 1.5), "{alone:?}");
        assert!(with.iter().all(|x| x.1 > 6.0), "{with:?}");
        // A struck note whose partials fall in every trio leaves nothing to read.
        assert!(read(&[(48, 0.5), (60, 0.5)], &[60]).is_empty());
    }

    #[test]
    fn partial_balance_stands_out_when_the_octave_is_struck_too() {
        let balance = |struck: &[(u8, f32)]| {
            let f = second_of(struck);
            let mut pf = PitchFit::new(&f);
            pf.load((0.5 / f.hop_s).round() as usize);
            // An octave up shares harmonics 2, 4, ...; a twelfth up 3, 6, ...
            (
                pf.partial_balance(48, 2, &[]).unwrap(),
                pf.partial_balance(48, 3, &[]).unwrap(),
            )
        };
        let (alone_8va, alone_12th) = balance(&[(48, 0.5)]);
        let (with_8va, with_12th) = balance(&[(48, 0.5), (60, 0.5)]);
        // Alone: the fundamental outweighs the 2nd harmonic (1/2 in amplitude, ~0.7 after the
        // square root).
        assert!(alone_8va < 0.8, "{alone_8va}");
        // C4 struck too: its fundamental lands on C3's 2nd harmonic, which now outweighs C3's
        // own partials (0.69 -> 1.20).
        assert!(
            with_8va > 1.5 * alone_8va && with_8va > 1.0,
            "{with_8va} vs {alone_8va}"
        );
        // A twelfth up shares C3's 3rd, 6th, 9th harmonics, where C4 adds little: unchanged.
        assert!(
            (with_12th / alone_12th - 1.0).abs() < 0.1,
            "{with_12th} vs {alone_12th}"
        );
        // Partials near another note's are left out: with every partial of C3 taken, none.
        assert!(
            PitchFit::new(&features::compute_interleaved(&vec![0.0; 22050], 1, 22050))
                .partial_balance(48, 2, &[36])
                .is_none()
        );
    }

    #[test]
    fn reattack_tells_a_key_struck_again_from_one_left_ringing() {
        let reattack = |struck: &[(u8, f32)], others: &[u8]| {
            let f = second_of(struck);
            let mut pf = PitchFit::new(&f);
            let fr = |t: f64| (t / f.hop_s).round() as usize;
            pf.reattack_db(fr(0.3), fr(0.8), 64, others)
        };
        // Struck again: at least back at the first attack's level.
        let again = reattack(&[(64, 0.3), (64, 0.8)], &[]).unwrap();
        assert!(again > -1.0, "{again}");
        // Left ringing: 0.5 s of a -3/s decay, -13 dB.
        let left = reattack(&[(64, 0.3)], &[]).unwrap();
        assert!((-15.0..-11.0).contains(&left), "{left}");
        // An octave below struck too shares every harmonic: nothing to tell.
        assert!(reattack(&[(64, 0.3)], &[52]).is_none());
    }

    #[test]
    fn adapt_takes_the_learned_harmonic_shares_and_fills_the_rest() {
        let sig = vec![0.0f32; 22050];
        let f = features::compute_interleaved(&sig, 1, 22050);
        let mut pf = PitchFit::new(&f);
        let fixed = weight(&pf, 60, 2) / weight(&pf, 60, 1);
        // A piano whose 2nd harmonic is a tenth of the fundamental.
        let mut prof = [0.1f32; MAX_H];
        prof[0] = 1.0;
        // Too few notes: nothing changes.
        let few: Vec<(u8, [f32; MAX_H])> = (0..ADAPT_TOTAL - 1).map(|_| (60, prof)).collect();
        pf.adapt(&few);
        assert_eq!(weight(&pf, 60, 2) / weight(&pf, 60, 1), fixed);
        let many: Vec<(u8, [f32; MAX_H])> = (0..ADAPT_TOTAL).map(|_| (60, prof)).collect();
        pf.adapt(&many);
        let learned = weight(&pf, 60, 2) / weight(&pf, 60, 1);
        assert!((learned - 0.1).abs() < 0.02, "{learned} (fixed {fixed})");
        // A pitch far from every learned note takes the nearest learned pitch's shares.
        let far = weight(&pf, 40, 2) / weight(&pf, 40, 1);
        assert!((far - 0.1).abs() < 0.02, "{far}");
    }
}
