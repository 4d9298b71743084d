//! Step 4 of the pipeline: every expected note judged played, played a semitone off, or missed,
//! from chord-wise harmonic-template fits (the fits: [`super::pitchfit`]).
//!
//! [`decide()`](fn@decide) runs the rules in this order, each a named function below with its
//! reason:
//! 1. [`yield_to_semitone_neighbours`]: a peak far off a note's time, on a semitone
//!    neighbour's, is the neighbour's.
//! 2. [`covered_own_attacks`]: the real attack of a note struck with its lower octave.
//! 3. [`Scene::fit_chords`]: one template fit per chord.
//! 4. [`Scene::judge`] per note: the threshold, the rules of thumb ([`Scene::vouched`],
//!    [`Scene::clear_attack`]), the wrong-pitch [`verdict`], a retry at the predicted time
//!    ([`Scene::retry_at_predicted`]).
//! 5. [`one_onset_one_note`], then the covered notes' own attacks give their timing.

use super::pitchfit::median;
use super::*;

/// [`rings_on`]: notes struck this long (s) before or after an onset share its partials' windows.
const CONT_BEFORE: f64 = 0.12;
const CONT_AFTER: f64 = 0.05;
/// [`rings_on`]: a key released this long (s) before a note still rings.
const RING_ON_GAP: f64 = 0.1;
/// [`rings_on`]: partials this close to their course were not struck again (dev seeds: drops
/// found +2, no false report added; held-out +1; Joplin's student render: 1 played note lost).
const RING_ON_DEV: f32 = 0.4;

/// Semitone neighbours below this share of the note's activation leave it "lone" (the rules
/// for a note the fit under-reads need no rival).
const LONE_NEIGHBOUR: f32 = 0.5;
/// A note is played when its activation reaches this share of the strongest note of its chord
/// ...
const REL_CHORD: f32 = 0.2;
/// ... and this share of the typical note's activation (median over the piece).
const REL_TYPICAL: f32 = 0.2;
/// A neighbour this many times a note's activation raised by a rule of thumb (restruck,
/// covered), twice its fitted one and with a clear attack of its own, is a wrong pitch.
const RAISED_RIVAL: f32 = 1.5;
/// A restruck note's short-flux peak, relative to the typical note's, counts this much as its
/// activation relative to the typical one.
const RESTRIKE_TRUST: f32 = 1.0;
/// ... on a chord with a note predicted this much closer (s) has borrowed that note's onset:
/// it needs this share of the chord's strongest activation.
const BORROW_MARGIN: f64 = 0.03;
const BORROW_REL: f32 = 0.35;
/// A semitone neighbour that is an upper harmonic of a chord note this many times stronger is
/// that note's partial.
const HARMONIC_CLAIM: f32 = 2.5;
/// Another attack of the same pitch this soon (s) after an onset lies in its long window.
const FOLLOW_WINDOW: f64 = 0.19;
/// A note found at its predicted time (not at its peak) needs a flux peak there of this share
/// of the typical note's.
const RETRY_FLUX: f32 = 0.3;
/// The rise test: notes struck this long before / after an onset share it, and a note's own
/// harmonics must rise by this much (dB, median) there.
const RISE_BEFORE: f64 = 0.05;
const RISE_AFTER: f64 = 0.1;
const RISE_DB: f32 = 3.0;
/// Share of its threshold a note with a clear rise ([`CLEAR_RISE_DB`]) needs.
const NEAR_THR: f32 = 0.5;
/// A same-key restrike needs a short-window flux peak of this share of the typical note's.
const SAME_KEY_FLUX: f32 = 0.08;
/// A held key struck again in a repeated chord needs this share of its strongest struck-again
/// mate's flux peak, unless its own harmonics rise (mates struck again reach 0.35 or more).
const FAINT_REPEAT: f32 = 0.3;
/// A note's onset peak this far (s) off its predicted time (beyond the matching's proximity
/// scale, the pass-2 sigma) on a semitone neighbour's predicted time may be that neighbour's.
const YIELD_OFF: f64 = 0.12;
/// How far from its predicted time a covered note's own attack is looked for (s).
const SHIFT_LOOK: f64 = 0.15;
/// A key held up to a repeated chord whose own harmonics lie this many dB under its previous
/// attack's was not struck again ([`Scene::not_reattacked`]). Dev seeds: played repeated
/// notes (not injected) at -6 dB or less 2 of 199, dropped ones 5 of 17.
const REATTACK_DB: f32 = 6.0;
/// A matched peak is "at the chord" within this of the chord's time (s): [`CHORD_GAP`] plus a
/// frame.
const AT_CHORD: f64 = CHORD_GAP + 0.01;

/// A note judged played at a peak this far (s) off its predicted time is judged at that time
/// too ([`Scene::retry_at_predicted`]). Dev seeds: dropped, extra and shifted notes +1 each;
/// held-out: dropped and extra +3 each, false shifts -4, false drops +1.
const FAR_OFF: f64 = 0.15;

/// A semitone neighbour whose flux peak at a note's onset is under this share of its
/// strongest one later in the long window attacks later ([`Scene::attacks_later`]).
const LATER_NEIGHBOUR: f32 = 0.5;

/// [`Scene::uncovered`]: a covered note not struck stands out by less than this (dB) in its
/// lower note's series...
const COVER_EXCESS_DB: f32 = 3.0;
/// ... and by less than this over what that key shows struck alone...
const COVER_REL_DB: f32 = 1.5;
/// ... read at this many partials or more...
const COVER_TRIOS: usize = 4;
/// ... each read at this many onsets of the key alone or more...
const COVER_ALONE: usize = 2;
/// ... where the other such notes stand out by this much or more (median, dB).
const COVER_SHOWN_DB: f32 = 4.0;
/// Where other such notes were read ([`Scene::shown`]), a reading this close (dB) to the key
/// struck alone stands by itself, whatever the level ([`COVER_EXCESS_DB`]).
const COVER_LEVEL_REL_DB: f32 = 0.5;

/// One fit: candidate pitches and their activations.
pub(super) struct Fit {
    cands: Vec<u8>,
    act: Vec<f32>,
}

impl Fit {
    fn get(&self, p: u8) -> f32 {
        self.cands
            .iter()
            .position(|&c| c == p)
            .map_or(0.0, |i| self.act[i])
    }
}

