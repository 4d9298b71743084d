//! Score-informed performance analysis: how a recording compares with the exercise's MIDI.
//!
//! Pipeline ([`analyze`]):
//! 1. Features of the recording ([`features`]): mono, decimated to ~22 kHz, 2048-point STFT
//!    every 10 ms, log magnitude, spectral flux (SuperFlux-style reference), and the
//!    *harmonic salience of the flux* per MIDI pitch: for pitch p the weighted sum over 8
//!    harmonics of the largest new energy within half a semitone of each harmonic. A note
//!    onset of pitch p is a peak of that curve; it works with several notes at once because
//!    each expected note is looked for at its own pitch.
//! 2. Coarse alignment ([`align`]): subsequence DTW (free start and end in the recording, so
//!    leading silence is fine) on 100 ms frames of chroma + onset chroma, against the same
//!    features synthesised from the expected notes; a robust line through the path gives a
//!    first tempo ratio and offset.
//! 3. Note matching, twice: every expected note takes the best salience peak of its pitch near
//!    its predicted time (proximity-weighted, each peak used once). The first pass refits the
//!    line on the matched notes; the second uses it (plus a slowly varying local correction).
//!    A note whose pitch shows no new energy while a pitch a semitone or a tone away does
//!    (and no other expected note explains that pitch) is a wrong pitch; nothing at all is a
//!    missed note.
//! 4. Extra notes: onsets whose new energy is not explained by the harmonics of any matched
//!    note starting at the same time.
//! 5. Final robust fit of played against expected times = global tempo ratio and offset; the
//!    timing deviation of each note is measured from that line, so `rhythm_accuracy` is
//!    about timing *after removing the global tempo ratio and offset*.

pub mod align;
pub mod features;

use std::path::PathBuf;

use serde::Serialize;

use crate::midi::{MidiError, MidiSong};
use features::Features;

/// A note of the expected score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedNote {
    /// Index in the score's note list (time order).
    pub index: usize,
    /// MIDI pitch.
    pub pitch: u8,
    /// Onset, seconds in the MIDI file.
    pub start: f64,
    /// Release, seconds in the MIDI file.
    pub end: f64,
    /// Note-on velocity 1..127.
    pub velocity: u8,
}

/// The pitched notes of a song (percussion channel 10 left out), in onset order. Unisons (same
/// pitch within 30 ms, e.g. two voices sharing a note) count once.
pub fn expected_notes(song: &MidiSong) -> Vec<ExpectedNote> {
    let mut open: std::collections::HashMap<(u8, u8), Vec<(f64, u8)>> = Default::default();
    let mut notes = Vec::new();
    for e in &song.events {
        if e.channel == 9 {
            continue;
        }
        let key = (e.channel, e.data1);
        match e.command {
            0x90 if e.data2 > 0 => open.entry(key).or_default().push((e.time, e.data2)),
            0x80 | 0x90 => {
                if let Some(v) = open.get_mut(&key) {
                    if !v.is_empty() {
                        let (start, vel) = v.remove(0);
                        notes.push((start, e.time.max(start), e.data1, vel));
                    }
                }
            }
            _ => {}
        }
    }
    for ((_, key), v) in open {
        for (start, vel) in v {
            notes.push((start, song.end_time.max(start), key, vel));
        }
    }
    notes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    let mut out: Vec<ExpectedNote> = Vec::with_capacity(notes.len());
    for (start, end, pitch, velocity) in notes {
        let dup = out
            .iter()
            .rev()
            .take_while(|n| start - n.start < 0.03)
            .any(|n| n.pitch == pitch);
        if !dup {
            out.push(ExpectedNote {
                index: out.len(),
                pitch,
                start,
                end,
                velocity,
            });
        }
    }
    out
}

/// Settings of the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOptions {
    /// A matched note is on time when its deviation from the fitted line is at most this many
    /// milliseconds. Default 50.
    pub rhythm_tolerance_ms: f64,
    /// Search half-window around each predicted onset, seconds. Default 0.25.
    pub search_window: f64,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            rhythm_tolerance_ms: 50.0,
            search_window: 0.25,
        }
    }
}

