//! The step scheduler/mixer ([`SessionSource`]) and file output ([`wav`]).

mod clip;
mod session;
pub mod wav;

pub use clip::ClipSource;
pub use session::{MAX_CHUNK, RenderOptions, SessionSource};
