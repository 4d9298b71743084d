//! Errors of the session-track side of the core.

use std::path::PathBuf;

/// Everything that can go wrong loading or rendering a session track.
///
/// Every message names the file (or `<track>` for in-memory JSON) and, for content problems,
/// the JSON path of the offending value, e.g.
/// `t.json: steps[2].voices[0].params.beatFreq: must be a finite number >= 0`.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// The file is not valid JSON.
    #[error("{file}: JSON syntax error at line {line}, column {column}: {msg}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        msg: String,
    },

    /// A value has the wrong type, is missing, or is out of range.
    #[error("{file}: {path}: {msg}")]
    Invalid {
        file: String,
        path: String,
        msg: String,
    },

    /// A voice names a synth function this engine does not know.
    #[error("{file}: {path}: unknown synth function '{name}' (known: {known})")]
    UnknownFunction {
        file: String,
        path: String,
        name: String,
        known: String,
    },

    /// A voice names a synth function that exists in the editor but is not implemented yet.
    #[error(
        "{file}: {path}: synth function '{name}' is not supported yet (use lenient mode to skip it)"
    )]
    Unsupported {
        file: String,
        path: String,
        name: String,
    },

    /// A file (track, clip, noise preset) could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The output file could not be written (a runtime failure, not bad input).
    #[error("{}: cannot write output: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An audio file (clip) could not be decoded.
    #[error("{}: cannot decode audio: {msg}", path.display())]
    Decode { path: PathBuf, msg: String },
}

impl TrackError {
    /// Shorthand for an [`TrackError::Invalid`] value.
    pub fn invalid(file: &str, path: impl Into<String>, msg: impl Into<String>) -> Self {
        TrackError::Invalid {
            file: file.to_string(),
            path: path.into(),
            msg: msg.into(),
        }
    }

    /// True for errors caused by the input (bad JSON, bad values, unknown functions,
    /// missing input files); false for failures while writing output.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, TrackError::Write { .. })
    }
}