/// Timing of one matched note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingDeviation {
    /// Index in the expected note list.
    pub note_index: usize,
    /// Onset in the MIDI file, seconds.
    pub expected_time: f64,
    /// Where the fitted tempo line puts that onset in the recording, seconds.
    pub aligned_expected_time: f64,
    /// Detected onset in the recording, seconds.
    pub played_time: f64,
    /// `played_time - aligned_expected_time`, milliseconds (positive = late).
    pub deviation_ms: f64,
    pub expected_pitch: u8,
    pub played_pitch: u8,
    /// `|deviation_ms| <= rhythm_tolerance_ms`.
    pub on_time: bool,
}

/// An expected note that was not played.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissedNote {
    pub note_index: usize,
    pub expected_time: f64,
    /// Where it should have been in the recording, seconds.
    pub aligned_expected_time: f64,
    pub pitch: u8,
}

/// A note played at another pitch than written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrongPitchNote {
    pub note_index: usize,
    pub expected_time: f64,
    pub played_time: f64,
    pub expected_pitch: u8,
    pub played_pitch: u8,
}

/// A played note that the score does not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtraNote {
    /// Onset in the recording, seconds.
    pub played_time: f64,
    /// Where that is in the score's time (through the fitted line), seconds.
    pub score_time: f64,
    pub pitch: u8,
}

/// The result of [`analyze`]; serialises to the JSON of `analyze_performance`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisReport {
    /// Which implementation ran: always `"cpu"` (there is no GPU path).
    pub backend: &'static str,
    /// Notes played at the written pitch / notes expected (0..1).
    pub pitch_accuracy: f64,
    /// Matched notes within the tolerance / matched notes (0..1), after removing the global
    /// tempo ratio and offset.
    pub rhythm_accuracy: f64,
    /// What `rhythm_accuracy` measures, in words.
    pub rhythm_method: String,
    pub rhythm_tolerance_ms: f64,
    /// Mean |deviation| of the matched notes, milliseconds.
    pub mean_abs_deviation_ms: f64,
    /// Expected notes found (right or wrong pitch) plus extra notes.
    pub notes_played: usize,
    /// Pitched notes in the MIDI file (unisons counted once).
    pub notes_expected: usize,
    /// Expected notes found in the recording (right or wrong pitch).
    pub notes_matched: usize,
    /// Recording time per score time (1.11 = played about 10 % slower).
    pub tempo_ratio: f64,
    /// Recording time of the score's time 0, seconds (leading silence shows here).
    pub offset_seconds: f64,
    pub timing_deviations: Vec<TimingDeviation>,
    pub missed_notes: Vec<MissedNote>,
    pub extra_notes: Vec<ExtraNote>,
    pub wrong_pitch_notes: Vec<WrongPitchNote>,
    /// Length of the recording, seconds.
    pub recording_seconds: f64,
    pub warnings: Vec<String>,
}

impl AnalysisReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Why an analysis could not run.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The recording could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The recording exists but cannot be decoded.
    #[error("{}: {msg}", path.display())]
    Decode { path: PathBuf, msg: String },
    /// The MIDI file is missing or invalid.
    #[error(transparent)]
    Midi(#[from] MidiError),
    /// Nothing to compare (no pitched notes, empty recording) or bad settings.
    #[error("cannot analyse: {0}")]
    Input(String),
}

impl AnalysisError {
    /// True when a named file does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            AnalysisError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            AnalysisError::Midi(m) => m.is_not_found(),
            _ => false,
        }
    }
}

/// Decodes `recording`, loads `midi` and runs [`analyze`].
#[cfg(feature = "decode")]
pub fn analyze_files(
    recording: &std::path::Path,
    midi: &std::path::Path,
    options: &AnalysisOptions,
) -> Result<AnalysisReport, AnalysisError> {
    let song = MidiSong::load(midi)?;
    let audio = crate::decode::decode_file(recording).map_err(|e| match e {
        crate::decode::DecodeError::Io(source) => AnalysisError::Io {
            path: recording.to_path_buf(),
            source,
        },
        crate::decode::DecodeError::Format(msg) => AnalysisError::Decode {
            path: recording.to_path_buf(),
            msg,
        },
    })?;
    let mut report = analyze(
        &audio.samples,
        audio.channels,
        audio.sample_rate,
        &song,
        options,
    )?;
    report.warnings.extend(song.warnings.iter().cloned());
    Ok(report)
}

/// One played onset: frame (interpolated) and salience.
#[derive(Debug, Clone, Copy)]
struct Peak {
    frame: usize,
    time: f64,
    value: f32,
}

/// Result of matching one note.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Played { pitch: u8, peak: Peak },
    Missed,
}

