//! Real-time playback (see the playback issue).
