//! The step scheduler/mixer and file output.
