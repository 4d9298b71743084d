//! The session-track JSON model: loading, aliases, validation.

pub mod params;
