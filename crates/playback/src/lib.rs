//! Real-time playback of any [`audio_core::Source`].
//!
//! * [`Transport`] (device-independent, testable by feeding it buffers): play, pause/stop/seek
//!   with short fades, step skip, master volume, `update_track` crossfade; commands through a
//!   wait-free queue, status through atomics, replaced sources freed off the audio thread.
//! * [`Player`]: a cpal output stream that runs a `Transport` in its callback.
//!
//! ```no_run
//! # fn demo(src: Box<dyn audio_core::Source>) -> Result<(), audio_playback::PlayerError> {
//! use audio_playback::{Player, PlayerConfig};
//! let mut p = Player::open(&PlayerConfig { sample_rate: Some(44_100), ..Default::default() })?;
//! p.start(src, 0.0)?;          // src built at p.sample_rate()
//! p.pause()?;
//! println!("{:?}", p.status());
//! # Ok(()) }
//! ```

pub mod player;
pub mod transport;

pub use player::{DeviceInfo, Player, PlayerConfig, PlayerError, output_devices};
pub use transport::{
    BLOCK, Command, SendError, Shared, State, Status, Transport, TransportConfig, TransportHandle,
    transport,
};

// Unit tests count allocations inside `assert_no_alloc` sections (debug builds only).
#[cfg(all(test, debug_assertions))]
#[global_allocator]
static ALLOC_GUARD: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
