//! Typed, path-aware access to a voice's free-form `params` object.
//!
//! The editor writes parameters as a loose JSON map whose keys differ per synth function, so
//! voices read them through [`Params`], which applies the format's rules in one place:
//! absent or `null` = default; numbers may be integers or floats; numeric strings are accepted
//! (RB would silently use the default); non-numeric strings, non-finite or out-of-range values
//! are errors naming the JSON path; booleans also accept `0`/`1`.

use crate::error::TrackError;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A voice's parameters plus the JSON path they came from, for error messages.
#[derive(Debug, Clone)]
pub struct Params {
    map: Map<String, Value>,
    /// File label used in errors (`03.json` or `<track>`).
    pub file: Arc<str>,
    /// JSON path of the params object, e.g. `steps[2].voices[0].params`.
    pub path: String,
}

/// Upper-cases the first character: `baseFreq` -> `BaseFreq` (transition key naming, FORMAT §5.2).
pub fn capitalize(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl Params {
    /// Wraps a params map read from `path` in `file`.
    pub fn new(map: Map<String, Value>, file: Arc<str>, path: impl Into<String>) -> Self {
        Params {
            map,
            file,
            path: path.into(),
        }
    }

    /// Empty params (every value takes its default).
    pub fn empty(file: Arc<str>, path: impl Into<String>) -> Self {
        Params::new(Map::new(), file, path)
    }

    /// The raw JSON value of `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// True if `key` is present and not null.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The underlying map.
    pub fn map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// An error about `key` in this object.
    pub fn error(&self, key: &str, msg: impl Into<String>) -> TrackError {
        TrackError::invalid(&self.file, format!("{}.{}", self.path, key), msg)
    }

    /// Params of a nested object `key` (for example `noise_parameters`), empty if absent.
    pub fn child(&self, key: &str) -> Result<Params, TrackError> {
        match self.get(key) {
            None => Ok(Params::empty(
                self.file.clone(),
                format!("{}.{}", self.path, key),
            )),
            Some(Value::Object(m)) => Ok(Params::new(
                m.clone(),
                self.file.clone(),
                format!("{}.{}", self.path, key),
            )),
            Some(_) => Err(self.error(key, "must be an object")),
        }
    }

    /// Reads `key` as a number, if present. Numeric strings are accepted (with a debug note).
    pub fn opt_num(&self, key: &str) -> Result<Option<f64>, TrackError> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        let x = match v {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| self.error(key, "number out of range"))?,
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(x) => {
                    log::debug!(
                        "{}.{}: numeric string {:?} read as a number",
                        self.path,
                        key,
                        s
                    );
                    x
                }
                Err(_) => {
                    return Err(
                        self.error(key, format!("expected a number, found the string {s:?}"))
                    );
                }
            },
            Value::Bool(_) => return Err(self.error(key, "expected a number, found a boolean")),
            _ => return Err(self.error(key, "expected a number")),
        };
        if !x.is_finite() {
            return Err(self.error(key, "must be a finite number"));
        }
        Ok(Some(x))
    }

    /// `key` as a finite number, or `default` when absent.
    pub fn num(&self, key: &str, default: f64) -> Result<f64, TrackError> {
        Ok(self.opt_num(key)?.unwrap_or(default))
    }

    /// `key` as a finite number `>= 0`, or `default` when absent.
    pub fn non_negative(&self, key: &str, default: f64) -> Result<f64, TrackError> {
        let x = self.num(key, default)?;
        if x < 0.0 {
            return Err(self.error(key, "must be a finite number >= 0"));
        }
        Ok(x)
    }

    /// `key` as a finite number in `[lo, hi]`, or `default` when absent.
    pub fn in_range(&self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64, TrackError> {
        let x = self.num(key, default)?;
        if !(lo..=hi).contains(&x) {
            return Err(self.error(
                key,
                format!("must be a finite number in [{lo}, {hi}], got {x}"),
            ));
        }
        Ok(x)
    }

    /// `key` as a boolean (`true`/`false`, `0`/`1`, `"true"`/`"false"`), or `default`.
    pub fn boolean(&self, key: &str, default: bool) -> Result<bool, TrackError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(false),
            Some(Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(self.error(key, "expected a boolean (true/false or 0/1)")),
        }
    }

    /// `key` as a string, or `default` when absent.
    pub fn string(&self, key: &str, default: &str) -> Result<String, TrackError> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.error(key, "expected a string")),
        }
    }

    /// Start and end values of a transition parameter (FORMAT §5.2): reads `start<X>` and
    /// `end<X>` (`X` = `base` with its first letter upper-cased); the start falls back to the
    /// base key, then to `default`; the end falls back to the start.
    pub fn transition(&self, base: &str, default: f64) -> Result<(f64, f64), TrackError> {
        let cap = capitalize(base);
        self.transition_keys(&format!("start{cap}"), &format!("end{cap}"), base, default)
    }

    /// Like [`Params::transition`] with explicit key names (for snake_case functions such as
    /// `start_amp_lower_L`).
    pub fn transition_keys(
        &self,
        start_key: &str,
        end_key: &str,
        base: &str,
        default: f64,
    ) -> Result<(f64, f64), TrackError> {
        let base_v = self.num(base, default)?;
        let start = self.num(start_key, base_v)?;
        let end = self.num(end_key, start)?;
        Ok((start, end))
    }

    /// Boolean transition pair (`startForceMono`/`endForceMono`).
    pub fn transition_bool(&self, base: &str, default: bool) -> Result<(bool, bool), TrackError> {
        let cap = capitalize(base);
        let b = self.boolean(base, default)?;
        let s = self.boolean(&format!("start{cap}"), b)?;
        let e = self.boolean(&format!("end{cap}"), s)?;
        Ok((s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Params {
        let v: Value = serde_json::from_str(json).unwrap();
        Params::new(
            v.as_object().unwrap().clone(),
            Arc::from("t.json"),
            "steps[0].voices[0].params",
        )
    }

    #[test]
    fn numbers_strings_and_defaults() {
        let q = p(r#"{"a": 200, "b": 2.5, "c": "300", "d": "abc", "e": null, "f": true}"#);
        assert_eq!(q.num("a", 0.0).unwrap(), 200.0);
        assert_eq!(q.num("b", 0.0).unwrap(), 2.5);
        assert_eq!(q.num("c", 0.0).unwrap(), 300.0);
        assert_eq!(q.num("e", 7.0).unwrap(), 7.0);
        assert_eq!(q.num("zz", 7.0).unwrap(), 7.0);
        let err = q.num("d", 0.0).unwrap_err().to_string();
        assert!(
            err.contains("t.json: steps[0].voices[0].params.d: expected a number"),
            "{err}"
        );
        assert!(q.num("f", 0.0).is_err());
    }

    #[test]
    fn negative_is_rejected_with_path() {
        let q = p(r#"{"beatFreq": -1}"#);
        let err = q.non_negative("beatFreq", 4.0).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.json: steps[0].voices[0].params.beatFreq: must be a finite number >= 0"
        );
    }

    #[test]
    fn transition_fallbacks() {
        let q = p(r#"{"baseFreq": 180, "endBaseFreq": 150, "startAmpL": 0.3}"#);
        assert_eq!(q.transition("baseFreq", 200.0).unwrap(), (180.0, 150.0));
        assert_eq!(q.transition("ampL", 0.5).unwrap(), (0.3, 0.3));
        assert_eq!(q.transition("beatFreq", 4.0).unwrap(), (4.0, 4.0));
    }

    #[test]
    fn booleans_accept_zero_one() {
        let q = p(r#"{"a": 1, "b": 0, "c": false, "d": 2}"#);
        assert!(q.boolean("a", false).unwrap());
        assert!(!q.boolean("b", true).unwrap());
        assert!(!q.boolean("c", true).unwrap());
        assert!(q.boolean("d", true).is_err());
    }
}