/// A note judged played at its own pitch on a key held (or released within
/// [`RING_ON_GAP`]) from the note before it on that key, itself judged played there, whose
/// free partials (those no note struck from [`CONT_BEFORE`] before to [`CONT_AFTER`] after
/// shares) run on through its onset as they ran before
/// ([`PitchFit::continuity`](pitchfit::PitchFit::continuity) under [`RING_ON_DEV`], both at its
/// peak and at its predicted time) was not struck again: the key rings on. Why: a repeated
/// chord note left out still sounds, a few dB under its last attack, so the fits and the level
/// tests take it as struck; only its phase tells (farmer, dev seeds: 0.18-0.39 for such notes,
/// 0.58 and up for the 797 repeated notes played).
pub(super) fn rings_on(
    pf: &pitchfit::PitchFit,
    notes: &[ExpectedNote],
    centers: &[f64],
    outcomes: &mut [Outcome],
    extras: &[(f64, u8)],
    retimed: impl Fn(usize) -> bool,
) {
    let struck: Vec<(f64, u8)> = outcomes
        .iter()
        .filter_map(|o| match *o {
            Outcome::Played { pitch, peak } => Some((peak.time, pitch)),
            Outcome::Missed => None,
        })
        .chain(extras.iter().copied())
        .collect();
    let mut flips = Vec::new();
    for (i, n) in notes.iter().enumerate() {
        let Outcome::Played { pitch, peak } = outcomes[i] else {
            continue;
        };
        if pitch != n.pitch || retimed(i) {
            continue;
        }
        let held = notes.iter().enumerate().any(|(j, m)| {
            j != i
                && m.pitch == n.pitch
                && m.start < n.start
                && m.end > n.start - RING_ON_GAP
                && matches!(outcomes[j], Outcome::Played { pitch, .. } if pitch == n.pitch)
        });
        if !held {
            continue;
        }
        let dev_at = |t: f64| {
            let others: Vec<u8> = struck
                .iter()
                .filter(|&&(u, q)| q != n.pitch && u >= t - CONT_BEFORE && u <= t + CONT_AFTER)
                .map(|&(_, q)| q)
                .collect();
            pf.continuity(t, n.pitch, &others)
        };
        let on_course = |t: f64| dev_at(t).is_some_and(|d| d < RING_ON_DEV);
        if on_course(peak.time) && on_course(centers[i]) {
            flips.push(i);
        }
    }
    for i in flips {
        outcomes[i] = Outcome::Missed;
    }
}

/// Expected notes (indices) whose evaluation time lies in `[t - before, t + after]`.
fn notes_near<'b>(
    sorted: &'b [(f64, usize)],
    t: f64,
    before: f64,
    after: f64,
) -> impl Iterator<Item = usize> + 'b {
    let k = sorted.partition_point(|&(e, _)| e < t - before);
    sorted[k..]
        .iter()
        .take_while(move |&&(e, _)| e <= t + after)
        .map(|&(_, i)| i)
}

/// Fit at `frame` with the members' pitches and their semitone neighbours, plus the pitches of
/// the notes sharing the long windows.
fn chord_fit(
    pf: &mut pitchfit::PitchFit,
    frame: usize,
    members: &[u8],
    nearby: impl Iterator<Item = u8>,
) -> Fit {
    let mut cands: Vec<u8> = Vec::new();
    for &p in members {
        for q in [p.saturating_sub(1), p, p + 1] {
            if (features::PITCH_LO..=features::PITCH_HI).contains(&q) && !cands.contains(&q) {
                cands.push(q);
            }
        }
    }
    for q in nearby {
        if !cands.contains(&q) {
            cands.push(q);
        }
    }
    pf.load(frame);
    let mut act = Vec::new();
    pf.fit(&cands, &mut act);
    Fit { cands, act }
}

/// Result of the score-informed decisions.
pub(super) struct Decided {
    pub(super) outcomes: Vec<Outcome>,
    /// Chord onset frames fitted.
    pub(super) chord_frames: Vec<usize>,
    /// Median activation of the notes at their written pitch.
    pub(super) typical: f32,
}

/// Decides every expected note from chord-wise harmonic-template fits (see [`pitchfit`]):
/// played, played a semitone off, or missed. `out`: each note's onset peak of its own pitch
/// (the timing), from [`match_notes`]. `extras`: notes already found played that the score
/// does not have, (time, pitch) in time order (none the first time): the fits and the rise
/// tests count them among the notes struck near a chord.
pub(super) fn decide(
    f: &Features,
    pf: &mut pitchfit::PitchFit,
    notes: &[ExpectedNote],
    centers: &[f64],
    out: &[Outcome],
    strength: f32,
    extras: &[(f64, u8)],
) -> Decided {
    let out = yield_to_semitone_neighbours(f, notes, centers, out);
    let own_attack = covered_own_attacks(f, notes, centers, &out);
    let scene = Scene::new(f, notes, centers, &out, strength, extras);
    let fits = scene.fit_chords(pf);
    let mut outcomes: Vec<Outcome> = (0..notes.len())
        .map(|i| scene.judge(pf, &fits, i))
        .collect();
    one_onset_one_note(notes, centers, &mut outcomes);
    // A covered note played as written at the chord: its timing is its own attack's.
    for (i, o) in outcomes.iter_mut().enumerate() {
        if let (Outcome::Played { pitch, peak }, Some(pk)) = (&mut *o, own_attack[i])
            && *pitch == notes[i].pitch
            && (peak.time - centers[i]).abs() <= CHORD_GAP
        {
            *peak = pk;
        }
    }
    Decided {
        outcomes,
        chord_frames: fits.frames,
        typical: fits.typical,
    }
}

