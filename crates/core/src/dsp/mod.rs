//! Small composable DSP pieces shared by every voice and the mixer.

pub mod crossfade;
pub mod envelope;
pub mod modulators;
pub mod osc;
pub mod shapes;
pub mod transition;
