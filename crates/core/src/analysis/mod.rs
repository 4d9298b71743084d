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
//! 4. Decisions (`decide.rs`, fits in `pitchfit.rs`): notes are grouped into chords by onset (30
//!    ms); at each chord the new energy (long window after minus short window before) is fitted by
//!    NNLS with harmonic templates of the chord's pitches, their semitone neighbours and the notes
//!    sharing the windows. A note is played when its activation is a fair share of its chord's and
//!    of the typical note's; a neighbour twice as strong is a wrong pitch; otherwise missed.
//!    Restruck keys use their short-flux peak; a note whose harmonics all belong to a lower chord
//!    note (octave, twelfth) counts as played unless the lower key's shared partials, read one by
//!    one against their neighbours, stand out no more than where that key is struck alone
//!    (`Scene::uncovered`, where such pairs do stand out in this recording, or none was read);
//!    both rules need the note's own harmonics (those no note struck there shares) to rise at
//!    the onset (`PitchFit::rise_db`; over a held lower octave, whose beating masks the median,
//!    one of its two lowest harmonics rising 6 dB will do); a key held right up to the onset
//!    whose own harmonics fall 6 dB there was not struck again. A note at half its threshold or
//!    more whose own harmonics rise 6 dB counts as played; both need no semitone neighbour at
//!    half its activation. A rule raising a note's activation does not shield it from a
//!    neighbour the fit does see: one 1.5 times the raised and twice the fitted activation, with
//!    its own harmonics rising 6 dB, is the key struck. One onset
//!    serves one note: a note whose peak is another note's onset (borrowed) needs a strong attack
//!    of its own pitch there (its own harmonics not falling 6 dB), a retry at the predicted time
//!    needs its own flux peak, a wrong pitch needs its own onset (a neighbour whose attack lies
//!    later in the window is the next note's), a note played at a peak over 0.15 s off its time
//!    is judged at its time too, and two notes played at one pitch and time keep the
//!    better-placed one. A peak over 0.12 s off a note's predicted time, at a
//!    semitone neighbour's predicted time where the neighbour's own pitch is weaker, is that
//!    neighbour struck a semitone off: the note looks for its onset near its own predicted time
//!    instead. A peak off the predicted time on the fresh onset of a lower note written elsewhere,
//!    with a harmonic at the note's pitch, is that note's partial: no rule of thumb vouches for it.
//!    In a repeated chord, a held key whose flux peak is under 0.3 of its strongest struck-again
//!    mate's and whose own harmonics do not rise was not struck again. A wrong pitch with no onset
//!    of its own at a peak off the predicted time is retried at that time. A note struck with its
//!    lower octave (twelfth, two octaves) peaks at that note's onset anyway; a stronger peak of its
//!    pitch within 0.15 s that no note sharing its partials (or a semitone off them) explains,
//!    written or by a stronger onset there, is its own attack and gives its timing.
//!    Extra notes: at every chord and every flux onset 25 ms or more from the chords, a fit
//!    with all pitches of the range, with templates learned from this recording (the harmonic
//!    profiles of isolated notes judged played; see `pitchfit.rs`); a strong activation no
//!    sounding note explains (not its pitch, not its harmonic unless the shared partials stand
//!    out far beyond that key's usual balance, read on its 2nd to 7th harmonic one by one; not
//!    a semitone leak of it or of a candidate twice as strong)
//!    whose own harmonics (those no sounding note's harmonic reaches, at the resolution of the
//!    low notes; a sounding note with little new energy there reaches with its first twelve
//!    only) bear out half its activation (also without the partials of a stronger
//!    candidate an octave, twelfth, ... above: the classic octave-error check), and whose
//!    strongest flux peak in the long window is at this onset (a later one is fitted at its
//!    own frame). Below A#2, or below the lowest learned template, it needs 1.5 times the
//!    activation (low strings and soundboard answer every chord attack a little), and below
//!    A#2 its free harmonic must be the 2nd to 4th (the attack's thump lies at the fundamental).
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
//!    judged missed written within 150 ms, was itself played there (late or early). Where the
//!    strongest is a key a harmonic step above the sounding one, but the sounding key's own
//!    partials start again at a new phase (`PitchFit::continuity`), the sounding key was
//!    struck again: an extra strike of it.
//!    Then the notes judged played within 0.25 s of an extra note found are judged again with
//!    the extra notes among the struck ones (an extra note's partials may have vouched for a
//!    dropped note next to it).
//!    Last, a note on a key still sounding from the note before it (held, or released within
//!    0.1 s) whose free partials run on through its onset with the phase and level the
//!    windows before predict (`PitchFit::continuity` under 0.4) was not struck again: missed
//!    (a repeated chord note left out rings on a few dB under its last attack, which level
//!    tests cannot tell from a softer strike; its phase can).
//! 5. Final robust fit of played against expected times = global tempo ratio and offset; the
//!    timing deviation of each note is measured from that line, so `rhythm_accuracy` is
//!    about timing *after removing the global tempo ratio and offset*.

