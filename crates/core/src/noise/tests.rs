//! Tests of the noise voice and bed (the sound itself: slopes, notch motion, levels).
