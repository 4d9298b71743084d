//! MIDI rendering checks on the shared corpus (`$SHARED_DIR/midi`, default `<workspace>/../shared`)
//! and on small generated files. They assert on the sound: FFT pitch, onset times, decay
//! energy, levels against FluidSynth.

use std::path::PathBuf;
use std::sync::Arc;

use audio_core::Source;
use audio_core::measure;
use audio_core::midi::{
    MidiError, MidiEvent, MidiFormat, MidiOptions, MidiSong, MidiSource, load_soundfont,
};

fn shared() -> PathBuf {
    std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn corpus(name: &str) -> PathBuf {
    shared().join("midi").join(name)
}

fn soundfont() -> Arc<audio_synth::SoundFont> {
    let p = audio_core::midi::default_soundfont_path();
    load_soundfont(&p).unwrap_or_else(|e| {
        panic!("SoundFont needed for MIDI tests ({e}); install timgm6mb-soundfont")
    })
}

fn render(song: &MidiSong, opts: &MidiOptions) -> Vec<f32> {
    let mut src = MidiSource::new(song, &soundfont(), opts).unwrap();
    src.render_to_end(|_| {})
}

fn dry() -> MidiOptions {
    MidiOptions {
        reverb: None,
        ..MidiOptions::default()
    }
}

fn left(x: &[f32]) -> Vec<f32> {
    x.iter().step_by(2).copied().collect()
}

fn ev(time: f64, channel: u8, command: u8, data1: u8, data2: u8) -> MidiEvent {
    MidiEvent {
        time,
        channel,
        command,
        data1,
        data2,
    }
}

fn song(events: Vec<MidiEvent>, end_time: f64) -> MidiSong {
    MidiSong {
        path: "<test>".into(),
        format: MidiFormat::Single,
        events,
        end_time,
        tempo_changes: 0,
        warnings: vec![],
    }
}

fn segment(x: &[f32], sr: f64, from: f64, to: f64) -> Vec<f32> {
    let l = left(x);
    l[(from * sr) as usize..((to * sr) as usize).min(l.len())].to_vec()
}

#[test]
fn a4_piano_is_440_hz_at_several_rates() {
    for sr in [44_100u32, 22_050, 96_000] {
        let s = song(
            vec![
                ev(0.0, 0, 0xC0, 0, 0),
                ev(0.0, 0, 0x90, 69, 100),
                ev(1.5, 0, 0x80, 69, 0),
            ],
            1.5,
        );
        let opts = MidiOptions {
            sample_rate: sr,
            ..dry()
        };
        let x = render(&s, &opts);
        let f =
            measure::dominant_frequency(&segment(&x, sr as f64, 0.1, 1.1), sr as f64, 300.0, 600.0);
        assert!((f - 440.0).abs() < 1.0, "{sr} Hz: A4 measured {f:.2} Hz");
    }
}

#[test]
fn pitch_bend_follows_rpn_range() {
    // Program 19 (church organ): steady pitch. A4 with bend values under two bend ranges.
    let cases = [
        // (range semitones via RPN 0/0 or None = default 2, bend value, expected semitones)
        (None, 8192 + 4096, 1.0),
        (None, 0, -2.0),
        (Some(12u8), 8192 + 4096, 6.0),
        (Some(7u8), 16383, 7.0 * 8191.0 / 8192.0),
    ];
    for (range, bend, semis) in cases {
        let mut evs = vec![ev(0.0, 0, 0xC0, 19, 0)];
        if let Some(r) = range {
            evs.extend([
                ev(0.0, 0, 0xB0, 101, 0),
                ev(0.0, 0, 0xB0, 100, 0),
                ev(0.0, 0, 0xB0, 6, r),
                ev(0.0, 0, 0xB0, 38, 0),
            ]);
        }
        evs.extend([
            ev(0.0, 0, 0xE0, (bend & 0x7F) as u8, (bend >> 7) as u8),
            ev(0.0, 0, 0x90, 69, 100),
            ev(1.2, 0, 0x80, 69, 0),
        ]);
        let x = render(&song(evs, 1.2), &dry());
        let want = 440.0 * 2f64.powf(semis / 12.0);
        let f = measure::dominant_frequency(
            &segment(&x, 44100.0, 0.2, 1.1),
            44100.0,
            want * 0.8,
            want * 1.25,
        );
        assert!(
            (f / want - 1.0).abs() < 0.003,
            "range {range:?} bend {bend}: {f:.2} Hz, want {want:.2}"
        );
    }
}

#[test]
fn sustain_pedal_lengthens_release() {
    // Piano C4 held 0.3 s; release measured 0.3..1.3 s after note-off.
    let energy = |pedal: bool| {
        let mut evs = vec![ev(0.0, 0, 0xC0, 0, 0)];
        if pedal {
            evs.push(ev(0.0, 0, 0xB0, 64, 127));
        }
        evs.extend([ev(0.01, 0, 0x90, 60, 100), ev(0.31, 0, 0x80, 60, 0)]);
        if pedal {
            evs.push(ev(2.5, 0, 0xB0, 64, 0));
        }
        let x = render(&song(evs, 2.5), &dry());
        measure::rms(&segment(&x, 44100.0, 0.6, 1.6))
    };
    let (with, without) = (energy(true), energy(false));
    let db = 20.0 * (with / without.max(1e-12)).log10();
    assert!(
        db > 12.0,
        "pedal release only {db:.1} dB louder ({with} vs {without})"
    );
}

/// Note-on times (seconds) computed independently of `MidiSong`: midly events, ticks merged
/// over all tracks, every tempo event applied.
fn reference_onsets(path: &PathBuf) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap();
    let smf = midly::Smf::parse(&bytes).unwrap();
    let midly::Timing::Metrical(ppq) = smf.header.timing else {
        panic!("corpus file uses metrical time")
    };
    let mut tempos = vec![];
    let mut notes = vec![];
    for track in &smf.tracks {
        let mut tick = 0u64;
        for e in track {
            tick += e.delta.as_int() as u64;
            match e.kind {
                midly::TrackEventKind::Meta(midly::MetaMessage::Tempo(t)) => {
                    tempos.push((tick, t.as_int() as f64))
                }
                midly::TrackEventKind::Midi {
                    message: midly::MidiMessage::NoteOn { vel, .. },
                    ..
                } if vel > 0 => notes.push(tick),
                _ => {}
            }
        }
    }
    tempos.sort_by_key(|t| t.0);
    let sec = |tick: u64| {
        let (mut t, mut last, mut us) = (0.0, 0u64, 500_000.0);
        for &(tt, v) in &tempos {
            if tt >= tick {
                break;
            }
            t += (tt - last) as f64 * us / 1e6 / ppq.as_int() as f64;
            last = tt;
            us = v;
        }
        t + (tick - last) as f64 * us / 1e6 / ppq.as_int() as f64
    };
    let mut out: Vec<f64> = notes.into_iter().map(sec).collect();
    out.sort_by(f64::total_cmp);
    out
}

