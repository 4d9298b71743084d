//! Noise colours (FORMAT §10.5): a spectral power exponent that may drift towards Nyquist,
//! optional Butterworth-shaped low/high cuts and an output gain.

use crate::error::TrackError;
use crate::track::params::Params;

/// Spectral shape of a coloured noise: power ~ `1 / f^e(f)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorSpec {
    /// Power exponent at the lowest frequency (0 white, 1 pink, 2 brown, -1 blue, ...).
    pub exponent: f64,
    /// Exponent reached at Nyquist (log-frequency interpolation); equals `exponent` if unset.
    pub high_exponent: f64,
    /// Shape of the interpolation: `e(f) = exponent + (high - exponent) * x^curve`, `x` the
    /// normalized log frequency in `[0, 1]`.
    pub distribution_curve: f64,
    /// 4th-order Butterworth-shaped high-pass corner (Hz), if any.
    pub lowcut: Option<f64>,
    /// 4th-order Butterworth-shaped low-pass corner (Hz), if any.
    pub highcut: Option<f64>,
    /// Linear output gain of the noise.
    pub amplitude: f64,
}

impl ColorSpec {
    /// Pure power-law colour with exponent `e`.
    pub fn power_law(e: f64) -> ColorSpec {
        ColorSpec {
            exponent: e,
            high_exponent: e,
            distribution_curve: 1.0,
            lowcut: None,
            highcut: None,
            amplitude: 1.0,
        }
    }

    /// The named colour; `None` for unknown names. Case, `_` and `-` are ignored.
    pub fn named(name: &str) -> Option<ColorSpec> {
        let n: String = name
            .trim()
            .chars()
            .map(|c| {
                if c == '_' || c == '-' {
                    ' '
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        let (e, hi) = match n.as_str() {
            "white" => (0.0, 0.0),
            "pink" => (1.0, 1.0),
            "brown" | "brownian" => (2.0, 2.0),
            "red" => (2.0, 1.5),
            "deep brown" | "deepbrown" => (2.5, 2.0),
            "blue" => (-1.0, -1.0),
            "purple" | "violet" => (-2.0, -2.0),
            "green" => {
                return Some(ColorSpec {
                    lowcut: Some(100.0),
                    highcut: Some(8000.0),
                    ..ColorSpec::power_law(0.0)
                });
            }
            _ => return None,
        };
        Some(ColorSpec {
            high_exponent: hi,
            ..ColorSpec::power_law(e)
        })
    }

    /// Reads the colour of a noise voice: `noise_type`, else `noise_parameters.name` /
    /// `color_params.name` (default pink), then the overrides `exponent`, `high_exponent`,
    /// `distribution_curve`, `lowcut`, `highcut`, `amplitude` (inside `noise_parameters` /
    /// `color_params` first, then at the top level). Unknown name: white unless `exponent`.
    pub fn from_params(p: &Params) -> Result<ColorSpec, TrackError> {
        let nested = if p.has("noise_parameters") {
            p.child("noise_parameters")?
        } else {
            p.child("color_params")?
        };
        let name = match p.get("noise_type") {
            Some(_) => p.string("noise_type", "pink")?,
            None => nested.string("name", "pink")?,
        };
        let num = |key: &str| -> Result<Option<f64>, TrackError> {
            match nested.opt_num(key)? {
                Some(v) => Ok(Some(v)),
                None => p.opt_num(key),
            }
        };
        let exponent = num("exponent")?;
        let mut spec = match ColorSpec::named(&name) {
            Some(s) => s,
            None => {
                if exponent.is_none() {
                    log::warn!("{}: unknown noise colour {name:?}: using white", p.path);
                }
                ColorSpec::power_law(0.0)
            }
        };
        if let Some(e) = exponent {
            spec.exponent = e;
            spec.high_exponent = e;
        }
        if let Some(h) = num("high_exponent")? {
            spec.high_exponent = h;
        }
        if let Some(c) = num("distribution_curve")? {
            spec.distribution_curve = c.max(1e-6);
        }
        let err_at = |key: &str, msg: &str| {
            if nested.has(key) {
                nested.error(key, msg)
            } else {
                p.error(key, msg)
            }
        };
        // 0 (or absent) = no cut, as in the editor.
        if let Some(lc) = num("lowcut")? {
            if lc < 0.0 {
                return Err(err_at("lowcut", "must be a finite number >= 0"));
            }
            spec.lowcut = (lc > 0.0).then_some(lc);
        }
        if let Some(hc) = num("highcut")? {
            if hc < 0.0 {
                return Err(err_at("highcut", "must be a finite number >= 0"));
            }
            spec.highcut = (hc > 0.0).then_some(hc);
        }
        if let Some(a) = num("amplitude")? {
            if a < 0.0 {
                return Err(err_at("amplitude", "must be a finite number >= 0"));
            }
            spec.amplitude = a;
        }
        Ok(spec)
    }

    /// Amplitude (not power) response at `f` Hz (> 0); `f_lo` is the lowest frequency of the
    /// log axis of the exponent drift, `f_hi` the highest (Nyquist).
    pub fn magnitude(&self, f: f64, f_lo: f64, f_hi: f64) -> f64 {
        let x = if f_hi > f_lo {
            ((f / f_lo).ln() / (f_hi / f_lo).ln()).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let e =
            self.exponent + (self.high_exponent - self.exponent) * x.powf(self.distribution_curve);
        let mut m = f.powf(-e / 2.0);
        if let Some(lc) = self.lowcut {
            m /= (1.0 + (lc / f).powi(8)).sqrt();
        }
        if let Some(hc) = self.highcut {
            m /= (1.0 + (f / hc).powi(8)).sqrt();
        }
        m
    }
}
