//! Parameters of the swept-notch noise (FORMAT §10.5) in one model for the plain voice, the
//! transition voice and the background bed: every value has a start and an end (equal for
//! non-transition voices).

use serde_json::Value;

use super::color::ColorSpec;
use crate::dsp::osc::{cos_cycles, wrap};
use crate::dsp::shapes::skew_tri;
use crate::dsp::transition::{Lerp, ParamReader};
use crate::error::TrackError;
use crate::track::params::Params;

/// Defaults of FORMAT §10.5.
const DEF_MIN: f64 = 1000.0;
const DEF_MAX: f64 = 10000.0;
const DEF_Q: f64 = 25.0;
const DEF_CASC: f64 = 10.0;
/// Cascades beyond this are rejected (cost grows linearly, the notch is long saturated).
const MAX_CASC: f64 = 64.0;

/// LFO shape of the notch sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LfoWave {
    /// `cos(2 pi p)`.
    Sine,
    /// Symmetric triangle with the cosine's phase: 1 at `p = 0`, -1 at `p = 0.5`.
    Triangle,
}

impl LfoWave {
    /// Value at cycle position `p`.
    #[inline]
    pub fn at(self, p: f64) -> f64 {
        match self {
            LfoWave::Sine => cos_cycles(p),
            // `Tri(q, 0)` rises over [0, 0.5) and peaks at 0.5: half a cycle later is the
            // cosine phase.
            LfoWave::Triangle => skew_tri(wrap(p + 0.5), 0.0),
        }
    }
}

/// One notch sweep: start and end of each value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sweep {
    pub min: Lerp,
    pub max: Lerp,
    pub q: Lerp,
    /// Cascade count (rounded when used).
    pub casc: Lerp,
}

/// Everything a swept-notch noise needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseConfig {
    pub color: ColorSpec,
    pub seed: u64,
    /// Voice gain (`amp`, PY `volume`).
    pub amp: f64,
    /// LFO rate (Hz).
    pub lfo_freq: Lerp,
    pub lfo_wave: LfoWave,
    /// Right channel LFO lead (degrees).
    pub lr_offset_deg: Lerp,
    /// LFO offset of the second notch set (degrees); 0 at both ends = no second set.
    pub intra_offset_deg: Lerp,
    pub sweeps: Vec<Sweep>,
}

/// Reads a number from a JSON value found at `path` (numeric strings accepted, like [`Params`]).
fn num_value(v: &Value, file: &str, path: &str) -> Result<f64, TrackError> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match x {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(TrackError::invalid(
            file,
            path,
            format!("expected a number, found {v}"),
        )),
    }
}

fn check_sweep(s: &Sweep, file: &str, path: &str, keys: [&str; 4]) -> Result<(), TrackError> {
    let err = |k: &str, msg: &str| TrackError::invalid(file, format!("{path}{k}"), msg);
    if s.min.min() <= 0.0 {
        return Err(err(keys[0], "notch frequency must be > 0"));
    }
    if s.max.min() <= 0.0 {
        return Err(err(keys[1], "notch frequency must be > 0"));
    }
    if s.q.min() <= 0.0 {
        return Err(err(keys[2], "Q must be a finite number > 0"));
    }
    if !(0.0..=MAX_CASC).contains(&s.casc.min()) || s.casc.max() > MAX_CASC {
        return Err(err(keys[3], "cascade count must be in [0, 64]"));
    }
    Ok(())
}

/// A number or a per-sweep list (`notch_q`, `casc`, `start_q`, ...): value for sweep `i`
/// (a short list repeats its last element). `None` when absent.
fn per_sweep(p: &Params, key: &str, i: usize) -> Result<Option<f64>, TrackError> {
    match p.get(key) {
        None => Ok(None),
        Some(Value::Array(a)) => {
            if a.is_empty() {
                return Ok(None);
            }
            let j = i.min(a.len() - 1);
            num_value(&a[j], &p.file, &format!("{}.{key}[{j}]", p.path)).map(Some)
        }
        Some(_) => p.opt_num(key),
    }
}

