//! The one block-rendering abstraction shared by session tracks and MIDI.

/// Anything that renders interleaved stereo `f32` audio in blocks.
///
/// Implementations never allocate in [`Source::render_block`] and produce the same samples
/// whatever the block sizes are; [`Source::seek`] jumps without rendering the skipped audio.
pub trait Source: Send {
    /// Output sample rate in Hz.
    fn sample_rate(&self) -> u32;

    /// Total length in frames, if known.
    fn total_frames(&self) -> Option<u64>;

    /// Current position in frames from the start.
    fn position(&self) -> u64;

    /// Renders the next `out.len() / 2` frames of interleaved stereo into `out` (overwriting it).
    /// Returns how many frames were audio; past the end the rest of `out` is zeros.
    fn render_block(&mut self, out: &mut [f32]) -> usize;

    /// Moves to `frame` so that the next block equals a full render from that frame.
    fn seek(&mut self, frame: u64);

    /// Moves to `seconds` (rounded to the nearest frame).
    fn seek_seconds(&mut self, seconds: f64) {
        let f = (seconds.max(0.0) * self.sample_rate() as f64).round() as u64;
        self.seek(f);
    }

    /// Number of steps (session tracks); 0 for sources without steps (MIDI).
    fn step_count(&self) -> usize {
        0
    }

    /// Index of the step playing at the current position, if the source has steps.
    fn current_step(&self) -> Option<usize> {
        None
    }

    /// Start frame of step `index`, if the source has steps.
    fn step_start_frame(&self, _index: usize) -> Option<u64> {
        None
    }
}