/// First frame at or after `from` where |left| exceeds `thr`.
fn first_above(x: &[f32], from: usize, to: usize, thr: f32) -> Option<usize> {
    (from..to.min(x.len() / 2)).find(|&i| x[2 * i].abs() > thr)
}

#[test]
fn onsets_follow_the_tempo_map_within_2ms() {
    // Every note-on of the file (times from our loader) becomes a sharp drum click (hi wood
    // block, channel 10) so onsets are measurable in any texture; onsets isolated by 150 ms
    // are compared with an independent tick -> seconds computation.
    const CLICK: u8 = 76;
    let sr = 44100.0;
    let click_song = |times: &[f64]| {
        let mut evs: Vec<MidiEvent> = times.iter().map(|&t| ev(t, 9, 0x90, CLICK, 127)).collect();
        let end = times.last().copied().unwrap_or(0.0) + 0.5;
        evs.extend(times.iter().map(|&t| ev(t + 0.05, 9, 0x80, CLICK, 0)));
        evs.sort_by(|a, b| a.time.total_cmp(&b.time));
        song(evs, end)
    };
    // The click's own attack offset and decay, from one click at t = 0.1 s.
    let one = render(&click_song(&[0.1]), &dry());
    let peak = measure::peak(&left(&one));
    let thr = 0.2 * peak;
    let attack = first_above(&one, 0, 44100, thr).unwrap() as f64 / sr - 0.1;
    assert!(
        (0.0..0.01).contains(&attack),
        "click attack offset {attack}"
    );
    let tail = measure::peak(&left(&one)[((0.1 + 0.14) * 44100.0) as usize..]);
    assert!(
        tail < thr,
        "click must decay below the threshold within 140 ms"
    );

    for name in [
        "01_melody_c_major_scale.mid",
        "02_melody_folk_march_type0.mid",
        "09_piano_bach_minuet_g_mutopia.mid",
        "17_gm_mma_tempo_changes.mid",
    ] {
        let path = corpus(name);
        let loaded = MidiSong::load(&path).unwrap();
        let mut ours = loaded.note_on_times(None);
        ours.sort_by(f64::total_cmp);
        ours.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let mut expected = reference_onsets(&path);
        expected.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        assert_eq!(ours.len(), expected.len(), "{name}: onset count");
        let x = render(&click_song(&ours), &dry());
        let mut checked = 0;
        for (i, &t) in expected.iter().enumerate() {
            if i > 0 && t - expected[i - 1] < 0.15 {
                continue;
            }
            let from = ((t - 0.02).max(0.0) * sr) as usize;
            let found = first_above(&x, from, from + 2205, thr)
                .unwrap_or_else(|| panic!("{name}: no onset near {t:.3} s"));
            let err = found as f64 / sr - attack - t;
            assert!(
                err.abs() < 0.002,
                "{name}: onset at {t:.4} s measured {:.4} s (error {:.2} ms)",
                t + err,
                err * 1e3
            );
            checked += 1;
        }
        assert!(checked >= 8, "{name}: only {checked} isolated onsets");
        eprintln!(
            "{name}: {checked} onsets within 2 ms, {} tempo events",
            loaded.tempo_changes
        );
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared().join("midi"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mid"))
        .collect();
    v.sort();
    assert!(v.len() >= 12, "corpus incomplete: {v:?}");
    v
}

fn read_wav(p: &std::path::Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(p).unwrap();
    match r.spec().sample_format {
        hound::SampleFormat::Int => {
            let s = 1.0 / (1u32 << (r.spec().bits_per_sample - 1)) as f32;
            r.samples::<i32>().map(|v| v.unwrap() as f32 * s).collect()
        }
        hound::SampleFormat::Float => r.samples::<f32>().map(|v| v.unwrap()).collect(),
    }
}

/// Sample peak <= -1 dBFS and 4x-oversampled (true) peak < 0 dBFS around the loudest sample.
fn assert_no_clipping(name: &str, x: &[f32]) {
    let l = left(x);
    let r: Vec<f32> = x.iter().skip(1).step_by(2).copied().collect();
    for ch in [&l, &r] {
        let peak = measure::peak(ch);
        assert!(peak <= 0.8913, "{name}: sample peak {peak}");
        let i = ch
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map_or(0, |(i, _)| i);
        // Windowed-sinc interpolation at quarter-sample offsets near the peak.
        let mut tp = 0.0f32;
        for c in i.saturating_sub(8)..(i + 8).min(ch.len()) {
            for q in 0..4 {
                let t = c as f64 + q as f64 / 4.0;
                let mut acc = 0.0;
                for k in (t as i64 - 16).max(0)..(t as i64 + 17).min(ch.len() as i64) {
                    let d = t - k as f64;
                    let sinc = if d.abs() < 1e-9 {
                        1.0
                    } else {
                        (std::f64::consts::PI * d).sin() / (std::f64::consts::PI * d)
                    };
                    let w = 0.5 + 0.5 * (std::f64::consts::PI * d / 17.0).cos();
                    acc += ch[k as usize] as f64 * sinc * w;
                }
                tp = tp.max(acc.abs() as f32);
            }
        }
        assert!(tp < 1.0, "{name}: true peak {tp}");
    }
}

#[test]
fn corpus_never_clips_and_matches_fluidsynth_level() {
    let fluid = std::process::Command::new("fluidsynth")
        .arg("--version")
        .output()
        .is_ok();
    if !fluid {
        eprintln!(
            "SKIP RMS comparison: `fluidsynth` is not installed (apt-get install fluidsynth); clipping is still checked"
        );
    }
    let sf = audio_core::midi::default_soundfont_path();
    let dir = tempfile::tempdir().unwrap();
    let mut report = vec![];
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let x = render(&MidiSong::load(&path).unwrap(), &MidiOptions::default());
        assert_no_clipping(&name, &x);
        if !fluid {
            continue;
        }
        let out = dir.path().join(format!("{name}.wav"));
        let st = std::process::Command::new("fluidsynth")
            .args(["-ni", "-q", "-F"])
            .arg(&out)
            .args(["-r", "44100"])
            .arg(&sf)
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success(), "fluidsynth failed on {name}");
        let y = read_wav(&out);
        let (a, b) = (measure::rms_dbfs(&x), measure::rms_dbfs(&y));
        report.push(format!(
            "{name}: ours {a:.2} dBFS, fluidsynth {b:.2} dBFS, diff {:+.2} dB",
            a - b
        ));
        assert!(
            (a - b).abs() < 3.0,
            "{name}: RMS {a:.2} dBFS vs FluidSynth {b:.2} dBFS"
        );
        std::fs::remove_file(&out).ok();
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn edge_files_render_or_fail_clearly() {
    let edge = |n: &str| corpus(&format!("edge/{n}"));
    // The C major scale C4..C5, one note per 0.5 s from t = 0: each half second's dominant
    // frequency (or its octave, for piano C4) must be the scale note.
    let assert_scale = |name: &str, x: &[f32]| {
        let scale = [261.63, 293.66, 329.63, 349.23, 392.0, 440.0, 493.88, 523.25];
        for (i, f) in scale.iter().enumerate() {
            let seg = segment(x, 44100.0, 0.5 * i as f64 + 0.05, 0.5 * i as f64 + 0.45);
            let m = measure::dominant_frequency(&seg, 44100.0, 240.0, 560.0);
            let ok = (m / f - 1.0).abs() < 0.02 || (m / (2.0 * f) - 1.0).abs() < 0.02;
            assert!(ok, "{name}: note {i} measured {m:.1} Hz, want {f} Hz");
        }
    };
    for name in [
        "test-2-tracks-type-0.mid",
        "test-2-tracks-type-1.mid",
        "test-2-tracks-type-2.mid",
        "test-all-gm-percussion.mid",
        "test-control-40-damper.mid",
        "test-corrupt-file-missing-byte.mid",
        "test-rpn-00-00-pitch-bend-range.mid",
        "test-running-status-metaevent.mid",
        "test-smpte-offset.mid",
    ] {
        let s = MidiSong::load(edge(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let x = render(&s, &dry());
        assert!(measure::rms_dbfs(&x) > -50.0, "{name}: silent");
        assert_no_clipping(name, &x);
        eprintln!(
            "{name}: {} notes, {:.2} s, warnings {:?}",
            s.note_count(),
            x.len() as f64 / 88200.0,
            s.warnings
        );
    }
    // Malformed type 0 with two tracks plays exactly like its valid type-1 twin.
    let t0 = render(
        &MidiSong::load(edge("test-2-tracks-type-0.mid")).unwrap(),
        &dry(),
    );
    let t1 = render(
        &MidiSong::load(edge("test-2-tracks-type-1.mid")).unwrap(),
        &dry(),
    );
    assert_eq!(t0, t1);
    assert!(
        !MidiSong::load(edge("test-2-tracks-type-0.mid"))
            .unwrap()
            .warnings
            .is_empty()
    );
    // Type 2 plays its two 8-note scales one after the other: twice as long, 16 separate notes.
    let s2 = MidiSong::load(edge("test-2-tracks-type-2.mid")).unwrap();
    let s1 = MidiSong::load(edge("test-2-tracks-type-1.mid")).unwrap();
    assert_eq!(s2.format, MidiFormat::Sequential);
    assert!(
        (s2.end_time - 2.0 * s1.end_time).abs() < 0.01,
        "{} vs {}",
        s2.end_time,
        s1.end_time
    );
    let on2 = s2.note_on_times(None);
    assert!(
        on2.windows(2).all(|w| w[1] > w[0]),
        "type 2 notes must not overlap in time"
    );
    // Running status across a meta event: the whole C major scale (8 notes) is heard.
    let rs = MidiSong::load(edge("test-running-status-metaevent.mid")).unwrap();
    assert_eq!(rs.note_count(), 8);
    assert_scale("running status", &render(&rs, &dry()));
    // Truncated file: the scale is still heard.
    let tr = MidiSong::load(edge("test-corrupt-file-missing-byte.mid")).unwrap();
    assert_scale("truncated", &render(&tr, &dry()));
    // SMPTE offset is ignored: the first note starts at 0.
    let sm = MidiSong::load(edge("test-smpte-offset.mid")).unwrap();
    assert_eq!(sm.note_on_times(None)[0], 0.0);
}

#[test]
fn corrupt_inputs_fail_with_documented_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("garbage.mid");
    std::fs::write(&p, b"this is not a MIDI file at all").unwrap();
    let e = MidiSong::load(&p).unwrap_err();
    assert!(
        matches!(e, MidiError::Parse { .. }) && e.to_string().contains("garbage.mid"),
        "{e}"
    );
    // A header that lies about its length.
    let p2 = dir.path().join("short.mid");
    std::fs::write(&p2, b"MThd\x00\x00\x00\x06\x00").unwrap();
    assert!(matches!(MidiSong::load(&p2), Err(MidiError::Parse { .. })));
    let e = MidiSong::load(dir.path().join("nope.mid")).unwrap_err();
    assert!(e.is_not_found());
    let bad = MidiOptions {
        sample_rate: 8000,
        ..MidiOptions::default()
    };
    let s = song(vec![], 0.0);
    assert!(
        matches!(MidiSource::new(&s, &soundfont(), &bad), Err(MidiError::Settings(m)) if m.contains("8000"))
    );
}

#[test]
fn blocks_seek_and_parallel_groups_agree() {
    let s = MidiSong::load(corpus("17_gm_mma_tempo_changes.mid")).unwrap();
    let opts = MidiOptions::default();
    let full = render(&s, &opts);
    let frames = full.len() / 2;
    // Tail reached well past the last event, and no further than the cap.
    let mut src = MidiSource::new(&s, &soundfont(), &opts).unwrap();
    assert!(frames as u64 > src.events_end_frame());
    // Odd block sizes give identical samples.
    let mut odd = vec![];
    let mut buf = vec![0.0f32; 2 * 333];
    loop {
        let n = src.render_block(&mut buf);
        odd.extend_from_slice(&buf[..2 * n]);
        if n < 333 {
            break;
        }
    }
    assert_eq!(odd, full);
    assert_eq!(src.total_frames(), Some(frames as u64));
    // Seek backward and forward: the next block equals the full render at that frame.
    for target in [500_000u64, 123_457, 900_001] {
        src.seek(target);
        let n = src.render_block(&mut buf);
        assert_eq!(n, 333);
        assert_eq!(
            &buf[..],
            &full[2 * target as usize..2 * target as usize + 666],
            "seek {target}"
        );
    }
    // Two channel groups on two synthesizers, summed.
    let par = render(
        &s,
        &MidiOptions {
            channel_groups: 2,
            ..opts.clone()
        },
    );
    assert_eq!(par.len(), full.len());
    let max_diff = par
        .iter()
        .zip(&full)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("channel groups vs one synth: max |diff| = {max_diff:e}");
    assert!(max_diff < 1e-5, "max diff {max_diff}");
}

#[test]
fn file_render_writes_wav_or_leaves_nothing() {
    use audio_core::midi::render_midi_file;
    use audio_core::render::wav::WavFormat;
    let dir = tempfile::tempdir().unwrap();
    let sf = audio_core::midi::default_soundfont_path();
    let midi = corpus("01_melody_c_major_scale.mid");
    let out = dir.path().join("scale.wav");
    let mut fractions = vec![];
    let rep = render_midi_file(
        &midi,
        &out,
        &sf,
        &MidiOptions::default(),
        WavFormat::Float32,
        &mut |f| fractions.push(f),
    )
    .unwrap();
    let wav = read_wav(&out);
    assert_eq!(wav.len() as u64, 2 * rep.frames);
    let mem = render(&MidiSong::load(&midi).unwrap(), &MidiOptions::default());
    assert_eq!(wav, mem, "file and memory renders must be identical");
    assert!(fractions.windows(2).all(|w| w[1] >= w[0]) && fractions.last() == Some(&1.0));
    assert_eq!(rep.device, "cpu");
    // Corrupt input: the documented error and no output file.
    let bad = dir.path().join("bad.mid");
    std::fs::write(&bad, b"MThd garbage").unwrap();
    let out2 = dir.path().join("bad.wav");
    let e = render_midi_file(
        &bad,
        &out2,
        &sf,
        &MidiOptions::default(),
        WavFormat::Pcm16,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, MidiError::Parse { .. }), "{e}");
    assert!(!out2.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary files left"
    );
}

/// Dry render (no reverb), asserting the limiter never acted, so the output is the synth's.
fn render_dry_exact(s: &MidiSong) -> Vec<f32> {
    let mut src = MidiSource::new(s, &soundfont(), &dry()).unwrap();
    let out = src.render_to_end(|_| {});
    assert_eq!(
        src.limiter_min_gain(),
        1.0,
        "limiter acted: not a pure synth render"
    );
    out
}

/// A phrase with notes, a bend, a controller and note-offs, all `shift` frames later.
fn phrase_at(shift: u64) -> MidiSong {
    let sr = 44_100.0;
    let t = |f: u64| (f + shift) as f64 / sr;
    song(
        vec![
            ev(0.0, 0, 0xC0, 0, 0),
            ev(0.0, 1, 0xC0, 48, 0),
            ev(t(1_001), 0, 0x90, 60, 100),
            ev(t(1_001), 1, 0x90, 67, 90),
            ev(t(9_003), 0, 0xE0, 0, 80),
            ev(t(12_345), 1, 0xB0, 7, 70),
            ev(t(20_011), 0, 0x80, 60, 0),
            ev(t(20_500), 0, 0x90, 64, 110),
            ev(t(30_007), 1, 0x80, 67, 0),
            ev(t(40_001), 0, 0x80, 64, 0),
        ],
        t(40_001),
    )
}

#[test]
fn events_land_on_their_exact_sample_shift_invariant() {
    let base = render_dry_exact(&phrase_at(0));
    for k in [1u64, 2, 7, 31, 32, 33, 50, 63] {
        let shifted = render_dry_exact(&phrase_at(k));
        let k2 = 2 * k as usize;
        // Before the first note: silence in both.
        assert!(shifted[..k2 + 2 * 1_001].iter().all(|&v| v == 0.0), "k={k}");
        let n = base.len().min(shifted.len() - k2);
        let max_diff = base[..n]
            .iter()
            .zip(&shifted[k2..k2 + n])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-7, "shift {k}: max |diff| {max_diff}");
    }
}

/// First frame with a non-zero sample of a lone A4 on `program` starting at frame `f`.
fn onset_frame(program: u8, f: u64) -> Option<u64> {
    let sr = 44_100.0;
    let s = song(
        vec![
            ev(0.0, 0, 0xC0, program, 0),
            ev(f as f64 / sr, 0, 0x90, 69, 100),
            ev(f as f64 / sr + 0.3, 0, 0x80, 69, 0),
        ],
        f as f64 / sr + 0.3,
    );
    let out = render_dry_exact(&s);
    out.iter().position(|&v| v != 0.0).map(|i| (i / 2) as u64)
}

#[test]
fn note_onset_is_its_midi_frame() {
    // Square lead (80) and trumpet (56) samples start loud: the first non-zero sample is the
    // note-on frame itself, whatever its position in the 64-frame control grid.
    for program in [80u8, 56] {
        for f in [0u64, 1, 1_000, 7_777, 12_345, 44_117] {
            assert_eq!(onset_frame(program, f), Some(f), "program {program}");
        }
    }
    // The piano sample opens with 273 silent samples: its onset is that constant offset.
    let lead = onset_frame(0, 0).unwrap();
    assert!(lead > 0 && lead < 500, "piano sample lead-in {lead}");
    for f in [1u64, 1_000, 12_345, 44_117] {
        assert_eq!(onset_frame(0, f), Some(f + lead), "piano at {f}");
    }
}

#[test]
fn note_off_starts_the_release_on_its_frame() {
    let sr = 44_100.0;
    // Reference: the note is held; a no-op event (note-off of a silent key) at the same frame
    // keeps the control grid identical, so only the release itself can differ.
    let with = |g: u64, key_off: u8| {
        song(
            vec![
                ev(0.0, 0, 0xC0, 0, 0),
                ev(0.1, 0, 0x90, 69, 100),
                ev(g as f64 / sr, 0, 0x80, key_off, 0),
                ev(2.0, 0, 0x80, 69, 0),
            ],
            2.0,
        )
    };
    for g in [30_000u64, 30_001, 30_037] {
        let held = render_dry_exact(&with(g, 20));
        let released = render_dry_exact(&with(g, 69));
        let first_diff = held
            .iter()
            .zip(&released)
            .position(|(a, b)| a != b)
            .map(|i| (i / 2) as u64)
            .expect("the release changes the sound");
        // The gain at frame g is the envelope's value at g; the release ramp starts there.
        assert!(
            first_diff == g || first_diff == g + 1,
            "note-off at {g}: first difference at {first_diff}"
        );
    }
}

/// Largest sample difference; infinite when the lengths differ (e.g. a tail that rings on).
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

#[test]
fn note_groups_sum_to_the_one_synth_render() {
    // The first 60 s of the 10-minute GM file (drums with hi-hats, bass, pads): 2 and 3
    // synthesizers sharing the notes give the one-synthesizer sound.
    let mut s = MidiSong::load(corpus("19_gm_blupi_music004_10min.mid")).unwrap();
    s.events.retain(|e| e.time < 60.0);
    s.end_time = 60.0;
    let one = render(&s, &dry());
    for groups in [2, 3] {
        let mut src = MidiSource::new(
            &s,
            &soundfont(),
            &MidiOptions {
                channel_groups: groups,
                ..dry()
            },
        )
        .unwrap();
        assert_eq!(src.group_count(), groups);
        let par = src.render_to_end(|_| {});
        let d = max_abs_diff(&one, &par);
        eprintln!("{groups} note groups vs one synth: max |diff| = {d:e}");
        assert!(d < 1e-5, "{groups} groups: max diff {d}");
    }
}

#[test]
fn note_groups_keep_exclusive_classes_together() {
    // Closed (42) and open (46) hi-hat share an exclusive class: each closed hit chokes the
    // ringing open one. Split over two synthesizers naively, the open hats would ring on.
    let mut events = vec![];
    for i in 0..40 {
        let t = 0.1 + i as f64 * 0.15;
        let key = if i % 2 == 0 { 46 } else { 42 };
        events.push(ev(t, 9, 0x90, key, 110));
        events.push(ev(t + 0.05, 9, 0x80, key, 0));
    }
    let s = song(events, 6.2);
    let one = render(&s, &dry());
    let two = render(
        &s,
        &MidiOptions {
            channel_groups: 2,
            ..dry()
        },
    );
    let d = max_abs_diff(&one, &two);
    assert!(
        d < 1e-5,
        "hi-hat choke lost across synthesizers: max diff {d}"
    );
}