/// Compares a recording (interleaved, `channels`, `rate`) with the expected song.
pub fn analyze(
    samples: &[f32],
    channels: usize,
    rate: u32,
    song: &MidiSong,
    options: &AnalysisOptions,
) -> Result<AnalysisReport, AnalysisError> {
    if rate < 8000 {
        return Err(AnalysisError::Input(format!(
            "sample rate {rate} Hz is too low (>= 8000 Hz needed)"
        )));
    }
    if !(options.rhythm_tolerance_ms > 0.0 && options.search_window > 0.02) {
        return Err(AnalysisError::Input(
            "rhythm_tolerance_ms must be > 0 and search_window > 0.02 s".into(),
        ));
    }
    let notes = expected_notes(song);
    if notes.is_empty() {
        return Err(AnalysisError::Input(format!(
            "{}: the MIDI file has no pitched notes",
            song.path.display()
        )));
    }
    let mono = features::mono(samples, channels);
    let recording_seconds = mono.len() as f64 / rate as f64;
    if mono.len() < rate as usize / 10 {
        return Err(AnalysisError::Input(
            "the recording is shorter than 0.1 s".into(),
        ));
    }
    let f = features::compute(&mono, rate);
    let mut warnings = Vec::new();

    // 2. Coarse alignment.
    let (line_a, line_b) = coarse_line(&f, &notes);

    // 3. Matching, pass 1 (wide window around the DTW line).
    let w = options.search_window;
    let centers: Vec<f64> = notes.iter().map(|n| line_a * n.start + line_b).collect();
    let pass1 = match_notes(&f, &notes, &centers, w * 1.4, 0.2, None);
    let strength = typical_strength(&pass1);
    // Refit on the notes found at their own pitch.
    let pts: Vec<(f64, f64)> = notes
        .iter()
        .zip(&pass1)
        .filter_map(|(n, o)| match o {
            Outcome::Played { pitch, peak } if *pitch == n.pitch => Some((n.start, peak.time)),
            _ => None,
        })
        .collect();
    let (a1, b1) = if pts.len() >= 2 {
        let (a, b, _) = align::robust_line(&pts, 0.03);
        (a, b)
    } else {
        (line_a, line_b)
    };
    // Slow local correction: median residual of the pass-1 notes within +-3 s.
    let residual: Vec<(f64, f64)> = pts.iter().map(|&(s, t)| (s, t - (a1 * s + b1))).collect();
    let centers: Vec<f64> = notes
        .iter()
        .map(|n| {
            let mut near: Vec<f64> = residual
                .iter()
                .filter(|(s, _)| (s - n.start).abs() <= 3.0)
                .map(|&(_, r)| r)
                .collect();
            let corr = if near.len() >= 5 {
                near.sort_by(|a, b| a.total_cmp(b));
                near[near.len() / 2].clamp(-0.3, 0.3)
            } else {
                0.0
            };
            a1 * n.start + b1 + corr
        })
        .collect();
    let tau = 0.12 * strength;
    let pass2 = match_notes(&f, &notes, &centers, w, 0.12, Some(tau));

    // 5. Final line through the notes at their own pitch.
    let pts: Vec<(f64, f64)> = notes
        .iter()
        .zip(&pass2)
        .filter_map(|(n, o)| match o {
            Outcome::Played { pitch, peak } if *pitch == n.pitch => Some((n.start, peak.time)),
            _ => None,
        })
        .collect();
    let (ratio, offset) = if pts.len() >= 2 {
        let (a, b, _) = align::robust_line(&pts, 0.02);
        (a, b)
    } else {
        warnings.push("fewer than two notes recognised: tempo ratio not estimated".into());
        (a1, b1)
    };

    let mut timing = Vec::new();
    let mut missed = Vec::new();
    let mut wrong = Vec::new();
    let mut played = Vec::new(); // (time, pitch) of every matched onset
    for (n, o) in notes.iter().zip(&pass2) {
        let aligned = ratio * n.start + offset;
        match *o {
            Outcome::Played { pitch, peak } => {
                let dev = (peak.time - aligned) * 1000.0;
                timing.push(TimingDeviation {
                    note_index: n.index,
                    expected_time: n.start,
                    aligned_expected_time: aligned,
                    played_time: peak.time,
                    deviation_ms: dev,
                    expected_pitch: n.pitch,
                    played_pitch: pitch,
                    on_time: dev.abs() <= options.rhythm_tolerance_ms,
                });
                if pitch != n.pitch {
                    wrong.push(WrongPitchNote {
                        note_index: n.index,
                        expected_time: n.start,
                        played_time: peak.time,
                        expected_pitch: n.pitch,
                        played_pitch: pitch,
                    });
                }
                played.push((peak.frame, pitch));
            }
            Outcome::Missed => missed.push(MissedNote {
                note_index: n.index,
                expected_time: n.start,
                aligned_expected_time: aligned,
                pitch: n.pitch,
            }),
        }
    }

    // 4. Extra notes (after the final line, to report their score time).
    let extra: Vec<ExtraNote> = find_extra(&f, &played, strength)
        .into_iter()
        .map(|(t, p)| ExtraNote {
            played_time: t,
            score_time: if ratio.abs() > 1e-9 {
                (t - offset) / ratio
            } else {
                0.0
            },
            pitch: p,
        })
        .collect();

    let matched = timing.len();
    let right_pitch = matched - wrong.len();
    let on_time = timing.iter().filter(|d| d.on_time).count();
    let mean_abs = if matched > 0 {
        timing.iter().map(|d| d.deviation_ms.abs()).sum::<f64>() / matched as f64
    } else {
        0.0
    };
    Ok(AnalysisReport {
        backend: "cpu",
        pitch_accuracy: right_pitch as f64 / notes.len() as f64,
        rhythm_accuracy: if matched > 0 {
            on_time as f64 / matched as f64
        } else {
            0.0
        },
        rhythm_method: format!(
            "share of matched notes whose onset lies within {} ms of the expected time after removing the global tempo ratio ({ratio:.4}) and offset ({offset:.3} s) fitted on all notes",
            options.rhythm_tolerance_ms
        ),
        rhythm_tolerance_ms: options.rhythm_tolerance_ms,
        mean_abs_deviation_ms: mean_abs,
        notes_played: matched + extra.len(),
        notes_expected: notes.len(),
        notes_matched: matched,
        tempo_ratio: ratio,
        offset_seconds: offset,
        timing_deviations: timing,
        missed_notes: missed,
        extra_notes: extra,
        wrong_pitch_notes: wrong,
        recording_seconds,
        warnings,
    })
}

