//! Standard MIDI file loading: `midly` parsing, a merged tempo map, events in absolute seconds.

use std::path::{Path, PathBuf};

use midly::{MetaMessage, MidiMessage, Timing, TrackEventKind};

use super::MidiError;

/// The command byte used in [`MidiEvent::command`] for a GM/GS/XG system reset (sent to every
/// channel group; the synthesizer resets all controllers).
pub const CMD_SYSTEM_RESET: u8 = 0xF0;

/// Layout of the tracks in the file (the header's format field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidiFormat {
    /// Type 0: one track.
    Single,
    /// Type 1: tracks play simultaneously.
    Parallel,
    /// Type 2: independent patterns; rendered one after another (see [`MidiSong::load`]).
    Sequential,
}

/// One channel event at an absolute time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidiEvent {
    /// Seconds from the start, computed through every tempo change before it.
    pub time: f64,
    /// MIDI channel 0-15 (channel 10 in GM numbering is 9 here).
    pub channel: u8,
    /// Status nibble: 0x80 note off, 0x90 note on, 0xB0 controller, 0xC0 program, 0xE0 bend,
    /// or [`CMD_SYSTEM_RESET`].
    pub command: u8,
    /// First data byte (key, controller number, program, bend LSB).
    pub data1: u8,
    /// Second data byte (velocity, controller value, bend MSB).
    pub data2: u8,
}

/// A parsed MIDI file: channel events on an absolute time line.
#[derive(Debug, Clone)]
pub struct MidiSong {
    /// File the song came from (`<memory>` for bytes).
    pub path: PathBuf,
    /// Header format.
    pub format: MidiFormat,
    /// Channel events sorted by time (stable: same-time events keep track then file order).
    pub events: Vec<MidiEvent>,
    /// Time of the last event of any kind, including end-of-track (seconds).
    pub end_time: f64,
    /// Number of tempo-change events applied.
    pub tempo_changes: usize,
    /// Problems tolerated while loading (e.g. a type-0 header with several tracks).
    pub warnings: Vec<String>,
}

