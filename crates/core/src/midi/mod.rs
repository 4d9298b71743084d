//! MIDI + SoundFont rendering.
//!
//! * [`MidiSong`]: a Standard MIDI File (types 0, 1 and 2) parsed with `midly`, every event on
//!   an absolute time line through the merged tempo map.
//! * [`load_soundfont`]: SoundFonts parsed once per process (cache keyed by path + mtime).
//! * [`MidiSource`]: the song rendered by `audio_synth` (rustysynth vendored, sample-exact), our
//!   [`crate::reverb::ConvolutionReverb`], and a look-ahead limiter, as a block
//!   [`crate::Source`] (so playback and streaming take MIDI like session tracks).
//! * With the `parallel` feature: one file on several cores (channel groups,
//!   [`MidiOptions::channel_groups`]) and [`batch_map`] for many files.
//!
//! ```no_run
//! use audio_core::midi::{MidiOptions, MidiSong, MidiSource, load_soundfont, default_soundfont_path};
//! let song = MidiSong::load("song.mid")?;
//! let sf = load_soundfont(default_soundfont_path())?;
//! let mut src = MidiSource::new(&song, &sf, &MidiOptions::default())?;
//! let audio = src.render_to_end(|_| {});
//! # Ok::<(), audio_core::midi::MidiError>(())
//! ```

use std::path::PathBuf;

mod file;
mod limiter;
mod render;
mod soundfont;
mod source;

pub use file::{CMD_SYSTEM_RESET, MidiEvent, MidiFormat, MidiSong};
pub use limiter::Limiter;
pub use render::{MidiRenderReport, output_path_for, render_midi_file, render_midi_to_vec};
pub use soundfont::{
    DEFAULT_SOUNDFONT, SOUNDFONT_ENV, cached_soundfonts, default_soundfont_path, load_soundfont,
    soundfont_from_bytes,
};
pub use source::{MidiOptions, MidiSource, TAIL_WINDOW};

/// Everything that can go wrong loading or rendering MIDI. Messages start with the file name.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    /// A file (MIDI or SoundFont) could not be read; `source.kind()` tells not-found apart.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The MIDI file is corrupt or not a MIDI file.
    #[error("{}: not a valid MIDI file: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    /// The SoundFont is corrupt or not an SF2 file.
    #[error("{}: not a valid SoundFont: {reason}", path.display())]
    SoundFont { path: PathBuf, reason: String },
    /// The output file could not be written (a runtime failure, not bad input).
    #[error("{}: cannot write output: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A render option is out of range.
    #[error("invalid MIDI render settings: {0}")]
    Settings(String),
}

impl MidiError {
    /// True when a named file does not exist (maps to Python's `FileNotFoundError`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, MidiError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// True for errors caused by the inputs (files, settings); false for output failures.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, MidiError::Write { .. })
    }
}

/// Runs `f` on every item on `jobs` threads (0 = all cores), results in input order. Each
/// call is independent, so one failing item does not stop the others.
#[cfg(feature = "parallel")]
pub fn batch_map<T, R, F>(items: &[T], jobs: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync + Send,
{
    use rayon::prelude::*;
    let run = || items.par_iter().map(&f).collect();
    if jobs == 0 {
        return run();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}
