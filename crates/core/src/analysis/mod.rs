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
//!    line on the matched notes; the second uses it (plus a slowly varying local correction)
//!    and gives each note's timing.
//! 4. Decisions (`pitchfit`): notes are grouped into chords by onset (30 ms); at each chord
//!    the new energy (long window after minus short window before) is fitted by NNLS with
//!    harmonic templates of the chord's pitches, their semitone neighbours and the notes
//!    sharing the windows. A note is played when its activation is a fair share of its
//!    chord's and of the typical note's; a neighbour twice as strong is a wrong pitch;
//!    otherwise missed. Restruck keys use their short-flux peak; a note whose harmonics all
//!    belong to a lower chord note (octave, twelfth) cannot be checked and counts as played;
//!    both rules need the note's own harmonics (those no note struck there shares) to rise
//!    at the onset (`PitchFit::rise_db`; over a held lower octave, whose beating
//!    masks the median, one of its two lowest harmonics rising 6 dB will do); a key held right
//!    up to the onset whose own harmonics fall 6 dB there was not struck again. A note at half
//!    its threshold or more whose own harmonics rise 6 dB counts as played; both need no
//!    semitone neighbour at half its activation. A rule raising a note's activation does not
//!    shield it from a neighbour the fit does see: one 1.5 times the raised and twice the
//!    fitted activation, with its own harmonics rising 6 dB, is the key struck. One onset
//!    serves one note: a note whose peak is another note's onset (borrowed) needs a strong
//!    attack of its own pitch there (its own harmonics not falling 6 dB), a retry at the
//!    predicted time needs its own flux peak, a wrong pitch needs its own onset, and two notes
//!    played at one pitch and time keep the better-placed one. A peak over 0.12 s off a note's
//!    predicted time, at a semitone neighbour's predicted time where the neighbour's own pitch
//!    is weaker, is that neighbour struck a semitone off: the note looks for its onset near its
//!    own predicted time instead. A peak off the predicted time on the fresh onset of a lower
//!    note written elsewhere, with a harmonic at the note's pitch, is that note's partial: no
//!    rule of thumb vouches for it. In a repeated chord, a held key whose flux peak is under
//!    0.3 of its strongest struck-again mate's and whose own harmonics do not rise was not
//!    struck again. A wrong pitch with no onset of its own at a peak off the predicted time is
//!    retried at that time. A note struck with its lower octave (twelfth, two octaves) peaks at
//!    that note's onset anyway; a stronger peak of its pitch within 0.15 s that no note sharing
//!    its partials (or a semitone off them) explains, written or by a stronger onset there, is
//!    its own attack and gives its timing.
//!    Extra notes: at every chord and every flux onset 25 ms or more from the chords, a fit
//!    with all pitches of the range; a strong activation no sounding note explains (not its
//!    pitch, not its harmonic, not a semitone leak of it or of a candidate twice as strong)
//!    whose own harmonics (those no sounding note's harmonic reaches, at the resolution of the
//!    low notes) bear out half its activation (also without the partials of a stronger
//!    candidate an octave, twelfth, ... above: the classic octave-error check), and whose
//!    strongest flux peak in the long window is at this onset (a later one is fitted at its
//!    own frame). Below A#2 it needs 1.5 times
//!    the activation (low strings and soundboard answer every chord attack a little).
//!    Such a note a semitone from a note judged missed (or judged played at this onset at a
//!    pitch the fit gives half its activation or less), within 100 ms of its time, is that
//!    note played a semitone off (a wrong pitch, not an extra note).
//!    Conversely a note judged a wrong pitch at an onset whose written key shows 0.7 of the
//!    typical note's activation there, with its own share and its own harmonics rising 6 dB,
//!    was played as written, and the neighbour is an extra note.
//!    Orphan onsets: a broadband attack (15 % of the typical chord's or more) with no note
//!    starting within 50 ms is a key struck again while it, or the note an octave or a twelfth
//!    below, still sounds (the fits cannot see it: the window before holds the same
//!    partials). The sounding key (or its octave, twelfth) with the strongest short-window flux
//!    there is the extra note; the same key within 150 ms of its decided onset, or a note
//!    judged missed written within 150 ms, was itself played there (late or early).
//! 5. Final robust fit of played against expected times = global tempo ratio and offset; the
//!    timing deviation of each note is measured from that line, so `rhythm_accuracy` is
//!    about timing *after removing the global tempo ratio and offset*.