impl MidiSong {
    /// Loads a MIDI file from disk.
    ///
    /// * Types 0 and 1: all tracks are merged on one time line; tempo events count from any
    ///   track (some exporters put them on a non-zero track).
    /// * Type 2: tracks are rendered one after another; each starts where the previous one's
    ///   end-of-track lies and the tempo carries over unless the track sets its own.
    /// * A type-0 header declaring several tracks is played as type 1 (with a warning).
    /// * Running status carried across meta/sysex events is accepted (players do this).
    /// * A track that ends without end-of-track (truncated file) is played up to its last
    ///   complete event, with a warning.
    /// * SMPTE-offset meta events are ignored (as most players do); SMPTE time division
    ///   (frames per second x ticks per frame) is supported.
    ///
    /// Errors: [`MidiError::Io`] if the file cannot be read, [`MidiError::Parse`] if it is not a
    /// MIDI file or has no readable track.
    pub fn load(path: impl AsRef<Path>) -> Result<MidiSong, MidiError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| MidiError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses MIDI file bytes; `path` is only used in messages.
    pub fn from_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<MidiSong, MidiError> {
        let path = path.as_ref().to_path_buf();
        let perr = |reason: String| MidiError::Parse {
            path: path.clone(),
            reason,
        };
        let (header, tracks) = midly::parse(bytes).map_err(|e| perr(e.to_string()))?;
        let mut warnings = Vec::new();
        let mut format = match header.format {
            midly::Format::SingleTrack => MidiFormat::Single,
            midly::Format::Parallel => MidiFormat::Parallel,
            midly::Format::Sequential => MidiFormat::Sequential,
        };

        // Raw events: (tick, track, kind). Ticks are absolute (type 2: offset per track).
        #[derive(Clone, Copy)]
        enum Raw {
            Chan(u8, u8, u8, u8),
            Tempo(u32),
            End,
        }
        let mut raw: Vec<(u64, u32, Raw)> = Vec::new();
        let mut track_count = 0usize;
        let mut seq_offset = 0u64;
        for (ti, track) in tracks.enumerate() {
            let mut it = track.map_err(|e| perr(format!("track {ti}: {e}")))?;
            track_count += 1;
            let mut tick = if format == MidiFormat::Sequential {
                seq_offset
            } else {
                0
            };
            let mut saw_end = false;
            loop {
                let rs = it.running_status();
                let Some(ev) = it.next() else { break };
                let ev = ev.map_err(|e| perr(format!("track {ti}: {e}")))?;
                tick += ev.delta.as_int() as u64;
                match ev.kind {
                    TrackEventKind::Midi { channel, message } => {
                        let ch = channel.as_int();
                        let m = match message {
                            MidiMessage::NoteOff { key, vel } => {
                                Some((0x80, key.as_int(), vel.as_int()))
                            }
                            MidiMessage::NoteOn { key, vel } => {
                                Some((0x90, key.as_int(), vel.as_int()))
                            }
                            MidiMessage::Controller { controller, value } => {
                                Some((0xB0, controller.as_int(), value.as_int()))
                            }
                            MidiMessage::ProgramChange { program } => {
                                Some((0xC0, program.as_int(), 0))
                            }
                            MidiMessage::PitchBend { bend } => {
                                let v = bend.0.as_int();
                                Some((0xE0, (v & 0x7F) as u8, (v >> 7) as u8))
                            }
                            // The synthesizer has no aftertouch response.
                            MidiMessage::Aftertouch { .. }
                            | MidiMessage::ChannelAftertouch { .. } => None,
                        };
                        if let Some((c, d1, d2)) = m {
                            raw.push((tick, ti as u32, Raw::Chan(ch, c, d1, d2)));
                        }
                    }
                    TrackEventKind::Meta(meta) => {
                        // Keep running status across meta events (see `load`).
                        *it.running_status_mut() = rs;
                        match meta {
                            MetaMessage::Tempo(t) => {
                                raw.push((tick, ti as u32, Raw::Tempo(t.as_int().max(1))))
                            }
                            MetaMessage::EndOfTrack => {
                                saw_end = true;
                                raw.push((tick, ti as u32, Raw::End));
                            }
                            _ => {}
                        }
                    }
                    TrackEventKind::SysEx(data) => {
                        *it.running_status_mut() = rs;
                        if is_system_reset(data) {
                            raw.push((tick, ti as u32, Raw::Chan(0, CMD_SYSTEM_RESET, 0, 0)));
                        }
                    }
                    TrackEventKind::Escape(_) => {
                        *it.running_status_mut() = rs;
                    }
                }
            }
            if !saw_end {
                warnings.push(format!("track {ti} has no end-of-track event (truncated?); played up to its last complete event"));
                raw.push((tick, ti as u32, Raw::End));
            }
            seq_offset = tick;
        }
        if track_count == 0 {
            return Err(perr("the file has no track chunk".into()));
        }
        if format == MidiFormat::Single && track_count > 1 {
            warnings.push(format!(
                "type-0 header but {track_count} tracks; played as type 1 (tracks together)"
            ));
            format = MidiFormat::Parallel;
        }
        // Stable: same tick keeps track order, then file order.
        raw.sort_by_key(|&(tick, track, _)| (tick, track));

        let to_seconds: Box<dyn Fn(u64, u64, f64, u32) -> f64> = match header.timing {
            Timing::Metrical(ppq) => {
                let ppq = ppq.as_int().max(1) as f64;
                Box::new(move |tick, last_tick, last_time, tempo| {
                    last_time + (tick - last_tick) as f64 * tempo as f64 / (1e6 * ppq)
                })
            }
            Timing::Timecode(fps, sub) => {
                let per_sec = fps.as_f32() as f64 * sub.max(1) as f64;
                Box::new(move |tick, _, _, _| tick as f64 / per_sec)
            }
        };
        let mut events = Vec::with_capacity(raw.len());
        let (mut last_tick, mut last_time, mut tempo) = (0u64, 0.0f64, 500_000u32);
        let mut end_time = 0.0f64;
        let mut tempo_changes = 0;
        for (tick, _, r) in raw {
            let time = to_seconds(tick, last_tick, last_time, tempo);
            (last_tick, last_time) = (tick, time);
            end_time = end_time.max(time);
            match r {
                Raw::Chan(channel, command, data1, data2) => events.push(MidiEvent {
                    time,
                    channel,
                    command,
                    data1,
                    data2,
                }),
                Raw::Tempo(t) => {
                    tempo = t;
                    tempo_changes += 1;
                }
                Raw::End => {}
            }
        }
        Ok(MidiSong {
            path,
            format,
            events,
            end_time,
            tempo_changes,
            warnings,
        })
    }

    /// Number of note-on events (velocity > 0).
    pub fn note_count(&self) -> usize {
        self.events
            .iter()
            .filter(|e| e.command == 0x90 && e.data2 > 0)
            .count()
    }