/// A peak far (beyond a plain timing error) off a note's predicted time, right at the
/// predicted time of a semitone neighbour whose own pitch is weaker there, is that neighbour
/// struck a semitone off (its onset leaks into this pitch's salience): the note takes its own
/// pitch's best peak near its predicted time instead, if any, else it is judged at that time.
fn yield_to_semitone_neighbours(
    f: &Features,
    notes: &[ExpectedNote],
    centers: &[f64],
    out: &[Outcome],
) -> Vec<Outcome> {
    let mut out = out.to_vec();
    for i in 0..notes.len() {
        let Outcome::Played { peak, .. } = out[i] else {
            continue;
        };
        let p = notes[i].pitch;
        let off = (peak.time - centers[i]).abs();
        let own = f.pf(peak.frame, p);
        let yields = off > YIELD_OFF
            && notes.iter().any(|m| {
                m.pitch.abs_diff(p) == 1
                    && {
                        let d = (centers[m.index] - peak.time).abs();
                        d <= CHORD_GAP && d + BORROW_MARGIN < off
                    }
                    && f.pf(peak.frame, m.pitch) < own
            });
        if yields {
            let c = f.frame_at(centers[i]);
            let lim = (BORROW_OFF / f.hop_s).round() as isize;
            out[i] = peaks(f, p, c - lim, c + lim)
                .max_by(|x, y| x.value.total_cmp(&y.value))
                .map_or(Outcome::Missed, |pk| Outcome::Played { pitch: p, peak: pk });
        }
    }
    out
}

/// A note struck with a lower note an octave, a twelfth or two octaves under it shows a
/// salience peak at that note's onset whether or not it was struck there (all its harmonics
/// are the lower note's). A stronger peak of its pitch nearby that no other note's onset
/// (written or matched) with partials at or a semitone from its own (a harmonic below or
/// above, or a semitone off one: they leak into its salience) explains can only be its own
/// attack: it was played early or late. Only its timing moves (the decision at the chord,
/// where the lower note covers it, stays).
fn covered_own_attacks(
    f: &Features,
    notes: &[ExpectedNote],
    centers: &[f64],
    out: &[Outcome],
) -> Vec<Option<Peak>> {
    let mut own_attack: Vec<Option<Peak>> = vec![None; notes.len()];
    for i in 0..notes.len() {
        let Outcome::Played { peak, .. } = out[i] else {
            continue;
        };
        let p = notes[i].pitch;
        if (peak.time - centers[i]).abs() > CHORD_GAP {
            continue;
        }
        let lower_struck = notes.iter().any(|m| {
            [12, 19, 24].contains(&(p as i32 - m.pitch as i32))
                && (centers[m.index] - centers[i]).abs() <= CHORD_GAP
                && matches!(out[m.index], Outcome::Played { peak: q, .. }
                    if (q.time - peak.time).abs() <= CHORD_GAP)
        });
        if !lower_struck {
            continue;
        }
        let explained = |t: f64| {
            notes.iter().any(|m| {
                m.index != i
                    && HARMONIC_STEPS
                        .iter()
                        .any(|&k| ((p as i32 - m.pitch as i32).abs() - k).abs() <= 1)
                    && ((centers[m.index] - t).abs() <= BORROW_OFF
                        || matches!(out[m.index], Outcome::Played { peak: q, .. }
                            if (q.time - t).abs() <= BORROW_OFF))
            })
        };
        let c = f.frame_at(centers[i]);
        let lim = (SHIFT_LOOK / f.hop_s).round() as isize;
        own_attack[i] = peaks(f, p, c - lim, c + lim)
            .filter(|pk| (pk.time - centers[i]).abs() > BORROW_OFF && pk.value > peak.value)
            .filter(|pk| !explained(pk.time))
            // Not another key's attack (one not written there) leaking into this pitch's
            // salience: no semitone neighbour, and no lower key with a partial at or a semitone
            // from this pitch's first two harmonics, has a stronger onset there.
            .filter(|pk| {
                let p = p as i32;
                let lower = HARMONIC_STEPS[1..].iter().flat_map(|&k| {
                    [0, 12]
                        .into_iter()
                        .flat_map(move |kp| (-1..=1).map(move |d| p + kp - k + d))
                });
                // The lower octave's salience holds this key's own partials: no rival.
                ![p - 1, p + 1]
                    .into_iter()
                    .chain(lower)
                    .filter(|&q| q != p && q != p - 12 && (0..=127).contains(&q))
                    .any(|q| f.pf(pk.frame, q as u8) >= pk.value)
            })
            .max_by(|x, y| x.value.total_cmp(&y.value));
    }
    own_attack
}

/// One onset, one note: a wrong pitch that another note also played there (at its written
/// pitch, or predicted nearer) belongs to that note.
fn one_onset_one_note(notes: &[ExpectedNote], centers: &[f64], outcomes: &mut [Outcome]) {
    let mut by_time: Vec<(f64, u8, usize)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Outcome::Played { pitch, peak } => Some((peak.time, *pitch, i)),
            Outcome::Missed => None,
        })
        .collect();
    by_time.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (k, &(t, q, i)) in by_time.iter().enumerate() {
        if q == notes[i].pitch {
            continue;
        }
        let lo = by_time.partition_point(|x| x.0 < t - EXCLUSIVE_GAP);
        let lose = by_time[lo..]
            .iter()
            .take_while(|x| x.0 <= t + EXCLUSIVE_GAP)
            .enumerate()
            .any(|(m, &(_, qj, j))| {
                lo + m != k
                    && qj == q
                    && (notes[j].pitch == q || (centers[j] - t).abs() < (centers[i] - t).abs())
            });
        if lose {
            outcomes[i] = Outcome::Missed;
        }
    }
}

/// The fit's verdict on a note from its own and its semitone neighbours' activations `a`
/// (below, written, above): `Some(None)` played as written, `Some(Some(k))` neighbour `k` (0
/// below, 2 above) was struck instead, `None` missed. A neighbour counts when not `claimed` by
/// another note sounding there, over `thr`, and more than twice `fitted[k]` (the note's own
/// activation unless a rule of thumb raised it and the neighbour shows an attack of its own).
fn verdict(a: [f32; 3], claimed: [bool; 3], thr: f32, fitted: [f32; 3]) -> Option<Option<u8>> {
    let mut best: Option<(usize, f32)> = None;
    for k in [0, 2] {
        if !claimed[k]
            && a[k] >= thr
            && a[k] > WRONG_RATIO * fitted[k]
            && best.is_none_or(|(_, b)| a[k] > b)
        {
            best = Some((k, a[k]));
        }
    }
    match best {
        Some((k, _)) => Some(Some(k as u8)),
        None if a[1] >= thr => Some(None),
        None => None,
    }
}

/// A note's fit at its chord.
struct NoteFit {
    chord: usize,
    /// Activations of the pitch below, the written pitch, the pitch above.
    a: [f32; 3],
    /// Whether the neighbour is another note's written pitch sounding there.
    claimed: [bool; 3],
}

