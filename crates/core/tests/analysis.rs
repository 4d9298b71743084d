//! Performance analysis on "student" recordings rendered by the engine from corpus exercises
//! (`$SHARED_DIR/midi`, default `<workspace>/../shared`): the exact exercise, a student with
//! another SoundFont, 0.9x tempo, 1.5 s of leading silence and noise at 20 dB SNR, and a
//! student with injected errors that must be found at the right notes.

use std::path::PathBuf;
use std::sync::Arc;

use audio_core::analysis::{AnalysisOptions, AnalysisReport, analyze, expected_notes};
use audio_core::midi::{MidiEvent, MidiFormat, MidiOptions, MidiSong, MidiSource, load_soundfont};

fn shared() -> PathBuf {
    std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

const SR: u32 = 44_100;

/// A note of a test score.
#[derive(Debug, Clone, Copy, PartialEq)]
struct N {
    start: f64,
    end: f64,
    pitch: u8,
    vel: u8,
    ch: u8,
}

/// Notes (channel 10 left out) starting before `max_s`, and the first program of each channel.
fn load(name: &str, max_s: f64) -> (Vec<N>, Vec<(u8, u8)>) {
    let song = MidiSong::load(shared().join("midi").join(name)).unwrap();
    let mut open: Vec<(u8, u8, f64, u8)> = Vec::new();
    let mut notes = Vec::new();
    let mut programs: Vec<(u8, u8)> = Vec::new();
    for e in &song.events {
        if e.channel == 9 {
            continue;
        }
        match e.command {
            0xC0 if !programs.iter().any(|p| p.0 == e.channel) => {
                programs.push((e.channel, e.data1))
            }
            0x90 if e.data2 > 0 => open.push((e.channel, e.data1, e.time, e.data2)),
            0x80 | 0x90 => {
                if let Some(i) = open.iter().position(|o| o.0 == e.channel && o.1 == e.data1) {
                    let (ch, pitch, start, vel) = open.remove(i);
                    if start < max_s {
                        notes.push(N {
                            start,
                            end: e.time.min(max_s + 1.0),
                            pitch,
                            vel,
                            ch,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    (notes, programs)
}

/// A song with just these notes (program changes at 0; `program` overrides every channel's).
fn song(notes: &[N], programs: &[(u8, u8)], program: Option<u8>) -> MidiSong {
    let mut ev = Vec::new();
    for &(ch, p) in programs {
        ev.push(MidiEvent {
            time: 0.0,
            channel: ch,
            command: 0xC0,
            data1: program.unwrap_or(p),
            data2: 0,
        });
    }
    let mut body = Vec::new();
    for n in notes {
        body.push(MidiEvent {
            time: n.start,
            channel: n.ch,
            command: 0x90,
            data1: n.pitch,
            data2: n.vel,
        });
        body.push(MidiEvent {
            time: n.end,
            channel: n.ch,
            command: 0x80,
            data1: n.pitch,
            data2: 0,
        });
    }
    // Note-offs first at equal times, so a repeated note is not cut by its predecessor's off.
    body.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.command.cmp(&b.command)));
    ev.extend(body);
    let end = notes.iter().map(|n| n.end).fold(0.0, f64::max) + 0.1;
    MidiSong {
        path: "<test>".into(),
        format: MidiFormat::Single,
        events: ev,
        end_time: end,
        tempo_changes: 0,
        warnings: vec![],
    }
}

fn render(song: &MidiSong, sf: &Arc<audio_synth::SoundFont>) -> Vec<f32> {
    let mut src = MidiSource::new(song, sf, &MidiOptions::default()).unwrap();
    src.render_to_end(|_| {})
}

fn tim() -> Arc<audio_synth::SoundFont> {
    load_soundfont(audio_core::midi::default_soundfont_path()).expect("TimGM6mb.sf2 needed")
}

/// xorshift64*: deterministic test randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// Adds white noise `snr_db` below the RMS of the (non-silent part of the) signal.
fn add_noise(x: &mut [f32], snr_db: f64, seed: u64) {
    let active: Vec<f32> = x.iter().cloned().filter(|v| v.abs() > 1e-4).collect();
    let rms = audio_core::measure::rms(&active);
    let sigma = rms / 10f64.powf(snr_db / 20.0);
    let mut r = Rng(seed);
    for v in x.iter_mut() {
        *v += (sigma * r.gauss()) as f32;
    }
}

fn run(rec: &[f32], exercise: &MidiSong) -> AnalysisReport {
    let t = std::time::Instant::now();
    let r = analyze(rec, 2, SR, exercise, &AnalysisOptions::default()).unwrap();
    eprintln!(
        "analysis {:.1} s of audio in {:.0} ms: pitch {:.3} rhythm {:.3} ratio {:.4} offset {:.3} matched {}/{} missed {} extra {} wrong {} mean|dev| {:.1} ms",
        rec.len() as f64 / 2.0 / SR as f64,
        t.elapsed().as_secs_f64() * 1e3,
        r.pitch_accuracy,
        r.rhythm_accuracy,
        r.tempo_ratio,
        r.offset_seconds,
        r.notes_matched,
        r.notes_expected,
        r.missed_notes.len(),
        r.extra_notes.len(),
        r.wrong_pitch_notes.len(),
        r.mean_abs_deviation_ms
    );
    r
}

const PIECES: [(&str, f64); 2] = [
    ("02_melody_folk_march_type0.mid", 40.0),
    ("09_piano_bach_minuet_g_mutopia.mid", 40.0),
];

/// Pass marks per piece: the (0.99 exact, 0.97 student).
fn marks(_name: &str, exact: bool) -> (f64, f64) {
    if exact { (0.99, 0.99) } else { (0.97, 0.97) }
}

fn exact_case(name: &str, secs: f64, (pitch, rhythm): (f64, f64), max_missed: usize) {
    let sf = tim();
    let (notes, progs) = load(name, secs);
    let ex = song(&notes, &progs, None);
    let rec = render(&ex, &sf);
    let r = run(&rec, &ex);
    assert_eq!(r.notes_expected, expected_notes(&ex).len());
    assert!(
        r.pitch_accuracy >= pitch,
        "{name}: pitch {}",
        r.pitch_accuracy
    );
    assert!(
        r.rhythm_accuracy >= rhythm,
        "{name}: rhythm {}",
        r.rhythm_accuracy
    );
    assert!(
        r.missed_notes.len() <= max_missed,
        "{name}: missed {:?}",
        r.missed_notes
    );
    assert!(
        r.extra_notes.is_empty(),
        "{name}: extra {:?}",
        r.extra_notes
    );
    assert!(
        (r.tempo_ratio - 1.0).abs() < 0.005,
        "{name}: ratio {}",
        r.tempo_ratio
    );
    assert!(
        r.offset_seconds.abs() < 0.03,
        "{name}: offset {}",
        r.offset_seconds
    );
    assert_eq!(r.backend, "cpu");
}

#[test]
fn exact_exercise_scores_perfectly() {
    exact_case("01_melody_c_major_scale.mid", 10.0, (0.99, 0.99), 0);
    exact_case(PIECES[0].0, PIECES[0].1, marks(PIECES[0].0, true), 0);
}

#[test]
fn exact_polyphonic_exercise() {
    let (name, secs) = PIECES[1];
    exact_case(name, secs, marks(name, true), 0);
}

#[test]
fn strict_polyphonic_marks() {
    let (name, secs) = PIECES[1];
    exact_case(name, secs, (0.99, 0.99), 0);
}

/// Exact renders of corpus pieces the rules were not tuned on: low bass notes (Für Elise,
/// the invention), chords over held octaves (the happy farmer).
#[test]
fn exact_renders_of_other_pieces_score_perfectly() {
    for name in [
        "03_piano_beethoven_fur_elise.mid",
        "10_piano_bach_invention_1_mutopia.mid",
    ] {
        exact_case(name, 40.0, (1.0, 0.99), 0);
    }
    // The farmer: every note found, no extra note.
    let (notes, progs) = load("08_piano_schumann_happy_farmer.mid", 40.0);
    let ex = song(&notes, &progs, None);
    let r = run(&render(&ex, &tim()), &ex);
    assert_eq!(r.pitch_accuracy, 1.0, "farmer: missed {:?}", r.missed_notes);
    assert!(
        r.extra_notes.is_empty(),
        "farmer: extra {:?}",
        r.extra_notes
    );
}

/// The student of the issue: another SoundFont (or program), 0.9x tempo, 1.5 s of leading
/// silence, noise at 20 dB SNR.
fn student_render(notes: &[N], progs: &[(u8, u8)]) -> Vec<f32> {
    let fluid = PathBuf::from("/usr/share/sounds/sf2/FluidR3_GM.sf2");
    let (student_sf, program) = if fluid.exists() {
        (load_soundfont(&fluid).unwrap(), None)
    } else {
        // No second SoundFont: another piano program of the first one.
        (tim(), Some(1))
    };
    // 0.9x tempo: every time / 0.9; 1.5 s of silence before.
    let student: Vec<N> = notes
        .iter()
        .map(|n| N {
            start: 1.5 + n.start / 0.9,
            end: 1.5 + n.end / 0.9,
            ..*n
        })
        .collect();
    let mut rec = render(&song(&student, progs, program), &student_sf);
    add_noise(&mut rec, 20.0, 7);
    rec
}

#[test]
fn student_with_other_soundfont_slower_late_and_noisy() {
    // The farmer too: chords over held octaves, and FluidR3's low piano content at chord
    // onsets (which once read as ~20 low extra notes).
    let farmer = ("08_piano_schumann_happy_farmer.mid", 40.0);
    for (name, secs) in PIECES.into_iter().chain([farmer]) {
        let (notes, progs) = load(name, secs);
        let ex = song(&notes, &progs, None);
        let r = run(&student_render(&notes, &progs), &ex);
        eprintln!("{name}");
        assert!(
            r.pitch_accuracy >= 0.97,
            "{name}: pitch {}",
            r.pitch_accuracy
        );
        assert!(
            r.rhythm_accuracy >= 0.97,
            "{name}: rhythm {}",
            r.rhythm_accuracy
        );
        assert!(
            (r.tempo_ratio - 1.0 / 0.9).abs() < 0.01,
            "{name}: ratio {}",
            r.tempo_ratio
        );
        assert!(
            (r.offset_seconds - 1.5).abs() < 0.1,
            "{name}: offset {}",
            r.offset_seconds
        );
        // At most one false extra note per hundred notes (march 0 of 218, minuet 0, farmer 2
        // of 277: low notes under chords; three E3 "extras" under E4 in the march once).
        assert!(
            r.extra_notes.len() <= notes.len() / 100,
            "{name}: extra {:?}",
            r.extra_notes
        );
    }
}

/// What was injected into one piece: expected-note indices (of `expected_notes`) per class.
#[derive(Default)]
struct Injected {
    transposed: Vec<(usize, u8)>,
    shifted: Vec<(usize, f64)>,
    dropped: Vec<usize>,
    extra: Vec<(f64, u8)>,
}

impl Injected {
    /// What was done to note `i`: "D" dropped, "T" transposed, "S" shifted, "P" played.
    fn status(&self, i: usize) -> &'static str {
        if self.dropped.contains(&i) {
            "D"
        } else if self.transposed.iter().any(|&(j, _)| j == i) {
            "T"
        } else if self.shifted.iter().any(|&(j, _)| j == i) {
            "S"
        } else {
            "P"
        }
    }
}

fn inject(notes: &[N], seed: u64) -> (Vec<N>, Injected) {
    let mut rng = Rng(seed);
    let n = notes.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let (nt, ns, nd, ne) = (n / 10, n / 10, n / 20, n / 20);
    let mut inj = Injected::default();
    let mut out: Vec<Option<N>> = notes.iter().map(|&x| Some(x)).collect();
    let mut it = order.into_iter();
    // Transpose by a semitone; skip notes where the new pitch would double another note
    // sounding at that moment (a unison nobody could hear).
    while inj.transposed.len() < nt {
        let Some(i) = it.next() else { break };
        let d: i32 = if rng.next().is_multiple_of(2) { 1 } else { -1 };
        let q = (notes[i].pitch as i32 + d) as u8;
        let clash = notes.iter().any(|m| {
            m.pitch == q && m.start < notes[i].start + 0.15 && m.end > notes[i].start - 0.05
        });
        if clash {
            continue;
        }
        out[i] = Some(N {
            pitch: q,
            ..notes[i]
        });
        inj.transposed.push((i, q));
    }
    while inj.shifted.len() < ns {
        let Some(i) = it.next() else { break };
        let d = if rng.next().is_multiple_of(2) || notes[i].start < 0.2 {
            0.1
        } else {
            -0.1
        };
        // Not onto another attack of the same key (a double strike nobody could hear).
        let t = notes[i].start + d;
        let double = notes
            .iter()
            .enumerate()
            .any(|(j, m)| j != i && m.pitch == notes[i].pitch && (m.start - t).abs() < 0.15);
        if double {
            continue;
        }
        out[i] = Some(N {
            start: notes[i].start + d,
            end: notes[i].end + d,
            ..notes[i]
        });
        inj.shifted.push((i, d));
    }
    while inj.dropped.len() < nd {
        let Some(i) = it.next() else { break };
        // Not one of a unison (another voice strikes the same key with it: still heard).
        let unison = notes.iter().enumerate().any(|(j, m)| {
            j != i && m.pitch == notes[i].pitch && (m.start - notes[i].start).abs() < 0.05
        });
        if unison {
            continue;
        }
        out[i] = None;
        inj.dropped.push(i);
    }
    let (lo, hi) = notes
        .iter()
        .fold((127u8, 0u8), |(a, b), m| (a.min(m.pitch), b.max(m.pitch)));
    let t_end = notes.iter().map(|m| m.start).fold(0.0, f64::max);
    let written_only = std::env::var_os("HARNESS_EXTRA_WRITTEN_ONLY").is_some();
    let mut extra = Vec::new();
    while extra.len() < ne {
        let t = 0.5 + rng.unit() * (t_end - 0.5);
        let p = lo + (rng.next() % (hi - lo + 1) as u64) as u8;
        // Not a doubling (same pitch class starting within 150 ms) of a written note, nor of
        // a note as the student plays it (transposed onto that pitch class or shifted near
        // it): a strike hidden in another of its key, or in its octave, nobody could hear
        // (from session 12; HARNESS_EXTRA_WRITTEN_ONLY checks the written notes only, as the
        // tables before did).
        let doubles = |m: &N| m.pitch % 12 == p % 12 && (m.start - t).abs() < 0.15;
        if notes.iter().any(doubles) || (!written_only && out.iter().flatten().any(doubles)) {
            continue;
        }
        // Nor a semitone from a dropped note, within 100 ms of it: a note left out and its
        // neighbour played in its place is a wrong note, and is reported as one (from session
        // 12; not with HARNESS_EXTRA_WRITTEN_ONLY).
        if !written_only
            && inj.dropped.iter().any(|&i| {
                (notes[i].pitch as i32 - p as i32).abs() == 1 && (notes[i].start - t).abs() < 0.1
            })
        {
            continue;
        }
        // Struck like the written note nearest in time (a student's slip has the dynamics of
        // the passage around it).
        let like = notes
            .iter()
            .min_by(|a, b| (a.start - t).abs().total_cmp(&(b.start - t).abs()))
            .unwrap();
        // HARNESS_EXTRA_VEL: a fixed velocity instead (90 until session 7, for comparison).
        let vel = std::env::var("HARNESS_EXTRA_VEL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(like.vel);
        extra.push(N {
            start: t,
            end: t + 0.3,
            pitch: p,
            vel,
            ch: like.ch,
        });
        inj.extra.push((t, p));
    }
    // A key cannot be struck while it is held down: a student who strikes a held key again
    // has released it first, and releases an extra note before the written one on its key.
    for x in extra.iter_mut() {
        for m in out.iter_mut().flatten() {
            if m.pitch != x.pitch {
                continue;
            }
            if m.start < x.start && m.end > x.start {
                m.end = x.start;
            }
            if m.start > x.start && m.start < x.end {
                x.end = m.start;
            }
        }
    }
    let mut all: Vec<N> = out.into_iter().flatten().chain(extra).collect();
    all.sort_by(|a, b| a.start.total_cmp(&b.start));
    (all, inj)
}

/// Injected errors over both pieces and three seeds: every class found with recall >= 0.95
/// (the figure) at the right notes, with few reports that match no injected error.
/// `harness` prints the same counts for other draws (`HARNESS_SEEDS=1,2,3`).
#[test]
fn injected_errors_are_found_at_the_right_notes() {
    error_recall([0.95; 4], [0.1, 0.05, 0.05, 0.15]);
}

/// Injected errors on three pieces the first rules were not developed on (low bass, chords over
/// held octaves). The 0.95 is not reached here yet for extra notes (on these seeds at
/// session 13's end: [0.996, 0.987, 0.964, 0.883], false [5, 1, 9, 13] of [228, 228, 111, 111];
/// session 12: [0.996, 0.987, 0.964, 0.874], false [6, 1, 9, 13]; with extras kept
/// off the written notes only, as before session 12: [0.996, 0.987, 0.964, 0.883], false
/// [5, 1, 9, 12]; session 9:
/// [0.991, 0.987, 0.964, 0.883], the same false; session 8: [0.991, 0.987, 0.955, 0.883],
/// false [5, 1, 9, 13]; session 7: [0.987, 0.982, 0.910, 0.865], false [5, 6, 9, 13]); these
/// floors sit just under what is reached so that a rule change which loses ground on them
/// fails.
/// (Until session 7 extra notes were struck at velocity 90 whatever the piece's dynamics, and a
/// note of a unison could be dropped: then [0.978, 0.974, 0.928, 0.829], false [9, 13, 10, 18].)
#[test]
fn injected_errors_on_other_pieces_hold_their_floor() {
    error_recall_on(
        &[
            ("03_piano_beethoven_fur_elise.mid", 40.0),
            ("10_piano_bach_invention_1_mutopia.mid", 40.0),
            ("08_piano_schumann_happy_farmer.mid", 40.0),
        ],
        &SEEDS[..3],
        [0.95, 0.95, 0.94, 0.87],
        [0.04, 0.04, 0.1, 0.15],
    );
}

/// All five pieces over 20 draws (seeds 20000-20019, among session 11's tuning draws: 2340
/// transposed and shifted notes, 1140 dropped and extra ones). Reached at session 14's end:
/// [0.991, 0.985, 0.957, 0.957], false [17, 35, 83, 80]; session 13: [0.991, 0.985, 0.957,
/// 0.954], false [17, 35, 83, 82]; session 12: [0.991, 0.984, 0.957,
/// 0.947], false [22, 35, 83, 84] (with extras kept off the written notes only, as at session
/// 11's end: [0.991, 0.985, 0.951, 0.927], false [29, 44, 83, 86]). The floors sit just under,
/// so that a rule which loses ground on the corpus as a whole fails even where the few draws
/// above do not move. On the 100 validation draws every class reaches the 0.95 since
/// session 14 (extra notes 0.952; BENCHMARKS.md, sessions 11-14).
#[test]
fn injected_errors_over_many_draws_hold_their_floor() {
    let seeds: Vec<u64> = (20000..20020).collect();
    error_recall_on(
        &[
            ("02_melody_folk_march_type0.mid", 40.0),
            ("09_piano_bach_minuet_g_mutopia.mid", 40.0),
            ("03_piano_beethoven_fur_elise.mid", 40.0),
            ("10_piano_bach_invention_1_mutopia.mid", 40.0),
            ("08_piano_schumann_happy_farmer.mid", 40.0),
        ],
        &seeds,
        [0.985, 0.98, 0.95, 0.95],
        [0.02, 0.03, 0.09, 0.08],
    );
}

/// Per-class counts of one injected-error run: found, injected, false reports.
#[derive(Default, Clone, Copy, Debug)]
struct Counts {
    found: [usize; 4],
    total: [usize; 4],
    false_pos: [usize; 4],
    /// Exact-class-free pitch accuracy of the student run (right pitch / expected).
    pitch: f64,
}

/// Injects errors with `seed` into `name`, renders, analyses, counts per class.
fn error_counts(name: &str, secs: f64, seed: u64, verbose: bool) -> Counts {
    let sf = tim();
    let mut c = Counts::default();
    let (found, total, false_pos) = (&mut c.found, &mut c.total, &mut c.false_pos);
    {
        let (notes, progs) = load(name, secs);
        let ex = song(&notes, &progs, None);
        // The analysis numbers notes like `expected_notes`: map test notes to those indices.
        let exp = expected_notes(&ex);
        let idx = |n: &N| {
            exp.iter()
                .position(|e| e.pitch == n.pitch && (e.start - n.start).abs() < 1e-9)
                .unwrap()
        };
        let (student, inj) = inject(&notes, seed);
        let mut rec = render(&song(&student, &progs, None), &sf);
        add_noise(&mut rec, 30.0, 99);
        let r = run(&rec, &ex);
        // HARNESS_INJ: the injected notes (transposed, shifted, dropped, extra), for tracing rules.
        if std::env::var_os("HARNESS_INJ").is_some() {
            for &(i, _) in &inj.transposed {
                eprintln!("INJ T {}", idx(&notes[i]));
            }
            for &(i, _) in &inj.shifted {
                eprintln!("INJ S {}", idx(&notes[i]));
            }
            for &i in &inj.dropped {
                eprintln!("INJ D {}", idx(&notes[i]));
            }
            for &(t, p) in &inj.extra {
                eprintln!("INJ X {t:.4} {p}");
            }
        }
        // HARNESS_DUMP=dir: the recording (f32 stereo, 44.1 kHz) and the notes with what was
        // injected and what the analysis reported, for offline study.
        if let Ok(dir) = std::env::var("HARNESS_DUMP") {
            let stem = format!("{dir}/{}_{seed}", name.trim_end_matches(".mid"));
            let b: Vec<u8> = rec.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(format!("{stem}.f32"), b).unwrap();
            let mut t = String::new();
            for (i, n) in notes.iter().enumerate() {
                let e = idx(n);
                let st = inj.status(i);
                let missed = r.missed_notes.iter().any(|m| m.note_index == e) as u8;
                t += &format!(
                    "N {e} {} {:.4} {:.4} {} {st} {missed}\n",
                    n.pitch, n.start, n.end, n.vel
                );
            }
            for &(tx, p) in &inj.extra {
                let found = r
                    .extra_notes
                    .iter()
                    .any(|x| x.pitch == p && (x.played_time - tx).abs() < 0.07)
                    as u8;
                t += &format!("X {p} {tx:.4} {found}\n");
            }
            for x in &r.extra_notes {
                t += &format!("R {} {:.4}\n", x.pitch, x.played_time);
            }
            for w in &r.wrong_pitch_notes {
                t += &format!(
                    "W {} {} {:.4}\n",
                    w.note_index, w.played_pitch, w.played_time
                );
            }
            std::fs::write(format!("{stem}.tsv"), t).unwrap();
        }
        c.pitch = r.pitch_accuracy;
        for &(i, q) in &inj.transposed {
            total[0] += 1;
            let e = idx(&notes[i]);
            if r.wrong_pitch_notes
                .iter()
                .any(|w| w.note_index == e && w.played_pitch == q)
            {
                found[0] += 1;
            } else if verbose {
                eprintln!(
                    "{name}: transposed note {e} ({} -> {q}) at {:.2} not found",
                    notes[i].pitch, notes[i].start
                );
            }
        }
        for &(i, d) in &inj.shifted {
            total[1] += 1;
            let e = idx(&notes[i]);
            let hit = r.timing_deviations.iter().find(|t| t.note_index == e);
            if hit.is_some_and(|t| !t.on_time && (t.deviation_ms - d * 1000.0).abs() < 40.0) {
                found[1] += 1;
            } else if verbose {
                eprintln!(
                    "{name}: shifted note {e} ({:+.0} ms) at {:.2}: {hit:?}",
                    d * 1e3,
                    notes[i].start
                );
            }
        }
        for &i in &inj.dropped {
            total[2] += 1;
            let e = idx(&notes[i]);
            if r.missed_notes.iter().any(|m| m.note_index == e) {
                found[2] += 1;
            } else if verbose {
                let near: Vec<String> = student
                    .iter()
                    .filter(|m| {
                        (m.start - notes[i].start).abs() < 0.1
                            || (m.start < notes[i].start && m.end > notes[i].start)
                    })
                    .map(|m| format!("{}@{:.2}-{:.2}", m.pitch, m.start, m.end))
                    .collect();
                let how = r.timing_deviations.iter().find(|t| t.note_index == e);
                let score: Vec<String> = notes
                    .iter()
                    .filter(|m| (m.start - notes[i].start).abs() < 0.4)
                    .map(|m| format!("{}@{:.2}", m.pitch, m.start))
                    .collect();
                eprintln!("   score near: {score:?}");
                eprintln!(
                    "{name}: dropped note {e} (pitch {}) at {:.2} not reported; student near: {near:?}; judged {how:?}",
                    notes[i].pitch, notes[i].start
                );
            }
        }
        for &(t, p) in &inj.extra {
            total[3] += 1;
            if r.extra_notes
                .iter()
                .any(|x| x.pitch == p && (x.played_time - t).abs() < 0.07)
            {
                found[3] += 1;
            } else if verbose {
                let near: Vec<String> = student
                    .iter()
                    .filter(|m| (m.start - t).abs() < 0.5 || (m.start < t && m.end > t))
                    .map(|m| format!("{}@{:.2}-{:.2}", m.pitch, m.start, m.end))
                    .collect();
                let rep: Vec<String> = r
                    .extra_notes
                    .iter()
                    .filter(|x| (x.played_time - t).abs() < 0.5)
                    .map(|x| format!("{}@{:.2}", x.pitch, x.played_time))
                    .collect();
                let same: Vec<String> = notes
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.pitch == p && (m.start - t).abs() < 0.6)
                    .map(|(j, m)| {
                        let st = inj.status(j);
                        let e = idx(m);
                        let dev = r
                            .timing_deviations
                            .iter()
                            .find(|d| d.note_index == e)
                            .map(|d| (d.played_time - t, d.on_time));
                        format!("{st}{:+.2} judged {dev:?}", m.start - t)
                    })
                    .collect();
                eprintln!(
                    "{name}: extra note {p} at {t:.2} not reported; student near: {near:?}; reported near: {rep:?}; same key written: {same:?}"
                );
            }
        }
        // Reports that match no injected error.
        let wrong_ok: Vec<usize> = inj
            .transposed
            .iter()
            .map(|&(i, _)| idx(&notes[i]))
            .collect();
        false_pos[0] += r
            .wrong_pitch_notes
            .iter()
            .filter(|w| !wrong_ok.contains(&w.note_index))
            .count();
        let shift_ok: Vec<usize> = inj.shifted.iter().map(|&(i, _)| idx(&notes[i])).collect();
        false_pos[1] += r
            .timing_deviations
            .iter()
            .filter(|t| !t.on_time && !shift_ok.contains(&t.note_index))
            .count();
        let drop_ok: Vec<usize> = inj.dropped.iter().map(|&i| idx(&notes[i])).collect();
        false_pos[2] += r
            .missed_notes
            .iter()
            .filter(|m| !drop_ok.contains(&m.note_index))
            .count();
        for x in r.extra_notes.iter().filter(|x| {
            !inj.extra
                .iter()
                .any(|&(t, p)| x.pitch == p && (x.played_time - t).abs() < 0.07)
        }) {
            let near: Vec<String> = student
                .iter()
                .filter(|m| (m.start - x.played_time).abs() < 0.3)
                .map(|m| format!("{}@{:.2}", m.pitch, m.start))
                .collect();
            if verbose {
                eprintln!(
                    "{name}: false extra {} at {:.2}; student near: {near:?}",
                    x.pitch, x.played_time
                );
            }
        }
        false_pos[3] += r
            .extra_notes
            .iter()
            .filter(|x| {
                !inj.extra
                    .iter()
                    .any(|&(t, p)| x.pitch == p && (x.played_time - t).abs() < 0.07)
            })
            .count();
    }
    c
}

/// Seeds of the harness and of the assertions (so nothing is tuned to one draw).
const SEEDS: [u64; 4] = [1234, 1235, 7, 42];

/// Before/after harness: per seed and piece, recall and false reports per class, and the
/// exact-exercise and student pitch accuracy. `cargo test --release --test analysis harness
/// -- --ignored --nocapture`.
#[test]
#[ignore = "harness: prints figures, asserts nothing"]
fn harness() {
    let sf = tim();
    // HARNESS_PIECES=file.mid:secs,... runs other corpus pieces instead.
    let pieces: Vec<(String, f64)> = std::env::var("HARNESS_PIECES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|x| {
                    let (n, s) = x.split_once(':')?;
                    Some((n.trim().to_string(), s.trim().parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_else(|| PIECES.iter().map(|&(n, s)| (n.to_string(), s)).collect());
    for (name, secs) in pieces.iter().map(|(n, s)| (n.as_str(), *s)) {
        if let Some(only) = std::env::var_os("HARNESS_PIECE")
            && !name.contains(&*only.to_string_lossy())
        {
            continue;
        }
        let (notes, progs) = load(name, secs);
        let ex = song(&notes, &progs, None);
        // HARNESS_VERBOSE: every miss and extra with the score around it.
        let verbose = |label: &str, r: &AnalysisReport| {
            if std::env::var_os("HARNESS_VERBOSE").is_none() {
                return;
            }
            let exp = expected_notes(&ex);
            let near = |t: f64| -> Vec<String> {
                exp.iter()
                    .filter(|e| (e.start - t).abs() < 0.4)
                    .map(|e| format!("{}@{:.2}-{:.2}", e.pitch, e.start, e.end))
                    .collect()
            };
            for m in &r.missed_notes {
                let prev = near(m.expected_time);
                eprintln!(
                    "{label} missed {} at {:.2} (rec {:.2}): {prev:?}",
                    m.pitch, m.expected_time, m.aligned_expected_time
                );
            }
            for x in &r.extra_notes {
                let prev = near(x.score_time);
                eprintln!(
                    "{label} extra {} at {:.2} (score {:.2}): {prev:?}",
                    x.pitch, x.played_time, x.score_time
                );
            }
        };
        let dump = |label: &str, rec: &[f32], r: &AnalysisReport, scale: f64, lead: f64| {
            let Ok(dir) = std::env::var("HARNESS_DUMP") else {
                return;
            };
            let stem = format!("{dir}/{}_{label}", name.trim_end_matches(".mid"));
            let b: Vec<u8> = rec.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(format!("{stem}.f32"), b).unwrap();
            let mut t = String::new();
            for (e, n) in expected_notes(&ex).iter().enumerate() {
                let missed = r.missed_notes.iter().any(|m| m.note_index == e) as u8;
                t += &format!(
                    "N {e} {} {:.4} {:.4} {} P {missed}\n",
                    n.pitch,
                    lead + n.start / scale,
                    lead + n.end / scale,
                    n.velocity
                );
            }
            std::fs::write(format!("{stem}.tsv"), t).unwrap();
        };
        let rec = render(&ex, &sf);
        let r = run(&rec, &ex);
        dump("exact", &rec, &r, 1.0, 0.0);
        verbose("exact", &r);
        eprintln!(
            "HARNESS {name} exact: pitch {:.4} missed {} extra {} wrong {}",
            r.pitch_accuracy,
            r.missed_notes.len(),
            r.extra_notes.len(),
            r.wrong_pitch_notes.len()
        );
        let rec = student_render(&notes, &progs);
        let r = run(&rec, &ex);
        dump("student", &rec, &r, 0.9, 1.5);
        verbose("student", &r);
        eprintln!(
            "HARNESS {name} student (other SoundFont, 0.9x, 1.5 s, 20 dB): pitch {:.4} rhythm {:.4} missed {} extra {} wrong {}",
            r.pitch_accuracy,
            r.rhythm_accuracy,
            r.missed_notes.len(),
            r.extra_notes.len(),
            r.wrong_pitch_notes.len()
        );
        // HARNESS_SEEDS=1,2,3 runs other draws (a check that nothing is tuned to SEEDS).
        let seeds: Vec<u64> = std::env::var("HARNESS_SEEDS")
            .ok()
            .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
            .unwrap_or_else(|| SEEDS.to_vec());
        for seed in seeds {
            if let Some(only) = std::env::var_os("HARNESS_SEED")
                && only.to_string_lossy() != seed.to_string()
            {
                continue;
            }
            let c = error_counts(
                name,
                secs,
                seed,
                std::env::var_os("HARNESS_VERBOSE").is_some(),
            );
            eprintln!(
                "HARNESS {name} seed {seed}: found {:?} of {:?} false {:?} student pitch {:.4}",
                c.found, c.total, c.false_pos, c.pitch
            );
        }
    }
}

fn error_recall(min_recall: [f64; 4], max_false: [f64; 4]) {
    error_recall_on(&PIECES, &SEEDS[..3], min_recall, max_false);
}

/// Pooled recall and false reports per class over `pieces` x `seeds`, asserted.
fn error_recall_on(
    pieces: &[(&str, f64)],
    seeds: &[u64],
    min_recall: [f64; 4],
    max_false: [f64; 4],
) {
    let mut found = [0usize; 4];
    let mut total = [0usize; 4];
    let mut false_pos = [0usize; 4];
    for &(name, secs) in pieces {
        for seed in seeds {
            let c = error_counts(name, secs, *seed, true);
            for i in 0..4 {
                found[i] += c.found[i];
                total[i] += c.total[i];
                false_pos[i] += c.false_pos[i];
            }
        }
    }
    eprintln!("found {found:?} of {total:?}; false positives {false_pos:?}");
    for (c, label) in ["transposed", "shifted", "dropped", "extra"]
        .iter()
        .enumerate()
    {
        let recall = found[c] as f64 / total[c] as f64;
        assert!(total[c] >= 10, "{label}: only {} injected", total[c]);
        assert!(
            recall >= min_recall[c],
            "{label}: recall {recall:.3} ({}/{})",
            found[c],
            total[c]
        );
        // Precision: at most a few reports that match no injected error.
        assert!(
            false_pos[c] as f64 <= max_false[c] * total[c] as f64,
            "{label}: {} false reports",
            false_pos[c]
        );
    }
}

/// Für Elise repeats its opening; with errors injected (seed 7) the coarse alignment once
/// squeezed the 40 s score into the first 22 s of the recording (tempo ratio 0.58, pitch
/// accuracy 0.375). Steps that stay on one frame now cost more than moving on both.
#[test]
fn repeated_passages_do_not_fold_the_alignment() {
    let (notes, progs) = load("03_piano_beethoven_fur_elise.mid", 40.0);
    let ex = song(&notes, &progs, None);
    let (student, _) = inject(&notes, 7);
    let mut rec = render(&song(&student, &progs, None), &tim());
    add_noise(&mut rec, 30.0, 99);
    let r = run(&rec, &ex);
    assert!(
        (r.tempo_ratio - 1.0).abs() < 0.02 && r.offset_seconds.abs() < 0.05,
        "ratio {} offset {}",
        r.tempo_ratio,
        r.offset_seconds
    );
    assert!(r.pitch_accuracy > 0.8, "pitch {}", r.pitch_accuracy);
}