    /// Times (seconds) of the note-on events of `channel` (all channels if `None`).
    pub fn note_on_times(&self, channel: Option<u8>) -> Vec<f64> {
        self.events
            .iter()
            .filter(|e| e.command == 0x90 && e.data2 > 0 && channel.is_none_or(|c| c == e.channel))
            .map(|e| e.time)
            .collect()
    }
}

/// GM system on (F0 7E 7F 09 01 F7), GS reset (F0 41 10 42 12 40 00 7F 00 41 F7) and
/// XG system on (F0 43 1x 4C 00 00 7E 00 F7). midly strips the leading F0.
fn is_system_reset(d: &[u8]) -> bool {
    let d = d.strip_suffix(&[0xF7]).unwrap_or(d);
    matches!(d, [0x7E, _, 0x09, 0x01 | 0x03])
        || matches!(d, [0x41, _, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, _])
        || matches!(d, [0x43, _, 0x4C, 0x00, 0x00, 0x7E, 0x00])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a type-`fmt` file from raw track bodies (without chunk headers).
    pub(crate) fn smf(fmt: u16, ppq: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
        let mut b = b"MThd".to_vec();
        b.extend(6u32.to_be_bytes());
        b.extend(fmt.to_be_bytes());
        b.extend((tracks.len() as u16).to_be_bytes());
        b.extend(ppq.to_be_bytes());
        for t in tracks {
            b.extend(b"MTrk");
            b.extend((t.len() as u32).to_be_bytes());
            b.extend(t);
        }
        b
    }

    #[test]
    fn tempo_map_converts_ticks_to_seconds() {
        // ppq 100; tempo 500000 (0.5 s/beat) then at tick 200 tempo 250000.
        let t0 = vec![
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // tempo 500000
            0x81, 0x48, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90, // +200: tempo 250000
            0x00, 0xFF, 0x2F, 0x00,
        ];
        let t1 = vec![
            0x00, 0x90, 60, 100, // t=0
            0x81, 0x48, 62, 100, // tick 200 -> 1.0 s (running status)
            0x64, 64, 100, // tick 300 -> 1.0 + 100 * 0.25 / 100 = 1.25 s
            0x00, 0xFF, 0x2F, 0x00,
        ];
        let song = MidiSong::from_bytes(&smf(1, 100, &[t0, t1]), "t.mid").unwrap();
        assert_eq!(song.tempo_changes, 2);
        let t = song.note_on_times(None);
        assert_eq!(t.len(), 3);
        assert!(
            (t[0] - 0.0).abs() < 1e-12 && (t[1] - 1.0).abs() < 1e-12 && (t[2] - 1.25).abs() < 1e-12,
            "{t:?}"
        );
    }

    #[test]
    fn type2_tracks_play_one_after_another() {
        let tr = |key: u8| {
            vec![
                0x00, 0x90, key, 100, 0x64, 0x80, key, 0, 0x00, 0xFF, 0x2F, 0x00,
            ]
        };
        let song = MidiSong::from_bytes(&smf(2, 100, &[tr(60), tr(62)]), "t.mid").unwrap();
        assert_eq!(song.format, MidiFormat::Sequential);
        let t = song.note_on_times(None);
        assert_eq!(t, vec![0.0, 0.5]);
        assert!((song.end_time - 1.0).abs() < 1e-12);
    }

    #[test]
    fn running_status_survives_meta_and_truncation_is_tolerated() {
        let t = vec![
            0x00, 0x90, 60, 100, 0x10, 60, 0, // note on/off
            0x00, 0xFF, 0x01, 0x01, b'x', // text meta
            0x00, 62, 100, // running status after meta
            0x10, 62, 0,
        ];
        let song = MidiSong::from_bytes(&smf(0, 96, &[t]), "t.mid").unwrap();
        assert_eq!(song.note_count(), 2);
        assert_eq!(song.warnings.len(), 1, "{:?}", song.warnings);
    }

    #[test]
    fn garbage_is_a_parse_error_naming_the_file() {
        let e = MidiSong::from_bytes(b"RIFXnot midi at all", "bad.mid").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("bad.mid: ") && msg.contains("not a valid MIDI file"),
            "{msg}"
        );
        let e = MidiSong::from_bytes(b"", "empty.mid").unwrap_err();
        assert!(matches!(e, MidiError::Parse { .. }));
        let e = MidiSong::load("/nonexistent/x.mid").unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }
}