/// Frames per DTW frame (about 100 ms).
const COARSE: usize = 10;

/// Pitch classes and weights of the first six harmonics.
const HARM_PC: [(i32, f32); 6] = [
    (0, 1.0),
    (0, 0.5),
    (7, 0.33),
    (0, 0.25),
    (4, 0.2),
    (7, 0.16),
];

/// DTW of synthesised score features against the recording; robust line through the path at
/// the note onsets. Returns `(ratio, offset)`.
fn coarse_line(f: &Features, notes: &[ExpectedNote]) -> (f64, f64) {
    let dt = f.hop_s * COARSE as f64;
    // Recording: chroma and onset chroma summed over COARSE frames, floor removed.
    let rn = f.frames.div_ceil(COARSE);
    let mut rec = vec![[0.0f32; 24]; rn];
    for t in 0..f.frames {
        let r = &mut rec[t / COARSE];
        for c in 0..12 {
            r[c] += f.chroma[t * 12 + c];
            r[12 + c] += f.onset_chroma[t * 12 + c];
        }
    }
    for r in &mut rec {
        let m1 = r[..12].iter().cloned().fold(f32::INFINITY, f32::min);
        let m2 = r[12..].iter().cloned().fold(f32::INFINITY, f32::min);
        for c in 0..12 {
            r[c] -= m1;
            r[12 + c] -= m2;
        }
    }
    // Score: active notes with a decaying weight, onsets in their frame.
    let end = notes.iter().map(|n| n.end).fold(0.0, f64::max) + 0.5;
    let sn = ((end / dt).ceil() as usize).max(1);
    let mut score = vec![[0.0f32; 24]; sn];
    for n in notes {
        let v = n.velocity as f32 / 127.0;
        let i0 = (n.start / dt).floor() as usize;
        let i1 = (((n.end + 0.2) / dt).ceil() as usize).min(sn);
        for (i, s) in score.iter_mut().enumerate().take(i1).skip(i0) {
            let age = ((i as f64 + 0.5) * dt - n.start).max(0.0);
            let w = v * (-age / 1.5).exp() as f32;
            for &(d, hw) in &HARM_PC {
                s[((n.pitch as i32 + d).rem_euclid(12)) as usize] += w * hw;
            }
        }
        if i0 < sn {
            for &(d, hw) in &HARM_PC {
                score[i0][12 + ((n.pitch as i32 + d).rem_euclid(12)) as usize] += v * hw;
            }
        }
    }
    let map = align::dtw_map(&align::Seq { feats: score }, &align::Seq { feats: rec });
    // Score time s -> recording time, through the DTW frames (centre of frame i: (i+0.5) dt;
    // recording frame j holds fine frames centred on average at (j*COARSE + 4.5) hop).
    let rec_time = |s: f64| {
        let x = (s / dt - 0.5).clamp(0.0, (map.len() - 1) as f64);
        let i = x.floor() as usize;
        let fr = x - i as f64;
        let j = if i + 1 < map.len() {
            map[i] * (1.0 - fr) + map[i + 1] * fr
        } else {
            map[i]
        };
        (j * COARSE as f64 + (COARSE as f64 - 1.0) / 2.0) * f.hop_s
    };
    let pts: Vec<(f64, f64)> = notes.iter().map(|n| (n.start, rec_time(n.start))).collect();
    let (a, b, _) = align::robust_line(&pts, 0.15);
    if a.is_finite() && b.is_finite() && a > 0.2 && a < 5.0 {
        (a, b)
    } else {
        (1.0, pts.first().map_or(0.0, |p| p.1 - p.0))
    }
}

