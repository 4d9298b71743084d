//! Helpers shared by the voice implementations (and their tests).

use crate::dsp::transition::{Lerp, ParamReader};
use crate::error::TrackError;

/// Largest amplitude parameter accepted.
pub(crate) const MAX_AMP: f64 = 10.0;

/// A peak bound as `f32`, rounded up a little so that the fast sine's tiny overshoot and
/// the f64 -> f32 rounding of samples can never exceed it.
pub(crate) fn peak_f32(v: f64) -> f32 {
    (v * (1.0 + 1e-6) + 1e-9) as f32
}

/// Checks that a carrier frequency read from `key` lies in `[0, sr/2]` at both ends.
pub(crate) fn carrier(r: &ParamReader, key: &str, v: Lerp, sr: f64) -> Result<Lerp, TrackError> {
    r.check(
        key,
        v,
        |x| (0.0..=0.5 * sr).contains(&x),
        &format!("must be a frequency in [0, {}] Hz (Nyquist)", 0.5 * sr),
    )
}

#[cfg(test)]
pub(crate) mod testing {
    //! Rendering and checking helpers for the voice tests.
    use crate::measure;
    use crate::track::params::Params;
    use crate::voices::{SynthKind, Voice, VoiceContext, build_voice};
    use std::sync::Arc;

    pub const SR: u32 = 44100;

    pub fn params(json: &str) -> Params {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        Params::new(
            v.as_object().unwrap().clone(),
            Arc::from("t.json"),
            "steps[0].voices[0].params",
        )
    }

    pub fn ctx(secs: f64) -> VoiceContext {
        VoiceContext {
            sample_rate: SR,
            step_frames: (secs * SR as f64).floor() as u64,
            step_duration: secs,
            inherited_phases: None,
            seed: 1,
        }
    }

    pub fn make(name: &str, json: &str, secs: f64) -> Box<dyn Voice> {
        let (kind, tr) = SynthKind::parse(name).unwrap();
        build_voice(kind, tr, &params(json), &ctx(secs)).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn build_err(name: &str, json: &str) -> String {
        let (kind, tr) = SynthKind::parse(name).unwrap();
        match build_voice(kind, tr, &params(json), &ctx(10.0)) {
            Ok(_) => panic!("expected an error for {json}"),
            Err(e) => e.to_string(),
        }
    }

    /// Renders `frames` frames in blocks of `block`.
    pub fn render(v: &mut dyn Voice, frames: usize, block: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut l, mut r) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        let mut s = 0;
        while s < frames {
            let e = (s + block).min(frames);
            v.render(&mut l[s..e], &mut r[s..e]);
            s = e;
        }
        (l, r)
    }

    /// Full render of a fresh voice.
    pub fn full(name: &str, json: &str, secs: f64) -> (Vec<f32>, Vec<f32>) {
        let mut v = make(name, json, secs);
        render(v.as_mut(), (secs * SR as f64) as usize, 4096)
    }

    /// `x[a..b]` in seconds.
    pub fn win(x: &[f32], a: f64, b: f64) -> &[f32] {
        &x[(a * SR as f64) as usize..(b * SR as f64) as usize]
    }

    pub fn freq(x: &[f32], lo: f64, hi: f64) -> f64 {
        measure::dominant_frequency(x, SR as f64, lo, hi)
    }

    pub fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got}, want {want} +/- {tol}"
        );
    }

    /// Block sizes 1, 64, 1000 and 8192 give identical output; output stays under the peak bound.
    pub fn check_blocks_and_peak(name: &str, json: &str, secs: f64) {
        let frames = (secs * SR as f64) as usize;
        let mut v = make(name, json, secs);
        let bound = v.peak_bound();
        let (l0, r0) = render(v.as_mut(), frames, 8192);
        for block in [1, 64, 1000] {
            let mut w = make(name, json, secs);
            let (l, r) = render(w.as_mut(), frames, block);
            assert!(
                l == l0 && r == r0,
                "{name}: block {block} differs from 8192"
            );
        }
        let peak = measure::peak(&l0).max(measure::peak(&r0));
        assert!(peak <= bound, "{name}: peak {peak} > bound {bound}");
        assert!(peak > 0.0, "{name}: silent");
    }

    /// Rendering after `seek(p)` equals the full render from `p` (1e-6 per sample).
    pub fn check_seek(name: &str, json: &str, secs: f64, positions: &[f64]) {
        let frames = (secs * SR as f64) as usize;
        let (l0, r0) = full(name, json, secs);
        for &p in positions {
            let at = (p * SR as f64) as usize;
            let mut v = make(name, json, secs);
            // Seek backwards too: first somewhere later, then to `at`.
            v.seek((at as u64 + 12345).min(frames as u64));
            v.seek(at as u64);
            let n = (frames - at).min(3 * SR as usize);
            let (l, r) = render(v.as_mut(), n, 1000);
            for i in 0..n {
                let d = (l[i] - l0[at + i]).abs().max((r[i] - r0[at + i]).abs());
                assert!(d <= 1e-6, "{name}: seek {p}s differs at +{i}: {d}");
            }
        }
    }

    /// Phase carry: a voice that inherits `carrier_phases_at(pos)` continues the first one
    /// without a jump (same parameters).
    pub fn check_phase_carry(name: &str, json: &str) {
        let secs = 2.0;
        let mut a = make(name, json, secs);
        let cut = 40_000u64;
        let (la, ra) = render(a.as_mut(), cut as usize + 1, 512);
        let ph = a.carrier_phases_at(cut).expect("carrier phases");
        let (kind, tr) = SynthKind::parse(name).unwrap();
        let mut c = ctx(secs);
        c.inherited_phases = Some(ph);
        let mut b = build_voice(kind, tr, &params(json), &c).unwrap();
        let (lb, rb) = render(b.as_mut(), 1, 1);
        // b's first sample continues a's carrier: it equals a's sample at `cut` up to the
        // difference of one phase increment (b's modulators and ramp restart at 0). Without
        // the carry the phase would jump by up to half a cycle.
        assert!(
            (lb[0] - la[cut as usize]).abs() < 5e-3 && (rb[0] - ra[cut as usize]).abs() < 5e-3,
            "{name}: carried phase gives {} {} instead of {} {}",
            lb[0],
            rb[0],
            la[cut as usize],
            ra[cut as usize]
        );
    }
}