/// The chord-wise fits of a piece.
struct ChordFits {
    /// Notes of each chord (onsets within [`CHORD_GAP`] of the chord's first).
    members: Vec<Vec<usize>>,
    /// Per note: its chord and activations.
    notes: Vec<Option<NoteFit>>,
    /// Per chord: the strongest written-pitch activation, the fitted frame and its time.
    max: Vec<f32>,
    frames: Vec<usize>,
    time: Vec<f64>,
    /// Median activation of the notes at their written pitch.
    typical: f32,
}

/// What one note's judgement looks at.
struct Judged<'c> {
    i: usize,
    p: u8,
    /// Below, written, above.
    qs: [u8; 3],
    chord: &'c [usize],
    /// Activation a played note needs.
    thr: f32,
    /// The chord's time and frame.
    tc: f64,
    frame_tc: usize,
    /// Pitches of the other notes struck around the onset (their harmonics are not the note's).
    others: Vec<u8>,
}

/// A key's [`Scene::alone_trios`]: the readings at each onset (shared, read many times).
type AloneTrios = std::rc::Rc<Vec<Vec<(usize, f32)>>>;
/// A covered note's relative octave reading: (note, lower key, step in semitones, dB).
type CoverRead = (usize, u8, i32, f32);

/// The expected notes with their matched peaks: what every rule reads.
struct Scene<'a> {
    f: &'a Features,
    notes: &'a [ExpectedNote],
    centers: &'a [f64],
    /// Each note's onset peak of its own pitch (the timing).
    out: &'a [Outcome],
    strength: f32,
    /// Notes found played that the score does not have: (time, pitch), in time order.
    extras: &'a [(f64, u8)],
    /// Each note's evaluation time: its peak's, or its predicted time without one.
    eval_t: Vec<f64>,
    /// (evaluation time, note) in time order.
    sorted: Vec<(f64, usize)>,
    /// [`Scene::alone_trios`] per (key, step).
    alone: std::cell::RefCell<std::collections::HashMap<(u8, usize), AloneTrios>>,
    /// Every covered note's relative octave reading ([`Scene::shown`]).
    reads: std::cell::RefCell<Option<Vec<CoverRead>>>,
}

impl<'a> Scene<'a> {
    fn new(
        f: &'a Features,
        notes: &'a [ExpectedNote],
        centers: &'a [f64],
        out: &'a [Outcome],
        strength: f32,
        extras: &'a [(f64, u8)],
    ) -> Self {
        let eval_t: Vec<f64> = (0..notes.len())
            .map(|i| match out[i] {
                Outcome::Played { peak, .. } => peak.time,
                Outcome::Missed => centers[i],
            })
            .collect();
        let mut sorted: Vec<(f64, usize)> = eval_t.iter().copied().zip(0..notes.len()).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        Scene {
            f,
            notes,
            centers,
            out,
            strength,
            extras,
            eval_t,
            sorted,
            alone: Default::default(),
            reads: Default::default(),
        }
    }