/// Local maxima of the salience of `pitch` in the frame range, with values.
fn peaks(f: &Features, pitch: u8, lo: isize, hi: isize) -> impl Iterator<Item = Peak> + '_ {
    let lo = lo.max(1) as usize;
    let hi = (hi.max(0) as usize).min(f.frames.saturating_sub(2));
    (lo..=hi).filter_map(move |t| {
        let v = f.pf(t, pitch);
        let (a, c) = (f.pf(t - 1, pitch), f.pf(t + 1, pitch));
        if v > 0.0
            && v >= a
            && v > c
            && v >= f.pf(t.saturating_sub(2), pitch)
            && v > f.pf(t + 2, pitch)
        {
            // Parabolic interpolation of the peak position.
            let den = a - 2.0 * v + c;
            let d = if den.abs() > 1e-12 {
                (0.5 * (a - c) / den).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            Some(Peak {
                frame: t,
                time: (t as f64 + d as f64) * f.hop_s,
                value: v,
            })
        } else {
            None
        }
    })
}

/// Median salience of the notes found at their own pitch (the "typical note" level).
fn typical_strength(out: &[Outcome]) -> f32 {
    let mut v: Vec<f32> = out
        .iter()
        .filter_map(|o| match o {
            Outcome::Played { peak, .. } => Some(peak.value),
            _ => None,
        })
        .collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2].max(1e-6)
}