/// Parses a sweep list in any of the three forms of §10.5. `q_key` / `casc_key` (and their
/// end-value twins) give Q and cascade for the `[min, max]` pair form.
fn parse_sweep_list(p: &Params, key: &str, transition: bool) -> Result<Vec<Sweep>, TrackError> {
    let list = match p.get(key) {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(p.error(key, "expected a list of sweeps")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let path = format!("{}.{key}[{i}]", p.path);
        let sweep = match item {
            Value::Object(m) => {
                let o = Params::new(m.clone(), p.file.clone(), path.clone());
                let pair =
                    |base: &str, alias: Option<&str>, def: f64| -> Result<Lerp, TrackError> {
                        let mut b = o.num(base, def)?;
                        if let Some(a) = alias {
                            b = o.num(a, b)?;
                        }
                        let start = o.num(&format!("start_{base}"), b)?;
                        let end = o.num(&format!("end_{base}"), start)?;
                        Ok(Lerp { start, end })
                    };
                let s = Sweep {
                    min: pair("min", None, DEF_MIN)?,
                    max: pair("max", None, DEF_MAX)?,
                    q: pair("q", None, DEF_Q)?,
                    casc: pair("casc", Some("cascade"), DEF_CASC)?,
                };
                check_sweep(&s, &p.file, &path, [".min", ".max", ".q", ".cascade"])?;
                s
            }
            Value::Array(a) if a.len() == 2 => {
                let lo = num_value(&a[0], &p.file, &format!("{path}[0]"))?;
                let hi = num_value(&a[1], &p.file, &format!("{path}[1]"))?;
                let (q, casc) = legacy_q_casc(p, i, transition)?;
                let s = Sweep {
                    min: Lerp::fixed(lo),
                    max: Lerp::fixed(hi),
                    q,
                    casc,
                };
                check_sweep(&s, &p.file, &path, ["[0]", "[1]", "", ""])?;
                s
            }
            _ => {
                return Err(TrackError::invalid(
                    &p.file,
                    path,
                    "expected a sweep object {\"min\", \"max\", \"q\", \"cascade\"} or a [min, max] pair",
                ));
            }
        };
        out.push(sweep);
    }
    Ok(out)
}

/// Q and cascade (start/end) of sweep `i` in the legacy pair form: `notch_q` / `casc` (number
/// or per-sweep list); transition variants read `start_q` / `end_q`, `start_casc` / `end_casc`
/// first. Errors name the key the bad value came from.
fn legacy_q_casc(p: &Params, i: usize, transition: bool) -> Result<(Lerp, Lerp), TrackError> {
    let read =
        |base: &str, def: f64, ok: &dyn Fn(f64) -> bool, msg: &str| -> Result<Lerp, TrackError> {
            let checked = |key: &str, v: Option<f64>| -> Result<Option<f64>, TrackError> {
                match v {
                    Some(x) if !ok(x) => Err(p.error(key, msg)),
                    v => Ok(v),
                }
            };
            let b = checked(base, per_sweep(p, base, i)?)?.unwrap_or(def);
            if !transition {
                return Ok(Lerp::fixed(b));
            }
            let (sk, ek) = if base == "notch_q" {
                ("start_q", "end_q")
            } else {
                ("start_casc", "end_casc")
            };
            let s = checked(sk, per_sweep(p, sk, i)?)?.unwrap_or(b);
            let e = checked(ek, per_sweep(p, ek, i)?)?.unwrap_or(s);
            Ok(Lerp { start: s, end: e })
        };
    let q = read(
        "notch_q",
        DEF_Q,
        &|q| q > 0.0,
        "Q must be a finite number > 0",
    )?;
    let c = read(
        "casc",
        DEF_CASC,
        &|c| (0.0..=MAX_CASC).contains(&c),
        "cascade count must be in [0, 64]",
    )?;
    Ok((q, c))
}

/// Reads a `[[min, max], ...]` list of a transition variant (`start_sweeps` / `end_sweeps`).
fn parse_pairs(p: &Params, key: &str) -> Result<Vec<[f64; 2]>, TrackError> {
    let sweeps = parse_sweep_list(p, key, true)?;
    Ok(sweeps.iter().map(|s| [s.min.start, s.max.start]).collect())
}

impl NoiseConfig {
    /// Reads the parameters of `noise_swept_notch` (`transition = false`: only start values,
    /// end = start) or `noise_swept_notch_transition` (`transition = true`). `default_seed` is
    /// used unless `seed` is given.
    pub fn from_params(
        p: &Params,
        transition: bool,
        default_seed: u64,
    ) -> Result<NoiseConfig, TrackError> {
        let path = p.string("input_audio_path", "")?;
        if !path.trim().is_empty() {
            return Err(p.error(
                "input_audio_path",
                "filtering an audio file is not supported yet (noise only)",
            ));
        }
        let color = ColorSpec::from_params(p)?;
        let seed = match p.opt_num("seed")? {
            Some(s) => s as i64 as u64,
            None => default_seed,
        };
        let amp = match p.get("amp") {
            Some(_) => p.non_negative("amp", 1.0)?,
            None => p.non_negative("volume", 1.0)?,
        };
        let lfo_wave = match p
            .string("lfo_waveform", "sine")?
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "sine" | "sin" | "cos" | "cosine" | "" => LfoWave::Sine,
            "triangle" | "tri" => LfoWave::Triangle,
            other => {
                log::warn!("{}.lfo_waveform: unknown {other:?}: using sine", p.path);
                LfoWave::Sine
            }
        };
        // FORMAT §10.5 spells the transition keys `start_X` / `end_X`; plain voices read
        // `start_X` too (falling back to `X`), never `end_X`.
        let r = ParamReader::new(p, true);
        let pair = |base: &str, def: f64, non_neg: bool| -> Result<Lerp, TrackError> {
            let sk = format!("start_{base}");
            let ek = if transition {
                format!("end_{base}")
            } else {
                sk.clone()
            };
            if non_neg {
                r.non_negative_keys(&sk, &ek, base, def)
            } else {
                r.keys(&sk, &ek, base, def)
            }
        };
        let lfo_freq = pair("lfo_freq", 0.1, true)?;
        let lr_offset_deg = pair("lfo_phase_offset_deg", 0.0, false)?;
        let intra_offset_deg = pair("intra_phase_offset_deg", 0.0, false)?;

        let mut sweeps = if transition && (p.has("start_sweeps") || p.has("end_sweeps")) {
            let key_s = if p.has("start_sweeps") {
                "start_sweeps"
            } else {
                "end_sweeps"
            };
            let starts = parse_pairs(p, key_s)?;
            let ends = if p.has("end_sweeps") {
                parse_pairs(p, "end_sweeps")?
            } else {
                starts.clone()
            };
            let n = starts.len().max(ends.len());
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                let s = starts
                    .get(i)
                    .or(ends.get(i))
                    .copied()
                    .unwrap_or([DEF_MIN, DEF_MAX]);
                let e = ends.get(i).copied().unwrap_or(s);
                let (q, casc) = legacy_q_casc(p, i, true)?;
                v.push(Sweep {
                    min: Lerp {
                        start: s[0],
                        end: e[0],
                    },
                    max: Lerp {
                        start: s[1],
                        end: e[1],
                    },
                    q,
                    casc,
                });
            }
            v
        } else {
            parse_sweep_list(p, "sweeps", transition)?
        };
        if !transition {
            for s in &mut sweeps {
                for v in [&mut s.min, &mut s.max, &mut s.q, &mut s.casc] {
                    v.end = v.start;
                }
            }
        }
        Ok(NoiseConfig {
            color,
            seed,
            amp,
            lfo_freq,
            lfo_wave,
            lr_offset_deg,
            intra_offset_deg,
            sweeps,
        })
    }
}