    /// Pitches of the extra notes (see [`decide()`](fn@decide)) from `before` s before `t` to
    /// `after` s after it.
    fn extras_near(&self, t: f64, before: f64, after: f64) -> impl Iterator<Item = u8> + '_ {
        self.extras
            .iter()
            .filter(move |x| x.0 >= t - before && x.0 <= t + after)
            .map(|x| x.1)
    }

    /// Groups the notes into chords and fits each chord once.
    fn fit_chords(&self, pf: &mut pitchfit::PitchFit) -> ChordFits {
        let (f, notes, eval_t) = (self.f, self.notes, &self.eval_t);
        let mut chords: Vec<Vec<usize>> = Vec::new();
        for &(t, i) in &self.sorted {
            match chords.last_mut() {
                Some(c) if t - eval_t[c[0]] <= CHORD_GAP => c.push(i),
                _ => chords.push(vec![i]),
            }
        }
        let mut ev: Vec<Option<NoteFit>> = (0..notes.len()).map(|_| None).collect();
        // The long-window spectra of every chord onset, in parallel up front.
        let onsets: Vec<usize> = chords
            .iter()
            .map(|c| f.frame_at(eval_t[c[c.len() / 2]]).max(0) as usize)
            .collect();
        pf.preload(&onsets);
        let mut max = Vec::with_capacity(chords.len());
        let mut frames = Vec::with_capacity(chords.len());
        let mut time = Vec::with_capacity(chords.len());
        for (ci, c) in chords.iter().enumerate() {
            let t = eval_t[c[c.len() / 2]];
            let frame = f.frame_at(t).max(0) as usize;
            let members: Vec<u8> = c.iter().map(|&i| notes[i].pitch).collect();
            let near: Vec<usize> =
                notes_near(&self.sorted, t, NUISANCE_BEFORE, NUISANCE_AFTER).collect();
            let fit = chord_fit(
                pf,
                frame,
                &members,
                near.iter().map(|&j| notes[j].pitch).chain(self.extras_near(
                    t,
                    NUISANCE_BEFORE,
                    NUISANCE_AFTER,
                )),
            );
            let mut mx = 0.0f32;
            for &i in c {
                let p = notes[i].pitch;
                let qs = [p.saturating_sub(1), p, p + 1];
                let claimed = qs.map(|q| q != p && near.iter().any(|&j| notes[j].pitch == q));
                let a = qs.map(|q| fit.get(q));
                mx = mx.max(a[1]);
                ev[i] = Some(NoteFit {
                    chord: ci,
                    a,
                    claimed,
                });
            }
            max.push(mx);
            frames.push(frame);
            time.push(t);
        }
        let mut own: Vec<f32> = ev.iter().flatten().map(|e| e.a[1]).collect();
        own.sort_by(|a, b| a.total_cmp(b));
        let typical = own.get(own.len() / 2).copied().unwrap_or(1.0).max(1e-6);
        ChordFits {
            members: chords,
            notes: ev,
            max,
            frames,
            time,
            typical,
        }
    }

    /// Restruck: the same key (or a lower note with a harmonic there) still sounds, so the
    /// long windows hardly differ; the short-window flux peak of the note speaks for it.
    fn restrike(&self, i: usize) -> bool {
        let n = self.notes[i];
        self.notes.iter().any(|m| {
            m.index != n.index
                && m.start < n.start - 0.03
                && m.end > n.start - 0.15
                && HARMONIC_STEPS.contains(&(n.pitch as i32 - m.pitch as i32))
        })
    }

    /// The same key, held or released up to 0.1 s before (its release still rings, so its
    /// harmonics hardly rise at the new attack).
    fn same_key(&self, i: usize) -> bool {
        let n = self.notes[i];
        self.notes.iter().any(|m| {
            m.index != n.index && m.pitch == n.pitch && m.start < n.start && m.end > n.start - 0.1
        })
    }

    /// The same key held right up to this onset (repeated chords): if it is not struck again
    /// it just rings on, so its own harmonics clearly falling there mean it was not.
    fn held_to(&self, i: usize) -> bool {
        let n = self.notes[i];
        self.notes.iter().any(|m| {
            m.index != n.index
                && m.pitch == n.pitch
                && m.start < n.start
                && m.end > n.start - CHORD_GAP
        })
    }

    /// Covered: a note of its chord an octave, a twelfth or two octaves below has every one of
    /// its harmonics; the fit cannot tell whether it was played, so it is taken as played.
    fn covered(&self, i: usize, chord: &[usize]) -> bool {
        chord.iter().any(|&j| {
            [12, 19, 24].contains(&(self.notes[i].pitch as i32 - self.notes[j].pitch as i32))
        })
    }

    /// A covered note that was not struck. Its partials, read in its lower chord note's series
    /// ([`Scene::octave_read`]), stand out neither by themselves (under [`COVER_EXCESS_DB`])
    /// nor against what that key shows struck alone elsewhere in the recording (under
    /// [`COVER_REL_DB`]), while the other notes so far over a key near it stand out by
    /// [`COVER_SHOWN_DB`] or more ([`Scene::shown`]). The reading against the key alone is the
    /// one that counts: a SoundFont's sample may have a strong or weak partial of its own
    /// (TimGM6mb's A2 and A3). The last asks that the reading can see such a note at all in
    /// this recording: a high note's upper partials are weak (D#6 over D#5 in the Chopin),
    /// and FluidR3's D#3 barely shows over D#2 (Joplin). Where no other such note was read,
    /// the reading against the key alone stands by itself (dev seeds: dropped +2, transposed
    /// +1, no false report added; held-out, Chopin and Joplin unchanged). Where others were
    /// read, one within [`COVER_LEVEL_REL_DB`] of the key alone was not struck even if its
    /// level stands out: the key's own sample is rich there (the farmer's octaves over chord
    /// notes: 3.5-11 dB raw, -2.3 to 1.0 relative; seeds 20000-20039: dropped +7, false
    /// shifts -2).
    fn uncovered(&self, pf: &mut pitchfit::PitchFit, n: &Judged) -> bool {
        let Some((lower, d)) = self.covering(n.i, n.chord) else {
            return false;
        };
        let others: Vec<u8> = n.others.iter().copied().filter(|&o| o != lower).collect();
        let Some((raw, rel)) = self.octave_read(pf, n.frame_tc, lower, d, &others) else {
            return false;
        };
        let Some(rel) = rel.filter(|&r| r < COVER_REL_DB) else {
            return false;
        };
        let shown = self.shown(pf, n.i, lower, d);
        shown.is_none_or(|s| s >= COVER_SHOWN_DB)
            && (raw < COVER_EXCESS_DB || (shown.is_some() && rel < COVER_LEVEL_REL_DB))
    }

    /// The nearest note of `chord` a harmonic step under note `i` (an octave before a twelfth
    /// before two octaves): its pitch and the step in semitones.
    fn covering(&self, i: usize, chord: &[usize]) -> Option<(u8, i32)> {
        let me = self.notes[i].pitch as i32;
        [12, 19, 24].into_iter().find_map(|d| {
            chord
                .iter()
                .find(|&&j| me - self.notes[j].pitch as i32 == d)
                .map(|&j| (self.notes[j].pitch, d))
        })
    }

    /// The octave reading at `frame` of a key `d` semitones over `lower`: the median of
    /// `lower`'s [`step_trios`](pitchfit::PitchFit::step_trios) and, where [`COVER_TRIOS`] or
    /// more of them were read at [`COVER_ALONE`] or more onsets of `lower` alone, the median
    /// of their differences from those. `None` when no trio was read.
    fn octave_read(
        &self,
        pf: &mut pitchfit::PitchFit,
        frame: usize,
        lower: u8,
        d: i32,
        others: &[u8],
    ) -> Option<(f32, Option<f32>)> {
        let k = match d {
            12 => 2,
            19 => 3,
            _ => 4,
        };
        let here = pf.step_trios(frame, lower, k, others);
        let raw = median(here.iter().map(|x| x.1).collect())?;
        let alone = self.alone_trios(pf, lower, k);
        let rel = pitchfit::beyond_usual(&here, alone.iter().map(|r| r.as_slice()), COVER_ALONE);
        let rel = (rel.len() >= COVER_TRIOS).then(|| median(rel)).flatten();
        Some((raw, rel))
    }

    /// How far the other notes `d` semitones over a key within 2 semitones of `lower` stand
    /// out in its series (median of their relative [`octave_read`](Self::octave_read)s,
    /// written notes at their own onsets): whether the reading can see such a note at all in
    /// this recording. `None` when there is no other such note.
    fn shown(&self, pf: &mut pitchfit::PitchFit, i: usize, lower: u8, d: i32) -> Option<f32> {
        if self.reads.borrow().is_none() {
            let mut v = Vec::new();
            for m in self.notes {
                let t = self.eval_t[m.index];
                let chord: Vec<usize> = notes_near(&self.sorted, t, CHORD_GAP, CHORD_GAP).collect();
                let Some((lo, dd)) = self.covering(m.index, &chord) else {
                    continue;
                };
                let others: Vec<u8> = notes_near(&self.sorted, t, RISE_BEFORE, RISE_AFTER)
                    .map(|o| self.notes[o].pitch)
                    .filter(|&o| o != lo && o != m.pitch)
                    .collect();
                let frame = self.f.frame_at(t).max(0) as usize;
                if let Some((_, Some(rel))) = self.octave_read(pf, frame, lo, dd, &others) {
                    v.push((m.index, lo, dd, rel));
                }
            }
            *self.reads.borrow_mut() = Some(v);
        }
        let reads = self.reads.borrow();
        let near: Vec<f32> = reads
            .as_ref()
            .unwrap()
            .iter()
            .filter(|r| r.0 != i && r.2 == d && r.1.abs_diff(lower) <= 2)
            .map(|r| r.3)
            .collect();
        median(near)
    }

    /// Key `lower`'s [`step_trios`](pitchfit::PitchFit::step_trios) at each onset where it
    /// was struck with no note an octave, a twelfth or two octaves above it. Cached per key
    /// and step.
    fn alone_trios(&self, pf: &mut pitchfit::PitchFit, lower: u8, k: usize) -> AloneTrios {
        if let Some(v) = self.alone.borrow().get(&(lower, k)) {
            return v.clone();
        }
        let mut v = Vec::new();
        for m in self.notes.iter().filter(|m| m.pitch == lower) {
            let t = self.eval_t[m.index];
            let topped = notes_near(&self.sorted, t, CHORD_GAP, CHORD_GAP)
                .any(|o| [12, 19, 24].contains(&(self.notes[o].pitch as i32 - lower as i32)));
            if topped {
                continue;
            }
            let others: Vec<u8> = notes_near(&self.sorted, t, RISE_BEFORE, RISE_AFTER)
                .map(|o| self.notes[o].pitch)
                .filter(|&o| o != lower)
                .collect();
            let frame = self.f.frame_at(t).max(0) as usize;
            v.push(pf.step_trios(frame, lower, k, &others));
        }
        let v = AloneTrios::new(v);
        self.alone.borrow_mut().insert((lower, k), v.clone());
        v
    }

    /// The same key struck again within the long window after `t`: the fit also holds that
    /// attack, so only the short-window flux peak at this onset speaks for this one.
    fn follow(&self, i: usize, t: f64) -> bool {
        let p = self.notes[i].pitch;
        self.notes.iter().any(|m| {
            m.index != i && m.pitch == p && m.start > self.notes[i].start && {
                let d = self.centers[m.index] - t;
                d > CHORD_GAP && d < FOLLOW_WINDOW
            }
        })
    }

    /// The short-window flux peak of `p` near `t`, on the activation scale.
    fn flux_at(&self, p: u8, t: f64, typical: f32) -> f32 {
        let c = self.f.frame_at(t);
        peaks(self.f, p, c - 3, c + 3)
            .map(|pk| pk.value)
            .fold(0.0f32, f32::max)
            / self.strength
            * typical
    }

    /// Borrowed: the note's peak lies off its predicted time, on the onset of another note
    /// predicted there; that onset is the other note's, so this one must show a strong attack
    /// of its own written pitch there (no rule of thumb, no wrong pitch).
    fn borrowed(&self, n: &Judged) -> bool {
        let i = n.i;
        (self.eval_t[i] - self.centers[i]).abs() > BORROW_OFF
            && n.chord.iter().any(|&j| {
                j != i
                    && (self.centers[j] - n.tc).abs() + BORROW_MARGIN
                        < (self.centers[i] - n.tc).abs()
            })
    }

    /// Off its predicted time, on the fresh onset of a lower note (written elsewhere) that has
    /// a harmonic at its pitch: its peak is that note's partial, so no rule of thumb (they
    /// assume the lower note was struck before or with it) vouches for it.
    fn partial_of_lower(&self, n: &Judged) -> bool {
        let i = n.i;
        (self.eval_t[i] - self.centers[i]).abs() > BORROW_OFF
            && n.chord.iter().any(|&j| {
                on_harmonic_of(n.p, self.notes[j].pitch)
                    && (self.centers[j] - self.centers[i]).abs() > CHORD_GAP
            })
    }

    /// Rules of thumb for a note the fit cannot see (restruck, or covered by a lower chord
    /// note): the raised activation, or `None` where none applies. Each needs the note's own
    /// harmonics (those no note struck there shares) to rise at the onset, except a same-key
    /// restrike whose flux peak speaks for it (the window before holds its previous attack).
    fn vouched(
        &self,
        pf: &mut pitchfit::PitchFit,
        n: &Judged,
        a: [f32; 3],
        typical: f32,
    ) -> Option<f32> {
        let i = n.i;
        let Outcome::Played { peak, .. } = self.out[i] else {
            return None;
        };
        if (peak.time - n.tc).abs() > AT_CHORD
            || self.borrowed(n)
            || self.partial_of_lower(n)
            || a[1] >= n.thr
        {
            return None;
        }
        let covered = self.covered(i, n.chord);
        if !(self.restrike(i) || covered) {
            return None;
        }
        if covered && self.uncovered(pf, n) {
            return None;
        }
        let rise = |pf: &mut pitchfit::PitchFit| pf.rise_db(n.frame_tc, n.p, &n.others);
        let same_key_ok = self.same_key(i)
            && (!self.held_to(i) || rise(pf).is_none_or(|db| db > -CLEAR_RISE_DB))
            && !self.not_reattacked(pf, n);
        if !(same_key_ok
            || rise(pf).is_none_or(|db| db >= RISE_DB)
            || (!covered && lone(a) && self.low_rise(pf, n)))
            || self.faint_repeat(pf, n)
        {
            return None;
        }
        let mut a1 = a[1];
        if self.restrike(i) {
            a1 = a1.max(RESTRIKE_TRUST * peak.value / self.strength * typical);
            // The same key struck again right on time: the flux peak is all there is, if
            // there is one (a held or released key only decays).
            if self.same_key(i)
                && (peak.time - self.centers[i]).abs() <= CHORD_GAP
                && peak.value >= SAME_KEY_FLUX * self.strength
            {
                a1 = a1.max(n.thr);
            }
        }
        if covered {
            a1 = a1.max(n.thr);
        }
        Some(a1)
    }

    /// The same key held up to this onset and judged struck just before: if its own harmonics
    /// (those no note struck at either onset shares) lie [`REATTACK_DB`] under that attack's
    /// level here, it was not struck again (a repeated chord note a student leaves out rings
    /// on, decayed; one struck again is back near its first attack's level). A note written
    /// softer than the one before may lie lower by as much (the farmer's student render: a
    /// repeated F4 written at a lower velocity was taken as not struck).
    fn not_reattacked(&self, pf: &mut pitchfit::PitchFit, n: &Judged) -> bool {
        let i = n.i;
        let me = self.notes[i];
        let Some(prev) = self
            .notes
            .iter()
            .filter(|m| {
                m.index != i
                    && m.pitch == me.pitch
                    && m.start < me.start
                    && m.end > me.start - CHORD_GAP
            })
            .max_by(|a, b| a.start.total_cmp(&b.start))
        else {
            return false;
        };
        let Outcome::Played { pitch, peak: pp } = self.out[prev.index] else {
            return false;
        };
        if pitch != me.pitch {
            return false;
        }
        let mut others = n.others.clone();
        others.extend(
            notes_near(&self.sorted, pp.time, RISE_BEFORE, RISE_AFTER)
                .filter(|&j| j != prev.index && self.notes[j].pitch != me.pitch)
                .map(|j| self.notes[j].pitch),
        );
        // Written softer than the strike before: that much lower again (key velocity to
        // amplitude taken as squared, the usual MIDI convention).
        let softer =
            (40.0 * (me.velocity.max(1) as f32 / prev.velocity.max(1) as f32).log10()).min(0.0);
        pf.reattack_db(pp.frame, n.frame_tc, n.p, &others)
            .is_some_and(|db| db < -REATTACK_DB + softer)
    }

    /// Over a held lower octave or twelfth (not struck with it) the note's harmonics are all
    /// the held string's, whose beating keeps the median rise low; one of its two lowest
    /// harmonics rising clearly is its attack.
    fn low_rise(&self, pf: &mut pitchfit::PitchFit, n: &Judged) -> bool {
        pf.rise_levels(n.frame_tc, n.p, &n.others)
            .iter()
            .any(|&(h, db)| h <= 2 && db >= CLEAR_RISE_DB)
    }

    /// A repeated chord: keys struck again together get a like attack. A held key whose flux
    /// peak is under [`FAINT_REPEAT`] of its strongest struck-again mate's and whose own
    /// harmonics do not rise at all was not struck again (its peak is the mates' attacks in
    /// its partials).
    fn faint_repeat(&self, pf: &mut pitchfit::PitchFit, n: &Judged) -> bool {
        let Outcome::Played { peak, .. } = self.out[n.i] else {
            return false;
        };
        let mate = n
            .chord
            .iter()
            .filter(|&&j| j != n.i && self.same_key(j))
            .filter_map(|&j| match self.out[j] {
                Outcome::Played { peak: q, .. } => Some(q.value),
                Outcome::Missed => None,
            })
            .fold(0.0f32, f32::max);
        self.held_to(n.i)
            && peak.value < FAINT_REPEAT * mate
            && pf
                .rise_db(n.frame_tc, n.p, &n.others)
                .is_some_and(|db| db < 0.0)
    }

    /// Near the threshold, no rule of thumb: a note whose own harmonics clearly rise (a real
    /// attack of its own) and that no semitone neighbour rivals was played; the fit gave part
    /// of its energy to chord partners (FluidR3 F4 in a Bb chord).
    fn clear_attack(&self, pf: &mut pitchfit::PitchFit, n: &Judged, a: [f32; 3]) -> bool {
        let Outcome::Played { peak, .. } = self.out[n.i] else {
            return false;
        };
        (peak.time - n.tc).abs() <= AT_CHORD
            && !self.borrowed(n)
            && a[1] < n.thr
            && a[1] >= NEAR_THR * n.thr
            && !self.restrike(n.i)
            && !self.covered(n.i, n.chord)
            && lone(a)
            && pf
                .rise_db(n.frame_tc, n.p, &n.others)
                .is_some_and(|db| db >= CLEAR_RISE_DB)
    }

    /// The verdict at the chord. A borrowed note's own harmonics must not clearly fall there
    /// (a fit share alone may be a neighbour's leak, and a key struck there does not decay)
    /// and no neighbour counts. Otherwise a neighbour that is an upper harmonic of a much
    /// stronger chord note is that note's partial, not a wrong key; and a rule of thumb vouches
    /// for a note the fit cannot see, not against a neighbour it does see: one
    /// [`RAISED_RIVAL`] times the raised activation, twice the `fitted` one, whose own
    /// harmonics clearly rise (an attack of its own) is the key struck.
    fn verdict_at_chord(
        &self,
        pf: &mut pitchfit::PitchFit,
        fits: &ChordFits,
        n: &Judged,
        a: [f32; 3],
        fitted: f32,
    ) -> Option<Option<u8>> {
        let e = fits.notes[n.i].as_ref()?;
        if self.borrowed(n) {
            return verdict(
                a,
                [true, false, true],
                n.thr.max(BORROW_REL * fits.max[e.chord]),
                [a[1]; 3],
            )
            .filter(|_| {
                pf.rise_db(n.frame_tc, n.p, &n.others)
                    .is_none_or(|db| db > -CLEAR_RISE_DB)
            });
        }
        let mut claimed = e.claimed;
        for k in [0, 2] {
            claimed[k] |= n.chord.iter().any(|&j| {
                j != n.i
                    && on_harmonic_of(n.qs[k], self.notes[j].pitch)
                    && fits.notes[j]
                        .as_ref()
                        .is_some_and(|ej| ej.a[1] >= HARMONIC_CLAIM * a[k])
            });
        }
        let mut cmp = [a[1]; 3];
        if fitted < a[1] {
            for k in [0, 2] {
                if a[k] > RAISED_RIVAL * a[1]
                    && pf
                        .rise_db(n.frame_tc, n.qs[k], &n.others)
                        .is_some_and(|db| db >= CLEAR_RISE_DB)
                {
                    cmp[k] = fitted.max(0.5 * a[1]);
                }
            }
        }
        verdict(a, claimed, n.thr, cmp)
    }

    /// Not there at its peak, which lies off the predicted time: the note fitted at its
    /// predicted time. Played there means an onset of its own there: a real flux peak of the
    /// pitch, not weaker than a later one in the long window (whose attack the fit also holds).
    fn retry_at_predicted(
        &self,
        pf: &mut pitchfit::PitchFit,
        n: &Judged,
        typical: f32,
    ) -> Option<Option<u8>> {
        let (i, p, f) = (n.i, n.p, self.f);
        let near: Vec<usize> = notes_near(
            &self.sorted,
            self.centers[i],
            NUISANCE_BEFORE,
            NUISANCE_AFTER,
        )
        .collect();
        let frame = f.frame_at(self.centers[i]).max(0) as usize;
        let fit = chord_fit(
            pf,
            frame,
            &[p],
            near.iter()
                .map(|&j| self.notes[j].pitch)
                .chain(self.extras_near(self.centers[i], NUISANCE_BEFORE, NUISANCE_AFTER)),
        );
        let claimed =
            n.qs.map(|q| q != p && near.iter().any(|&j| self.notes[j].pitch == q));
        let mut a = n.qs.map(|q| fit.get(q));
        if self.follow(i, self.centers[i]) {
            a[1] = a[1].min(self.flux_at(p, self.centers[i], typical));
        }
        let w = verdict(a, claimed, n.thr, [a[1]; 3])?;
        let q = w.map_or(p, |k| n.qs[k as usize]);
        let c = f.frame_at(self.centers[i]);
        let here = peaks(f, q, c - 3, c + 3)
            .map(|pk| pk.value)
            .fold(0.0f32, f32::max);
        let later = peaks(f, q, c + 4, c + EXTRA_LOOKAHEAD)
            .map(|pk| pk.value)
            .fold(0.0f32, f32::max);
        if here < RETRY_FLUX * self.strength || (w.is_some() && here < later) {
            return None;
        }
        Some(w)
    }

    /// Whether key `q`'s attack lies later in the long window after `t` than at `t`: its
    /// short-window flux peak at `t` is under [`LATER_NEIGHBOUR`] of its strongest one later
    /// (the next note struck a semitone off; the peak here is this onset's attack leaking
    /// into it). Dev seeds: false wrong pitches 30 -> 12 (15 of them were this), dropped and
    /// extra notes +2 and +1.
    fn attacks_later(&self, q: u8, t: f64) -> bool {
        let c = self.f.frame_at(t);
        let best = |from: isize, to: isize| {
            peaks(self.f, q, from, to)
                .map(|pk| pk.value)
                .fold(0.0f32, f32::max)
        };
        best(c - 3, c + 3) < LATER_NEIGHBOUR * best(c + 4, c + EXTRA_LOOKAHEAD)
    }

    /// The wrong pitch's own onset peak nearest `at`, if it lies within [`WRONG_OFF`] of the
    /// note's predicted time (farther, it is another note: an extra one).
    fn wrong_onset(&self, n: &Judged, k: u8, at: f64) -> Option<Peak> {
        let c = self.f.frame_at(at);
        peaks(self.f, n.qs[k as usize], c - 4, c + 4)
            .min_by(|x, y| (x.time - at).abs().total_cmp(&(y.time - at).abs()))
            .filter(|pk| (pk.time - self.centers[n.i]).abs() <= WRONG_OFF)
    }

    /// Judges note `i`: played (its peak, or a synthetic one at the judged time), played a
    /// semitone off (the wrong key's own onset), or missed.
    fn judge(&self, pf: &mut pitchfit::PitchFit, fits: &ChordFits, i: usize) -> Outcome {
        let Some(e) = &fits.notes[i] else {
            return Outcome::Missed;
        };
        let p = self.notes[i].pitch;
        let tc = fits.time[e.chord];
        let n = Judged {
            i,
            p,
            qs: [p.saturating_sub(1), p, p + 1],
            chord: &fits.members[e.chord],
            thr: (REL_CHORD * fits.max[e.chord]).max(REL_TYPICAL * fits.typical),
            tc,
            frame_tc: self.f.frame_at(tc).max(0) as usize,
            others: notes_near(&self.sorted, tc, RISE_BEFORE, RISE_AFTER)
                .filter(|&j| j != i && self.notes[j].pitch != p)
                .map(|j| self.notes[j].pitch)
                .chain(
                    self.extras_near(tc, RISE_BEFORE, RISE_AFTER)
                        .filter(|&q| q != p),
                )
                .collect(),
        };
        let mut a = e.a;
        if self.follow(i, tc) {
            a[1] = a[1].min(self.flux_at(p, tc, fits.typical));
        }
        let fitted = a[1];
        if let Some(a1) = self.vouched(pf, &n, a, fits.typical) {
            a[1] = a1;
        }
        if self.clear_attack(pf, &n, a) {
            a[1] = n.thr;
        }
        let mut v = self.verdict_at_chord(pf, fits, &n, a, fitted);
        // A neighbour whose attack lies later in the long window was not struck here.
        if let Some(Some(k)) = v
            && self.attacks_later(n.qs[k as usize], tc)
        {
            v = verdict(a, [true, false, true], n.thr, [a[1]; 3]);
        }
        // A wrong pitch with no onset of its own there, judged at a peak off the predicted
        // time: that peak was another onset's; try the predicted time as well.
        let off = (self.eval_t[i] - self.centers[i]).abs() > BORROW_OFF;
        if let Some(Some(k)) = v
            && off
        {
            let c = self.f.frame_at(tc);
            let own = peaks(self.f, n.qs[k as usize], c - 4, c + 4)
                .min_by(|x, y| (x.time - tc).abs().total_cmp(&(y.time - tc).abs()));
            if own.is_none_or(|pk| (pk.time - self.centers[i]).abs() > WRONG_OFF) {
                v = None;
            }
        }
        let mut at = tc;
        // Played at a peak this far off its time: that peak is another onset (the next strike
        // of the key, a neighbour's), so it is judged at its time as well.
        let far = (self.eval_t[i] - self.centers[i]).abs() > FAR_OFF;
        if (v.is_none() && off) || (v == Some(None) && far) {
            v = self.retry_at_predicted(pf, &n, fits.typical);
            at = self.centers[i];
        }
        match v {
            Some(None) => match self.out[i] {
                Outcome::Played { peak, .. } if (peak.time - at).abs() <= AT_CHORD => self.out[i],
                _ => Outcome::Played {
                    pitch: p,
                    peak: Peak {
                        frame: self.f.frame_at(at).max(0) as usize,
                        time: at,
                        value: e.a[1],
                    },
                },
            },
            Some(Some(k)) => match self.wrong_onset(&n, k, at) {
                Some(pk) => Outcome::Played {
                    pitch: n.qs[k as usize],
                    peak: pk,
                },
                None => Outcome::Missed,
            },
            None => Outcome::Missed,
        }
    }
}

/// No semitone neighbour has [`LONE_NEIGHBOUR`] of the note's activation (a neighbour that
/// strong may be the key really struck).
fn lone(a: [f32; 3]) -> bool {
    a[0].max(a[2]) < LONE_NEIGHBOUR * a[1]
}