/// Matches every expected note to a salience peak near its predicted time (`centers`),
/// greedily by proximity-weighted salience, each peak used by one note. With `tau`
/// (presence threshold) it also decides wrong pitches and missed notes; without it every
/// note takes its best peak if it has one.
fn match_notes(
    f: &Features,
    notes: &[ExpectedNote],
    centers: &[f64],
    window: f64,
    sigma: f64,
    tau: Option<f32>,
) -> Vec<Outcome> {
    let wf = (window / f.hop_s).ceil() as isize;
    let gauss = |dt: f64| (-0.5 * (dt / sigma).powi(2)).exp() as f32;
    // (score, note, peak) at the written pitch.
    let mut cands: Vec<(f32, usize, Peak)> = Vec::new();
    for (i, n) in notes.iter().enumerate() {
        let c = f.frame_at(centers[i]);
        for p in peaks(f, n.pitch, c - wf, c + wf) {
            cands.push((p.value * gauss(p.time - centers[i]), i, p));
        }
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = vec![Outcome::Missed; notes.len()];
    // Taken peaks per pitch: frames (a peak within 3 frames counts as the same onset).
    let mut taken: std::collections::HashMap<u8, Vec<usize>> = Default::default();
    let is_taken = |taken: &std::collections::HashMap<u8, Vec<usize>>, p: u8, fr: usize| {
        taken
            .get(&p)
            .is_some_and(|v| v.iter().any(|&x| x.abs_diff(fr) <= 3))
    };
    for (_, i, pk) in cands {
        if matches!(out[i], Outcome::Played { .. }) || is_taken(&taken, notes[i].pitch, pk.frame) {
            continue;
        }
        out[i] = Outcome::Played {
            pitch: notes[i].pitch,
            peak: pk,
        };
        taken.entry(notes[i].pitch).or_default().push(pk.frame);
    }
    let Some(tau) = tau else {
        return out;
    };
    // Wrong pitch / missed decisions, in order of salience so strong notes claim first.
    for i in 0..notes.len() {
        let n = notes[i];
        let v = match out[i] {
            Outcome::Played { peak, .. } => peak.value,
            Outcome::Missed => 0.0,
        };
        // Best neighbouring pitch that no nearby expected note explains.
        let mut best: Option<(u8, Peak, f32)> = None;
        for d in [-2i32, -1, 1, 2] {
            let q = n.pitch as i32 + d;
            if !(features::PITCH_LO as i32..=features::PITCH_HI as i32).contains(&q) {
                continue;
            }
            let q = q as u8;
            let explained = notes
                .iter()
                .any(|m| m.pitch == q && (centers[m.index] - centers[i]).abs() < window + 0.1);
            if explained {
                continue;
            }
            let c = f.frame_at(centers[i]);
            let wq = (0.6 * window / f.hop_s).ceil() as isize;
            for p in peaks(f, q, c - wq, c + wq) {
                if is_taken(&taken, q, p.frame) {
                    continue;
                }
                let s = p.value * gauss(p.time - centers[i]);
                if best.is_none_or(|(_, _, bs)| s > bs) {
                    best = Some((q, p, s));
                }
            }
        }
        if let Some((q, p, _)) = best {
            if p.value > tau && p.value > 1.6 * v {
                if let Outcome::Played { peak, .. } = out[i] {
                    // Release the peak at the written pitch.
                    if let Some(v) = taken.get_mut(&n.pitch) {
                        v.retain(|&x| x != peak.frame);
                    }
                }
                out[i] = Outcome::Played { pitch: q, peak: p };
                taken.entry(q).or_default().push(p.frame);
                continue;
            }
        }
        if v < tau {
            if let Outcome::Played { peak, .. } = out[i] {
                if let Some(v) = taken.get_mut(&n.pitch) {
                    v.retain(|&x| x != peak.frame);
                }
            }
            out[i] = Outcome::Missed;
        }
    }
    out
}

/// Onsets not explained by the matched notes: at each broadband onset peak, the new energy
/// left after removing the harmonics of every matched note that starts within 80 ms; a pitch
/// whose salience in that residue is strong (and peaks there in time) is an extra note.
fn find_extra(f: &Features, played: &[(usize, u8)], strength: f32) -> Vec<(f64, u8)> {
    let bins = f.bins;
    let near = (0.08 / f.hop_s).round() as usize;
    let thr = 0.3 * strength;
    let mut out: Vec<(f64, u8)> = Vec::new();
    let mut resid = vec![0.0f32; bins];
    let mut sal = vec![0.0f32; features::N_PITCH];
    // Broadband onset peaks (local maxima over +-3 frames).
    for t in 3..f.frames.saturating_sub(3) {
        let o = f.onset[t];
        if o <= 0.0 || (t - 3..=t + 3).any(|u| u != t && f.onset[u] > o) {
            continue;
        }
        // Residual new energy around t (max over t-1..t+1).
        for (k, r) in resid.iter_mut().enumerate() {
            *r = f.flux[(t - 1) * bins + k]
                .max(f.flux[t * bins + k])
                .max(f.flux[(t + 1) * bins + k]);
        }
        for &(fr, p) in played {
            if fr.abs_diff(t) <= near {
                for &(lo, hi) in f.pitch_ranges(p) {
                    if hi == 0 {
                        break;
                    }
                    // Mask half a semitone plus a bin each side (window leakage).
                    let lo = (lo as usize).saturating_sub(1);
                    let hi = (hi as usize + 1).min(bins - 1);
                    resid[lo..=hi].iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
        features::salience(&resid, &f.ranges, &mut sal);
        let (pi, &best) = sal
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        if best <= thr {
            continue;
        }
        let pitch = features::PITCH_LO + pi as u8;
        // The onset of that pitch: its own salience peak near t.
        let pk = peaks(f, pitch, t as isize - 4, t as isize + 4)
            .max_by(|a, b| a.value.total_cmp(&b.value));
        let Some(pk) = pk else { continue };
        if pk.value <= thr {
            continue;
        }
        if out
            .iter()
            .any(|&(tt, pp)| pp == pitch && (tt - pk.time).abs() < 0.1)
        {
            continue;
        }
        out.push((pk.time, pitch));
    }
    out
}