pub mod align;
pub mod features;
mod pitchfit;

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
                if let Some(v) = open.get_mut(&key)
                    && !v.is_empty()
                {
                    let (start, vel) = v.remove(0);
                    notes.push((start, e.time.max(start), e.data1, vel));
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
    // Frames of the mono mix (mixed on the fly by the features).
    let mono_len = samples.len() / channels.max(1);
    let recording_seconds = mono_len as f64 / rate as f64;
    if mono_len < rate as usize / 10 {
        return Err(AnalysisError::Input(
            "the recording is shorter than 0.1 s".into(),
        ));
    }
    let f = features::compute_interleaved(samples, channels, rate);
    let mut warnings = Vec::new();

    // 2. Coarse alignment.
    let (line_a, line_b) = coarse_line(&f, &notes);

    // 3. Matching, pass 1 (wide window around the DTW line).
    let w = options.search_window;
    let centers: Vec<f64> = notes.iter().map(|n| line_a * n.start + line_b).collect();
    let pass1 = match_notes(&f, &notes, &centers, w * 1.4, 0.2);
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
    // Onset peaks of every note's own pitch near its refined time (the timing), then the
    // chord-wise template fits decide what was played.
    let peaks2 = match_notes(&f, &notes, &centers, w, 0.12);
    let mut pf = pitchfit::PitchFit::new(&f);
    let decided = decide(&f, &mut pf, &notes, &centers, &peaks2, strength);
    // The instrument, learned from the notes the first pass is sure of, shapes the templates.
    let learned = learn_profiles(&f, &mut pf, &notes, &decided);
    pf.adapt(&learned);

    // 4. Extra notes (and onsets that show a note struck later than decided).
    // Score-informed prior: extra notes are looked for within an octave of the written range.
    let lo = notes
        .iter()
        .map(|n| n.pitch)
        .min()
        .unwrap_or(features::PITCH_LO);
    let hi = notes
        .iter()
        .map(|n| n.pitch)
        .max()
        .unwrap_or(features::PITCH_HI);
    let range =
        lo.saturating_sub(12).max(pitchfit::FIT_PITCH_LO)..=(hi + 12).min(features::PITCH_HI);
    let scan = find_extra_nnls(&f, &mut pf, &notes, &centers, &decided, strength, range);
    let mut pass2 = decided.outcomes.clone();
    for &(i, pitch, peak) in &scan.retimed {
        pass2[i] = Outcome::Played { pitch, peak };
    }

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

    // Extra notes' score times come from the final line.
    let extra: Vec<ExtraNote> = scan
        .extra
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

/// A note teaches the instrument model only when no other note was decided (or written) within
/// this many seconds of its onset. Short (the long window is 186 ms) so that fast pieces
/// (Chopin's 16ths) teach too: `PitchFit::profile` also needs 60 % of the new energy at the
/// note's own harmonics, which rejects what a neighbour spoils.
const LEARN_ALONE: f64 = 0.06;

/// Harmonic profiles of the notes the first pass found at their written pitch with an onset
/// to themselves (see [`LEARN_ALONE`]), for [`pitchfit::PitchFit::adapt`].
fn learn_profiles(
    f: &Features,
    pf: &mut pitchfit::PitchFit,
    notes: &[ExpectedNote],
    decided: &Decided,
) -> Vec<(u8, [f32; pitchfit::MAX_H])> {
    let mut times: Vec<f64> = notes
        .iter()
        .zip(&decided.outcomes)
        .map(|(_, o)| match o {
            Outcome::Played { peak, .. } => peak.time,
            Outcome::Missed => f64::NAN,
        })
        .filter(|t| !t.is_nan())
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let mut out = Vec::new();
    for (i, (n, o)) in notes.iter().zip(&decided.outcomes).enumerate() {
        let Outcome::Played { pitch, peak } = *o else {
            continue;
        };
        if pitch != n.pitch {
            continue;
        }
        let lo = times.partition_point(|&t| t < peak.time - LEARN_ALONE);
        let crowded = times[lo..]
            .iter()
            .take_while(|&&t| t <= peak.time + LEARN_ALONE)
            .count()
            > 1
            || notes.iter().enumerate().any(|(j, m)| {
                j != i && m.pitch != n.pitch && (m.start - n.start).abs() <= LEARN_ALONE
            });
        if crowded {
            continue;
        }
        if let Some(prof) = pf.profile(f.frame_at(peak.time).max(0) as usize, pitch) {
            out.push((pitch, prof));
        }
    }
    out
}

/// Semitones from a note to its first harmonics (1 to 8).
const HARMONIC_STEPS: [i32; 8] = [0, 12, 19, 24, 28, 31, 34, 36];

/// Whether `p` sits on harmonic 2 to 8 of `base` (an octave, a twelfth, ... above it): every
/// partial of `p` is then one of `base`'s.
fn on_harmonic_of(p: u8, base: u8) -> bool {
    HARMONIC_STEPS[1..].contains(&(p as i32 - base as i32))
}

/// Frames per DTW frame (about 200 ms: the DTW only seeds the note search, and its cost
/// grows with the square of the frame count).
const COARSE: usize = 20;

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
        }
    }
    // Onsets over two DTW frames (half a frame either side), so an onset near a frame
    // boundary still meets the score's.
    for (j, r) in rec.iter_mut().enumerate() {
        let lo = (j * COARSE).saturating_sub(COARSE / 2);
        let hi = ((j + 1) * COARSE + COARSE / 2).min(f.frames);
        for t in lo..hi {
            for c in 0..12 {
                r[12 + c] += f.onset_chroma[t * 12 + c];
            }
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
        // Onsets spread like the recording's (two frames around the onset).
        let x = n.start / dt;
        let (k, fr) = (x.floor() as usize, x - x.floor());
        let spread = [
            (k, 1.0f32),
            (if fr < 0.5 { k.wrapping_sub(1) } else { k + 1 }, 1.0),
        ];
        for (i, w) in spread {
            if i < sn {
                for &(d, hw) in &HARM_PC {
                    score[i][12 + ((n.pitch as i32 + d).rem_euclid(12)) as usize] += v * hw * w;
                }
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

/// Matches every expected note to a salience peak of its pitch near its predicted time
/// (`centers`): per pitch, the order-preserving assignment with the largest total
/// proximity-weighted salience (dynamic programming), each peak used once. Every
/// note keeps its peak if it has one ([`decide`] judges them).
fn match_notes(
    f: &Features,
    notes: &[ExpectedNote],
    centers: &[f64],
    window: f64,
    sigma: f64,
) -> Vec<Outcome> {
    let wf = (window / f.hop_s).ceil() as isize;
    let gauss = |dt: f64| (-0.5 * (dt / sigma).powi(2)).exp() as f32;
    let mut out = vec![Outcome::Missed; notes.len()];
    let mut by_pitch: std::collections::BTreeMap<u8, Vec<usize>> = Default::default();
    for (i, n) in notes.iter().enumerate() {
        by_pitch.entry(n.pitch).or_default().push(i);
    }
    for (&pitch, idx) in &by_pitch {
        let mut idx = idx.clone();
        idx.sort_by(|&a, &b| centers[a].total_cmp(&centers[b]));
        // Independent clusters: notes more than two windows apart share no peak.
        let mut s = 0;
        while s < idx.len() {
            let mut e = s + 1;
            while e < idx.len() && centers[idx[e]] - centers[idx[e - 1]] <= 2.0 * window {
                e += 1;
            }
            let cl = &idx[s..e];
            let lo = f.frame_at(centers[cl[0]]) - wf;
            let hi = f.frame_at(centers[cl[cl.len() - 1]]) + wf;
            let pk: Vec<Peak> = peaks(f, pitch, lo, hi).collect();
            for (i, p) in assign(cl, &pk, |i, p| {
                let dt = p.time - centers[i];
                (dt.abs() <= window).then(|| p.value * gauss(dt))
            }) {
                out[i] = Outcome::Played { pitch, peak: p };
            }
            s = e;
        }
    }
    out
}

/// Order-preserving assignment of `items` (sorted) to `peaks` (sorted by time) maximising the
/// summed weight; `w(item, peak)` is `None` where a pair is not allowed.
fn assign(
    items: &[usize],
    peaks: &[Peak],
    w: impl Fn(usize, &Peak) -> Option<f32>,
) -> Vec<(usize, Peak)> {
    let (k, m) = (items.len(), peaks.len());
    if k == 0 || m == 0 {
        return Vec::new();
    }
    // d[i][j]: best total with the first i items and the first j peaks.
    let mut d = vec![0.0f32; (k + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in 1..=k {
        for j in 1..=m {
            let mut best = d[at(i - 1, j)].max(d[at(i, j - 1)]);
            if let Some(x) = w(items[i - 1], &peaks[j - 1]) {
                best = best.max(d[at(i - 1, j - 1)] + x);
            }
            d[at(i, j)] = best;
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (k, m);
    while i > 0 && j > 0 {
        if d[at(i, j)] == d[at(i - 1, j)] {
            i -= 1;
        } else if d[at(i, j)] == d[at(i, j - 1)] {
            j -= 1;
        } else {
            out.push((items[i - 1], peaks[j - 1]));
            i -= 1;
            j -= 1;
        }
    }
    out
}

/// Expected notes whose onsets lie within this of each other form one chord.
const CHORD_GAP: f64 = 0.03;
/// A note is played when its activation reaches this share of the strongest note of its chord
/// ...
const REL_CHORD: f32 = 0.2;
/// ... and this share of the typical note's activation (median over the piece).
const REL_TYPICAL: f32 = 0.2;
/// A neighbour a semitone away is the played pitch when its activation exceeds the written
/// pitch's by this factor.
const WRONG_RATIO: f32 = 2.0;
/// A neighbour this many times a note's activation raised by a rule of thumb (restruck,
/// covered), twice its fitted one and with a clear attack of its own, is a wrong pitch.
const RAISED_RIVAL: f32 = 1.5;
/// A restruck note's short-flux peak, relative to the typical note's, counts this much as its
/// activation relative to the typical one.
const RESTRIKE_TRUST: f32 = 1.0;
/// Extra notes: short-window flux salience of their onset relative to the typical note's.
const EXTRA_FLUX: f32 = 0.3;
/// A note whose onset peak lies this far (s) from its predicted time ...
const BORROW_OFF: f64 = 0.05;
/// ... on a chord with a note predicted this much closer (s) has borrowed that note's onset:
/// it needs this share of the chord's strongest activation.
const BORROW_MARGIN: f64 = 0.03;
const BORROW_REL: f32 = 0.35;
/// A semitone neighbour that is an upper harmonic of a chord note this many times stronger is
/// that note's partial.
const HARMONIC_CLAIM: f32 = 2.5;
/// Two notes played at one pitch within this (s) are one onset: it serves one note.
const EXCLUSIVE_GAP: f64 = 0.05;
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
/// A rise this large (dB) of the note's own harmonics is a clear attack of its own: it lets a
/// note at [`NEAR_THR`] of its threshold or more count, and one lowest harmonic rising this
/// much speaks for a note over a held lower octave.
const CLEAR_RISE_DB: f32 = 6.0;
/// Share of its threshold a note with a clear rise needs.
const NEAR_THR: f32 = 0.5;
/// Those two rules need every semitone neighbour below this share of the note's activation.
const LONE_NEIGHBOUR: f32 = 0.5;
/// A same-key restrike needs a short-window flux peak of this share of the typical note's.
const SAME_KEY_FLUX: f32 = 0.08;
/// Extra notes: flux onsets at least this far (s) from a chord onset get their own fit (an
/// extra note just before a chord lies in that chord's window before).
const EXTRA_AWAY: f64 = 0.025;
/// Extra notes: frames after the fitted onset frame searched for the note's own onset.
const EXTRA_LOOKAHEAD: isize = 15;
/// Extra notes: share of the activation its own harmonics (no sounding note's) must bear out.
const OWN_SHARE: f32 = 0.5;
/// Extra notes: activation relative to the typical note's.
const EXTRA_REL: f32 = 0.35;
/// A note judged a wrong pitch whose written key shows this many times the extra threshold (0.7
/// of the typical note's activation) was struck too: a struck semitone neighbour leaks only
/// about half its own activation into it, a key struck in earnest has near the typical one.
const WRITTEN_TOO_REL: f32 = 2.0;
/// Extra notes below this pitch (A#2) need [`LOW_EXTRA_REL`] times the extra threshold.
const LOW_EXTRA_PITCH: u8 = 46;
const LOW_EXTRA_REL: f32 = 1.5;
/// Notes starting this long before / after an onset share its long windows: their pitches
/// join its fit as candidates, so their energy is not taken for another note's.
const NUISANCE_BEFORE: f64 = 0.1;
const NUISANCE_AFTER: f64 = 0.15;
/// Orphan onsets: broadband onset strength of this share of the typical chord onset's, with
/// no note starting within `ORPHAN_CLEAR` seconds; the struck key's short-window flux peak
/// must reach `ORPHAN_FLUX` of the typical note's.
const ORPHAN_ONSET: f32 = 0.15;
const ORPHAN_CLEAR: f64 = 0.05;
const ORPHAN_FLUX: f32 = 0.1;
/// An orphan onset this soon (s) after a sounding note's decided onset is that note's own.
const RETIME_GAP: f64 = 0.15;
/// An extra note needs a free low harmonic with this share of its strongest new energy.
const OWN_LOW_SHARE: f32 = 0.3;
/// A held key struck again in a repeated chord needs this share of its strongest struck-again
/// mate's flux peak, unless its own harmonics rise (mates struck again reach 0.35 or more).
const FAINT_REPEAT: f32 = 0.3;
/// A wrong pitch lies at most this far (s) from the note's predicted time.
const WRONG_OFF: f64 = 0.1;
/// A note's onset peak this far (s) off its predicted time (beyond the matching's proximity
/// scale, the pass-2 sigma) on a semitone neighbour's predicted time may be that neighbour's.
const YIELD_OFF: f64 = 0.12;
/// How far from its predicted time a covered note's own attack is looked for (s).
const SHIFT_LOOK: f64 = 0.15;

/// One fit: candidate pitches and their activations.
struct Fit {
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
struct Decided {
    outcomes: Vec<Outcome>,
    /// Chord onset frames fitted.
    chord_frames: Vec<usize>,
    /// Median activation of the notes at their written pitch.
    typical: f32,
}

/// Decides every expected note from chord-wise harmonic-template fits (see [`pitchfit`]):
/// played, played a semitone off, or missed. `out`: each note's onset peak of its own pitch
/// (the timing), from [`match_notes`].
fn decide(
    f: &Features,
    pf: &mut pitchfit::PitchFit,
    notes: &[ExpectedNote],
    centers: &[f64],
    out: &[Outcome],
    strength: f32,
) -> Decided {
    let n = notes.len();
    // A peak far (beyond a plain timing error) off a note's predicted time, right at the predicted time of a semitone
    // neighbour whose own pitch is weaker there, is that neighbour struck a semitone off (its
    // onset leaks into this pitch's salience): the note takes its own pitch's best peak near
    // its predicted time instead, if any, else it is judged at that time.
    let mut out = out.to_vec();
    for i in 0..n {
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
    // A note struck with a lower note an octave, a twelfth or two octaves under it shows a
    // salience peak at that note's onset whether or not it was struck there (all its harmonics
    // are the lower note's). A stronger peak of its pitch nearby that no other note's onset
    // (written or matched) with partials at or a semitone from its own (a harmonic below or
    // above, or a semitone off one: they leak into its salience) explains can only be its own
    // attack: it was played early or late.
    // Only its timing moves (the decision at the chord, where the lower note covers it, stays).
    let mut own_attack: Vec<Option<Peak>> = vec![None; n];
    for i in 0..n {
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
        if let Some(pk) = peaks(f, p, c - lim, c + lim)
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
            .max_by(|x, y| x.value.total_cmp(&y.value))
        {
            own_attack[i] = Some(pk);
        }
    }
    let out = &out[..];
    let eval_t: Vec<f64> = (0..n)
        .map(|i| match out[i] {
            Outcome::Played { peak, .. } => peak.time,
            Outcome::Missed => centers[i],
        })
        .collect();
    let mut sorted: Vec<(f64, usize)> = eval_t.iter().copied().zip(0..n).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // 1. Chords: onsets within CHORD_GAP of the chord's first.
    let mut chords: Vec<Vec<usize>> = Vec::new();
    for &(t, i) in &sorted {
        match chords.last_mut() {
            Some(c) if t - eval_t[c[0]] <= CHORD_GAP => c.push(i),
            _ => chords.push(vec![i]),
        }
    }
    // 2. Fit per chord; per note its own and its neighbours' activations.
    struct Ev {
        chord: usize,
        a: [f32; 3],
        claimed: [bool; 3],
    }
    let mut ev: Vec<Option<Ev>> = (0..n).map(|_| None).collect();
    // The long-window spectra of every chord onset, in parallel up front.
    let onsets: Vec<usize> = chords
        .iter()
        .map(|c| f.frame_at(eval_t[c[c.len() / 2]]).max(0) as usize)
        .collect();
    pf.preload(&onsets);
    let mut chord_max = Vec::with_capacity(chords.len());
    let mut chord_frames = Vec::with_capacity(chords.len());
    let mut chord_time = Vec::with_capacity(chords.len());
    for (ci, c) in chords.iter().enumerate() {
        let t = eval_t[c[c.len() / 2]];
        let frame = f.frame_at(t).max(0) as usize;
        let members: Vec<u8> = c.iter().map(|&i| notes[i].pitch).collect();
        let near: Vec<usize> = notes_near(&sorted, t, NUISANCE_BEFORE, NUISANCE_AFTER).collect();
        let fit = chord_fit(pf, frame, &members, near.iter().map(|&j| notes[j].pitch));
        let mut mx = 0.0f32;
        for &i in c {
            let p = notes[i].pitch;
            let qs = [p.saturating_sub(1), p, p + 1];
            let claimed = qs.map(|q| q != p && near.iter().any(|&j| notes[j].pitch == q));
            let a = qs.map(|q| fit.get(q));
            mx = mx.max(a[1]);
            ev[i] = Some(Ev {
                chord: ci,
                a,
                claimed,
            });
        }
        chord_max.push(mx);
        chord_frames.push(frame);
        chord_time.push(t);
    }
    let mut own: Vec<f32> = ev.iter().flatten().map(|e| e.a[1]).collect();
    own.sort_by(|a, b| a.total_cmp(b));
    let typical = own.get(own.len() / 2).copied().unwrap_or(1.0).max(1e-6);
    // 3. Decisions.
    // `fitted[k]`: what neighbour k must be twice of; the note's own activation unless a rule
    // of thumb raised it and the neighbour shows an attack of its own (see below).
    let verdict =
        |a: [f32; 3], claimed: [bool; 3], thr: f32, fitted: [f32; 3]| -> Option<Option<u8>> {
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
        };
    let synth = |t: f64, v: f32| Peak {
        frame: f.frame_at(t).max(0) as usize,
        time: t,
        value: v,
    };
    // Restruck: the same key (or a lower note with a harmonic there) still sounds, so the
    // long windows hardly differ; the short-window flux peak of the note speaks for it.
    let restrike = |i: usize| {
        let n = notes[i];
        notes.iter().any(|m| {
            m.index != n.index
                && m.start < n.start - 0.03
                && m.end > n.start - 0.15
                && HARMONIC_STEPS.contains(&(n.pitch as i32 - m.pitch as i32))
        })
    };
    // The same key, held or released up to 0.1 s before (its release still rings, so its
    // harmonics hardly rise at the new attack).
    let same_key = |i: usize| {
        let n = notes[i];
        notes.iter().any(|m| {
            m.index != n.index && m.pitch == n.pitch && m.start < n.start && m.end > n.start - 0.1
        })
    };
    // The same key held right up to this onset (repeated chords): if it is not struck again
    // it just rings on, so its own harmonics clearly falling there mean it was not.
    let held_to = |i: usize| {
        let n = notes[i];
        notes.iter().any(|m| {
            m.index != n.index
                && m.pitch == n.pitch
                && m.start < n.start
                && m.end > n.start - CHORD_GAP
        })
    };
    // Covered: a note of its chord an octave, a twelfth or two octaves below has every one of
    // its harmonics; the fit cannot tell whether it was played, so it is taken as played.
    let covered = |i: usize, chord: &[usize]| {
        chord
            .iter()
            .any(|&j| [12, 19, 24].contains(&(notes[i].pitch as i32 - notes[j].pitch as i32)))
    };
    let mut outcomes = vec![Outcome::Missed; n];
    for i in 0..n {
        let Some(e) = &ev[i] else { continue };
        let p = notes[i].pitch;
        let qs = [p.saturating_sub(1), p, p + 1];
        let thr = (REL_CHORD * chord_max[e.chord]).max(REL_TYPICAL * typical);
        let tc = chord_time[e.chord];
        let mut a = e.a;
        // Borrowed: its peak lies off its predicted time, on the onset of another note
        // predicted there; that onset is the other note's, so this one must show a strong
        // attack of its own written pitch there (no rule of thumb, no wrong pitch).
        let borrowed = (eval_t[i] - centers[i]).abs() > BORROW_OFF
            && chords[e.chord].iter().any(|&j| {
                j != i && (centers[j] - tc).abs() + BORROW_MARGIN < (centers[i] - tc).abs()
            });
        // Off its predicted time, on the fresh onset of a lower note (written elsewhere) that has
        // a harmonic at its pitch: its peak is that note's partial, so no rule of thumb (they
        // assume the lower note was struck before or with it) vouches for it.
        let partial = (eval_t[i] - centers[i]).abs() > BORROW_OFF
            && chords[e.chord].iter().any(|&j| {
                on_harmonic_of(p, notes[j].pitch) && (centers[j] - centers[i]).abs() > CHORD_GAP
            });
        // The same key struck again within the long window: the fit also holds that attack, so
        // only the short-window flux peak at this onset speaks for this one.
        let follow = |t: f64| {
            notes.iter().any(|m| {
                m.index != i && m.pitch == p && m.start > notes[i].start && {
                    let d = centers[m.index] - t;
                    d > CHORD_GAP && d < FOLLOW_WINDOW
                }
            })
        };
        let flux_at = |t: f64| {
            let c = f.frame_at(t);
            peaks(f, p, c - 3, c + 3)
                .map(|pk| pk.value)
                .fold(0.0f32, f32::max)
                / strength
                * typical
        };
        if follow(tc) {
            a[1] = a[1].min(flux_at(tc));
        }
        let fitted = a[1];
        // A rule of thumb below speaks for a note only where its own harmonics (those no note
        // struck there shares) rise at the onset. Not for a key struck again within ~0.1 s:
        // the window before holds its previous attack (its flux peak speaks for it instead).
        let others: Vec<u8> = notes_near(&sorted, tc, RISE_BEFORE, RISE_AFTER)
            .filter(|&j| j != i && notes[j].pitch != p)
            .map(|j| notes[j].pitch)
            .collect();
        let frame_tc = f.frame_at(tc).max(0) as usize;
        let rises = |pf: &mut pitchfit::PitchFit| {
            pf.rise_db(frame_tc, p, &others)
                .is_none_or(|db| db >= RISE_DB)
        };
        // No semitone neighbour has half the note's activation (a neighbour that strong may
        // be the key really struck).
        let lone = |a: [f32; 3]| a[0].max(a[2]) < LONE_NEIGHBOUR * a[1];
        // Over a held lower octave or twelfth (not struck with it) the note's harmonics are
        // all the held string's, whose beating keeps the median rise low; one of its two
        // lowest harmonics rising clearly is its attack.
        let low_rise = |pf: &mut pitchfit::PitchFit| {
            pf.rise_levels(frame_tc, p, &others)
                .iter()
                .any(|&(h, db)| h <= 2 && db >= CLEAR_RISE_DB)
        };
        // A repeated chord: keys struck again together get a like attack. A held key whose flux
        // peak is under 0.3 of its strongest struck-again mate's and whose own harmonics do not
        // rise at all was not struck again (its peak is the mates' attacks in its partials).
        let faint_repeat = |pf: &mut pitchfit::PitchFit| {
            let Outcome::Played { peak, .. } = out[i] else {
                return false;
            };
            let mate = chords[e.chord]
                .iter()
                .filter(|&&j| j != i && same_key(j))
                .filter_map(|&j| match out[j] {
                    Outcome::Played { peak: q, .. } => Some(q.value),
                    Outcome::Missed => None,
                })
                .fold(0.0f32, f32::max);
            held_to(i)
                && peak.value < FAINT_REPEAT * mate
                && pf.rise_db(frame_tc, p, &others).is_some_and(|db| db < 0.0)
        };
        if let Outcome::Played { peak, .. } = out[i]
            && (peak.time - tc).abs() <= CHORD_GAP + 0.01
            && !borrowed
            && !partial
            && a[1] < thr
            && (restrike(i) || covered(i, &chords[e.chord]))
            && ((same_key(i)
                && (!held_to(i)
                    || pf
                        .rise_db(frame_tc, p, &others)
                        .is_none_or(|db| db > -CLEAR_RISE_DB)))
                || rises(pf)
                || (!covered(i, &chords[e.chord]) && lone(a) && low_rise(pf)))
            && !faint_repeat(pf)
        {
            if restrike(i) {
                a[1] = a[1].max(RESTRIKE_TRUST * peak.value / strength * typical);
                // The same key struck again right on time: the flux peak is all there is,
                // if there is one (a held or released key only decays).
                if same_key(i)
                    && (peak.time - centers[i]).abs() <= CHORD_GAP
                    && peak.value >= SAME_KEY_FLUX * strength
                {
                    a[1] = a[1].max(thr);
                }
            }
            if covered(i, &chords[e.chord]) {
                a[1] = a[1].max(thr);
            }
        }
        // Near the threshold, no rule of thumb: a note whose own harmonics clearly rise (a
        // real attack of its own) and that no semitone neighbour rivals was played; the fit
        // gave part of its energy to chord partners (FluidR3 F4 in a Bb chord).
        if let Outcome::Played { peak, .. } = out[i]
            && (peak.time - tc).abs() <= CHORD_GAP + 0.01
            && !borrowed
            && a[1] < thr
            && a[1] >= NEAR_THR * thr
            && !restrike(i)
            && !covered(i, &chords[e.chord])
            && lone(a)
            && pf
                .rise_db(frame_tc, p, &others)
                .is_some_and(|db| db >= CLEAR_RISE_DB)
        {
            a[1] = thr;
        }
        let mut v = if borrowed {
            // Its own harmonics must not clearly fall there: a fit share alone may be a
            // neighbour's leak (a semitone neighbour's partials lie within the template's
            // tolerance), and a key struck there does not decay.
            verdict(
                a,
                [true, false, true],
                thr.max(BORROW_REL * chord_max[e.chord]),
                [a[1]; 3],
            )
            .filter(|_| {
                pf.rise_db(frame_tc, p, &others)
                    .is_none_or(|db| db > -CLEAR_RISE_DB)
            })
        } else {
            // A neighbour that is an upper harmonic of a much stronger chord note is that
            // note's partial, not a wrong key.
            let mut claimed = e.claimed;
            for k in [0, 2] {
                claimed[k] |= chords[e.chord].iter().any(|&j| {
                    j != i
                        && on_harmonic_of(qs[k], notes[j].pitch)
                        && ev[j]
                            .as_ref()
                            .is_some_and(|ej| ej.a[1] >= HARMONIC_CLAIM * a[k])
                });
            }
            // A rule of thumb vouches for a note the fit cannot see, not against a neighbour it
            // does see: a neighbour 1.5 times the raised activation, twice the fitted one, whose
            // own harmonics clearly rise (an attack of its own) is the key struck.
            let mut cmp = [a[1]; 3];
            if fitted < a[1] {
                for k in [0, 2] {
                    if a[k] > RAISED_RIVAL * a[1]
                        && pf
                            .rise_db(frame_tc, qs[k], &others)
                            .is_some_and(|db| db >= CLEAR_RISE_DB)
                    {
                        cmp[k] = fitted.max(0.5 * a[1]);
                    }
                }
            }
            verdict(a, claimed, thr, cmp)
        };
        // A wrong pitch with no onset of its own there, judged at a peak off the predicted
        // time: that peak was another onset's; try the predicted time as well.
        if let Some(Some(k)) = v
            && (eval_t[i] - centers[i]).abs() > BORROW_OFF
        {
            let c = f.frame_at(tc);
            let own = peaks(f, qs[k as usize], c - 4, c + 4)
                .min_by(|x, y| (x.time - tc).abs().total_cmp(&(y.time - tc).abs()));
            if own.is_none_or(|pk| (pk.time - centers[i]).abs() > WRONG_OFF) {
                v = None;
            }
        }
        let mut at = tc;
        // Not there at its peak, which lies off the predicted time: try the predicted time.
        if v.is_none() && (eval_t[i] - centers[i]).abs() > BORROW_OFF {
            let near: Vec<usize> =
                notes_near(&sorted, centers[i], NUISANCE_BEFORE, NUISANCE_AFTER).collect();
            let frame = f.frame_at(centers[i]).max(0) as usize;
            let fit = chord_fit(pf, frame, &[p], near.iter().map(|&j| notes[j].pitch));
            let claimed = qs.map(|q| q != p && near.iter().any(|&j| notes[j].pitch == q));
            let mut a = qs.map(|q| fit.get(q));
            if follow(centers[i]) {
                a[1] = a[1].min(flux_at(centers[i]));
            }
            v = verdict(a, claimed, thr, [a[1]; 3]);
            at = centers[i];
            // Played there means an onset of its own there: a real flux peak of the pitch
            // found, not weaker than a later one in the long window (whose attack the fit
            // also holds).
            if let Some(w) = v {
                let q = w.map_or(p, |k| qs[k as usize]);
                let c = f.frame_at(at);
                let here = peaks(f, q, c - 3, c + 3)
                    .map(|pk| pk.value)
                    .fold(0.0f32, f32::max);
                let later = peaks(f, q, c + 4, c + EXTRA_LOOKAHEAD)
                    .map(|pk| pk.value)
                    .fold(0.0f32, f32::max);
                if here < RETRY_FLUX * strength || (w.is_some() && here < later) {
                    v = None;
                }
            }
        }
        outcomes[i] = match v {
            Some(None) => match out[i] {
                Outcome::Played { peak, .. } if (peak.time - at).abs() <= CHORD_GAP + 0.01 => {
                    out[i]
                }
                _ => Outcome::Played {
                    pitch: p,
                    peak: synth(at, e.a[1]),
                },
            },
            Some(Some(k)) => {
                let q = qs[k as usize];
                // The wrong note's own onset peak near the chord, if any.
                // The wrong note's own onset peak near the chord; none: its energy started
                // elsewhere (another onset in the long window).
                // Far from its predicted time it is another note (an extra one), not this
                // note played a semitone off.
                let c = f.frame_at(at);
                match peaks(f, q, c - 4, c + 4)
                    .min_by(|x, y| (x.time - at).abs().total_cmp(&(y.time - at).abs()))
                {
                    Some(pk) if (pk.time - centers[i]).abs() <= WRONG_OFF => {
                        Outcome::Played { pitch: q, peak: pk }
                    }
                    _ => Outcome::Missed,
                }
            }
            None => Outcome::Missed,
        };
    }
    // One onset, one note: a wrong pitch that another note also played there (at its written
    // pitch, or predicted nearer) belongs to that note.
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
        chord_frames,
        typical,
    }
}

/// Extra notes: at every chord onset and every flux onset away from the chords, a fit with all
/// pitches of the searched range; a strong activation at a pitch that no expected (or
/// wrong-pitch) note near that moment has, and that is not a harmonic of one whose own
/// activation explains it, is a played note the score does not have.
#[allow(clippy::too_many_arguments)]
fn find_extra_nnls(
    f: &Features,
    pf: &mut pitchfit::PitchFit,
    notes: &[ExpectedNote],
    centers: &[f64],
    decided: &Decided,
    strength: f32,
    range: std::ops::RangeInclusive<u8>,
) -> ExtraScan {
    // Onset frames: chords, plus strong pitch-flux peaks away from them.
    let mut frames: Vec<usize> = decided.chord_frames.clone();
    frames.sort_unstable();
    let away = (EXTRA_AWAY / f.hop_s).round() as usize;
    let thr_flux = EXTRA_FLUX * strength;
    let mut extra_frames = Vec::new();
    for t in 3..f.frames.saturating_sub(3) {
        let k = frames.partition_point(|&x| x + away < t);
        if frames.get(k).is_some_and(|&x| x <= t + away) {
            continue;
        }
        if extra_frames.last().is_some_and(|&x: &usize| t - x <= 3) {
            continue;
        }
        let hit = range.clone().any(|p| {
            let v = f.pf(t, p);
            v >= thr_flux
                && v >= f.pf(t - 1, p)
                && v > f.pf(t + 1, p)
                && v >= f.pf(t - 2, p)
                && v > f.pf(t + 2, p)
        });
        if hit {
            extra_frames.push(t);
        }
    }
    frames.extend(extra_frames);
    frames.sort_unstable();
    pf.preload(&frames);
    // What sounds where: (time, pitch) of every expected and every decided note.
    let mut known: Vec<(f64, u8)> = Vec::new();
    for (i, n) in notes.iter().enumerate() {
        known.push((centers[i], n.pitch));
        if let Outcome::Played { pitch, peak } = decided.outcomes[i] {
            known.push((peak.time, pitch));
        }
    }
    known.sort_by(|a, b| a.0.total_cmp(&b.0));
    let thr = EXTRA_REL * decided.typical;
    let mut out: Vec<(f64, u8)> = Vec::new();
    let mut act = Vec::new();
    let mut partners: Vec<u8> = Vec::new();
    let mut cands: Vec<u8> = Vec::new();
    // Frames still to fit; an onset found later in a long window is fitted at its own frame.
    let mut retimed: Vec<(usize, u8, Peak)> = Vec::new();
    let mut queue: std::collections::BTreeSet<usize> = frames.into_iter().collect();
    let mut next = 0usize;
    while let Some(&fr) = queue.range(next..).next() {
        next = fr + 1;
        let t = fr as f64 * f.hop_s;
        pf.load(fr);
        let lo_k = known.partition_point(|&(k, _)| k < t - NUISANCE_BEFORE);
        let near_t: Vec<(f64, u8)> = known[lo_k..]
            .iter()
            .take_while(|&&(k, _)| k <= t + NUISANCE_AFTER)
            .copied()
            .collect();
        let near: Vec<u8> = near_t.iter().map(|&(_, p)| p).collect();
        // Screen: pitches whose template meets some new energy.
        let proj: Vec<(u8, f32)> = range.clone().map(|p| (p, pf.projection(p))).collect();
        let pmax = proj.iter().map(|x| x.1).fold(0.0f32, f32::max);
        if pmax <= 0.0 {
            continue;
        }
        cands.clear();
        cands.extend(
            proj.iter()
                .filter(|x| x.1 >= 0.25 * pmax)
                .map(|x| x.0)
                .chain(near.iter().copied()),
        );
        cands.sort_unstable();
        cands.dedup();
        pf.fit(&cands, &mut act);
        let get = |p: u8| cands.iter().position(|&c| c == p).map_or(0.0, |i| act[i]);
        // A wrong pitch judged at this onset whose written key was struck as well (a strong
        // activation of its own, its own harmonics rising): the written note was played and the
        // neighbour is an extra note.
        for (i, n) in notes.iter().enumerate() {
            let Outcome::Played { pitch: q, peak } = decided.outcomes[i] else {
                continue;
            };
            if q == n.pitch
                || (peak.time - t).abs() > EXCLUSIVE_GAP
                || retimed.iter().any(|r: &(usize, u8, Peak)| r.0 == i)
            {
                continue;
            }
            let w = n.pitch;
            let aw = get(w);
            if aw < WRITTEN_TOO_REL * thr {
                continue;
            }
            let others: Vec<u8> = near.iter().copied().filter(|&p| p != w).collect();
            if pf.own_share(w, &others, aw).is_none_or(|s| s < OWN_SHARE)
                || pf.rise_db(fr, w, &others).is_none_or(|r| r < CLEAR_RISE_DB)
            {
                continue;
            }
            // The extra note's own onset: the neighbour's strongest flux peak in the window.
            let c = peak.frame as isize;
            let qpk = peaks(f, q, c - 3, c + EXTRA_LOOKAHEAD)
                .max_by(|a, b| a.value.total_cmp(&b.value))
                .unwrap_or(peak);
            retimed.push((i, w, peak));
            out.push((qpk.time, q));
        }
        for (ci, &x) in cands.iter().enumerate() {
            let ax = act[ci];
            // Low keys need more: a piano's low strings and soundboard answer a chord's attack
            // with weak low-pitch energy of no struck key (FluidR3: pitches 34-45 at ~1.0-1.4x
            // the threshold; a struck low extra key gives 1.65x or more).
            let need = if x < LOW_EXTRA_PITCH {
                LOW_EXTRA_REL * thr
            } else {
                thr
            };
            if ax < need || near.contains(&x) {
                continue;
            }
            // Explained by a note sounding here: its harmonic, or a semitone leak.
            // A harmonic of a note struck at this very onset is taken as that note's (a
            // bright piano's upper partials can outweigh its template).
            let explained = near_t.iter().any(|&(te, e)| {
                let d = x as i32 - e as i32;
                let ae = get(e);
                (HARMONIC_STEPS[1..].contains(&d) && (ae >= 0.25 * ax || (te - t).abs() <= 0.05))
                    || (d == -12 && ae >= 2.0 * ax)
                    || (d.abs() == 1 && ae >= 2.0 * ax)
            });
            if explained {
                continue;
            }
            // A semitone leak of a stronger candidate (struck or not, its energy is real): low
            // notes' partials are barely a bin or two from their neighbours'.
            if cands
                .iter()
                .zip(act.iter())
                .any(|(&y, &ay)| (y as i32 - x as i32).abs() == 1 && ay >= WRONG_RATIO * ax)
            {
                continue;
            }
            // Its own harmonics (those no sounding note reaches) must bear out its activation.
            let own = pf.own_share(x, &near, ax);
            if own.is_none_or(|s| s < OWN_SHARE) {
                continue;
            }
            // Octave-error check: every partial of a stronger candidate a harmonic step above
            // (octave, twelfth, ...) lies in this pitch's template, so this pitch is struck
            // only if its other partials (below an octave: the odd ones) hold the new energy.
            let above: Vec<u8> = cands
                .iter()
                .zip(act.iter())
                .filter(|&(&y, &ay)| on_harmonic_of(y, x) && ay >= ax)
                .map(|(&y, _)| y)
                .collect();
            if !above.is_empty() {
                let mut others = near.clone();
                others.extend(above.iter().copied());
                if pf.own_share(x, &others, ax).is_none_or(|s| s < OWN_SHARE) {
                    continue;
                }
            }
            // Its own energy: a free low harmonic (not a partial of the notes struck here).
            partners.clear();
            partners.extend(near.iter().copied());
            partners.extend(above.iter().copied());
            partners.extend(
                out.iter()
                    .filter(|&&(tt, _)| (tt - t).abs() <= NUISANCE_AFTER)
                    .map(|&(_, p)| p),
            );
            if !pf.own_evidence(x, &partners, OWN_LOW_SHARE) {
                continue;
            }
            // Its onset: the strongest short-window flux peak of its pitch from just before
            // this frame to the end of the long window (which also holds notes starting up to
            // 186 ms later; a weaker peak here is then another note's harmonics).
            let c = fr as isize;
            let Some(pk) = peaks(f, x, c - 3, c + EXTRA_LOOKAHEAD)
                .filter(|p| p.value >= thr_flux)
                .max_by(|a, b| a.value.total_cmp(&b.value))
            else {
                continue;
            };
            if pk.frame > fr + 3 {
                // It starts later: judge it there (what sounds there, its own fit).
                if queue.range(pk.frame - 3..=pk.frame + 3).next().is_none() {
                    queue.insert(pk.frame);
                }
                continue;
            }
            if out
                .iter()
                .rev()
                .take_while(|&&(tt, _)| t - tt < 0.5)
                .any(|&(tt, pp)| pp == x && (pk.time - tt).abs() < 0.15)
            {
                continue;
            }
            // A semitone from a note judged missed or judged played here at a pitch this fit
            // hardly sees, at its time: that note, played a semitone off (the chord fit saw
            // too little of it to call it a wrong pitch).
            let missed = notes.iter().enumerate().find(|&(i, n)| {
                let judged = match decided.outcomes[i] {
                    Outcome::Missed => true,
                    // Judged played at this onset, but the fit sees the key struck: half of
                    // this activation or less (the wrong-pitch ratio).
                    Outcome::Played { pitch, peak } => {
                        pitch != x
                            && (peak.time - pk.time).abs() <= EXCLUSIVE_GAP
                            && get(pitch) * WRONG_RATIO <= ax
                    }
                };
                judged
                    && (n.pitch as i32 - x as i32).abs() == 1
                    && (centers[i] - pk.time).abs() <= WRONG_OFF
                    && !retimed.iter().any(|r: &(usize, u8, Peak)| r.0 == i)
            });
            if let Some((i, _)) = missed {
                retimed.push((i, x, pk));
                continue;
            }
            out.push((pk.time, x));
        }
    }
    // Orphan onsets: a clear attack where no note (expected, decided or extra) starts. A key
    // that sounds there was struck again (its partials hardly rise, so the fits above miss it):
    // the sounding key whose harmonics show the most short-window flux. Struck again soon after
    // its decided onset, the note itself came late (its decided onset was another note's).
    let mut chord_onset: Vec<f32> = decided
        .chord_frames
        .iter()
        .map(|&c| onset_near(f, c))
        .collect();
    chord_onset.sort_by(|a, b| a.total_cmp(b));
    let typical_onset = chord_onset
        .get(chord_onset.len() / 2)
        .copied()
        .unwrap_or(0.0);
    // The fitted frames and every broadband onset peak.
    let mut orphan_frames: Vec<usize> = queue.iter().copied().collect();
    for t in 3..f.frames.saturating_sub(3) {
        let v = f.onset[t];
        if v >= ORPHAN_ONSET * typical_onset
            && (t - 3..=t + 3).all(|u| u == t || f.onset[u] < v || (u < t && f.onset[u] == v))
        {
            orphan_frames.push(t);
        }
    }
    orphan_frames.sort_unstable();
    orphan_frames.dedup();
    for &fr in &orphan_frames {
        let t = fr as f64 * f.hop_s;
        let k0 = known.partition_point(|&(k, _)| k < t - ORPHAN_CLEAR);
        if typical_onset <= 0.0
            || onset_near(f, fr) < ORPHAN_ONSET * typical_onset
            || known.get(k0).is_some_and(|&(k, _)| k <= t + ORPHAN_CLEAR)
            || out.iter().any(|&(k, _)| (k - t).abs() <= ORPHAN_CLEAR)
        {
            continue;
        }
        let c = fr as isize;
        // Candidates: each sounding note's key, and the keys an octave, a twelfth and two
        // octaves up (all their partials are the sounding note's).
        let best = notes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match decided.outcomes[i] {
                Outcome::Played { pitch, peak }
                    if peak.time < t - ORPHAN_CLEAR && peak.time + (n.end - n.start) > t - 0.1 =>
                {
                    Some((i, pitch, peak.time, false))
                }
                // A note judged missed, written near here: played early or late.
                Outcome::Missed if (centers[i] - t).abs() <= RETIME_GAP => {
                    Some((i, n.pitch, t, true))
                }
                _ => None,
            })
            .flat_map(|(i, pitch, onset, missed)| {
                let steps: &[u8] = if missed { &[0] } else { &[0, 12, 19, 24] };
                steps.iter().map(move |&d| (i, pitch + d, d == 0, onset))
            })
            .filter(|&(_, q, _, _)| range.contains(&q))
            .filter_map(|(i, q, same, onset)| {
                let pk = peaks(f, q, c - 2, c + 2).max_by(|a, b| a.value.total_cmp(&b.value))?;
                Some((i, q, same, onset, pk))
            })
            .max_by(|a, b| a.4.value.total_cmp(&b.4.value));
        let Some((i, pitch, same, onset, pk)) = best else {
            continue;
        };
        if pk.value < ORPHAN_FLUX * strength {
            continue;
        }
        if same && pk.time - onset < RETIME_GAP {
            retimed.push((i, pitch, pk));
        } else if !out
            .iter()
            .any(|&(tt, pp)| pp == pitch && (tt - pk.time).abs() < 0.1)
        {
            out.push((pk.time, pitch));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    ExtraScan {
        extra: out,
        retimed,
    }
}

/// What [`find_extra_nnls`] found.
struct ExtraScan {
    /// (time, pitch) of the notes the score does not have.
    extra: Vec<(f64, u8)>,
    /// Notes whose own onset lies elsewhere than decided (or that were judged missed):
    /// (note, pitch played, its onset peak).
    retimed: Vec<(usize, u8, Peak)>,
}

/// Broadband onset strength near frame `fr` (max over +-2 frames).
fn onset_near(f: &Features, fr: usize) -> f32 {
    let hi = (fr + 2).min(f.frames.saturating_sub(1));
    (fr.saturating_sub(2)..=hi)
        .map(|u| f.onset[u])
        .fold(0.0f32, f32::max)
}