pub mod align;
mod decide;
mod extras;
pub mod features;
mod pitchfit;

use std::path::PathBuf;

use serde::Serialize;

use crate::midi::{MidiError, MidiSong};
use decide::{Decided, decide};
use extras::find_extra_nnls;
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
    let decided = decide(&f, &mut pf, &notes, &centers, &peaks2, strength, &[]);
    // Kept as it judged, to judge again once the extra notes are known.
    let mut pf_fixed = pf.fork();
    // The instrument, learned from the notes the first pass is sure of, shapes the templates.
    let learned = learn_profiles(&f, &mut pf, &notes, &decided, a1);
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
    // The extra notes found are struck notes the first decisions did not know of: their
    // partials may have vouched for a written note near them that was not played. Judged
    // again with them known (fixed templates, as the first time), such a note is missed.
    if !scan.extra.is_empty() {
        let mut extras = scan.extra.clone();
        extras.sort_by(|a, b| a.0.total_cmp(&b.0));
        let again = decide(
            &f,
            &mut pf_fixed,
            &notes,
            &centers,
            &peaks2,
            strength,
            &extras,
        );
        for (i, o) in pass2.iter_mut().enumerate() {
            let near = extras
                .iter()
                .any(|x| (x.0 - centers[i]).abs() <= REDECIDE_NEAR);
            if near
                && matches!(o, Outcome::Played { .. })
                && matches!(again.outcomes[i], Outcome::Missed)
                && !scan.is_retimed(i)
            {
                *o = Outcome::Missed;
            }
        }
    }

    // A repeated note left out: its key rings on from the note before, on course.
    decide::rings_on(&pf_fixed, &notes, &centers, &mut pass2, &scan.extra, |i| {
        scan.is_retimed(i)
    });

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

/// A written note judged played is judged again when an extra note lies this near (s).
const REDECIDE_NEAR: f64 = 0.25;

/// A note teaches the instrument model only when no other note was decided (or written) within
/// this many seconds of its onset. Short (the long window is 186 ms) so that fast pieces
/// (Chopin's 16ths) teach too: `PitchFit::profile` also needs 60 % of the new energy at the
/// note's own harmonics, which rejects what a neighbour spoils.
const LEARN_ALONE: f64 = 0.06;

/// Harmonic profiles of the notes the first pass found at their written pitch with an onset
/// to themselves (see [`LEARN_ALONE`]), for [`pitchfit::PitchFit::adapt`]. `tempo`: recording
/// seconds per score second (the written neighbours are looked for in score time).
fn learn_profiles(
    f: &Features,
    pf: &mut pitchfit::PitchFit,
    notes: &[ExpectedNote],
    decided: &Decided,
    tempo: f64,
) -> Vec<(u8, [f32; pitchfit::MAX_H])> {
    let alone_score = LEARN_ALONE / tempo.max(1e-3);
    let mut times: Vec<f64> = decided
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Played { peak, .. } => Some(peak.time),
            Outcome::Missed => None,
        })
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
            || {
                // Notes are in onset order: only the written ones within the window.
                let k = notes.partition_point(|m| m.start < n.start - alone_score);
                notes[k..]
                    .iter()
                    .take_while(|m| m.start <= n.start + alone_score)
                    .any(|m| m.index != i && m.pitch != n.pitch)
            };
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

/// The harmonic a key `d` semitones above a string sits on (2 for an octave, 3 for a twelfth,
/// ... up to 8), when `d` is one of [`HARMONIC_STEPS`] above the unison.
fn harmonic_of_step(d: i32) -> Option<usize> {
    HARMONIC_STEPS
        .iter()
        .position(|&s| s == d)
        .filter(|&k| k > 0)
        .map(|k| k + 1)
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
/// note keeps its peak if it has one ([`decide()`](fn@decide) judges them).
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
/// A neighbour a semitone away is the played pitch when its activation exceeds the written
/// pitch's by this factor.
const WRONG_RATIO: f32 = 2.0;
/// A note's onset peak this far (s) from its predicted time is "off its time" (a peak it may
/// have borrowed from another note's onset).
const BORROW_OFF: f64 = 0.05;
/// Two notes played at one pitch within this (s) are one onset: it serves one note.
const EXCLUSIVE_GAP: f64 = 0.05;
/// A rise this large (dB) of a note's own harmonics is a clear attack of its own (see
/// `decide`: it lets a note near its threshold count, and one lowest harmonic rising this much
/// speaks for a note over a held lower octave).
const CLEAR_RISE_DB: f32 = 6.0;
/// Extra notes: frames after the fitted onset frame searched for the note's own onset.
const EXTRA_LOOKAHEAD: isize = 15;
/// Notes starting this long before / after an onset share its long windows: their pitches
/// join its fit as candidates, so their energy is not taken for another note's.
const NUISANCE_BEFORE: f64 = 0.1;
const NUISANCE_AFTER: f64 = 0.15;
/// A wrong pitch lies at most this far (s) from the note's predicted time.
const WRONG_OFF: f64 = 0.1;
