//! Coloured noise and the swept-notch noise voice (FORMAT §10.5, §8).
