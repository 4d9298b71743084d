//! SoundFont loading with a process-wide cache keyed by (path, modification time).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use audio_synth::SoundFont;

use super::MidiError;

/// Environment variable naming the default SoundFont.
pub const SOUNDFONT_ENV: &str = "RUST_AUDIO_ENGINE_SOUNDFONT";
/// Default SoundFont (Debian package `timgm6mb-soundfont`).
pub const DEFAULT_SOUNDFONT: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";

type Cache = Mutex<HashMap<PathBuf, (Option<SystemTime>, Arc<SoundFont>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The SoundFont to use when none is given: `$RUST_AUDIO_ENGINE_SOUNDFONT` if set and
/// non-empty, else [`DEFAULT_SOUNDFONT`].
pub fn default_soundfont_path() -> PathBuf {
    match std::env::var_os(SOUNDFONT_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_SOUNDFONT),
    }
}

/// Loads a SoundFont, parsing each (path, mtime) only once per process: a service rendering
/// many files shares one parsed copy. A file changed on disk (new mtime) is parsed again and
/// replaces the old entry. Errors: [`MidiError::Io`] (missing/unreadable file),
/// [`MidiError::SoundFont`] (not a valid SF2).
pub fn load_soundfont(path: impl AsRef<Path>) -> Result<Arc<SoundFont>, MidiError> {
    let path = path.as_ref();
    let io = |source| MidiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(MidiError::SoundFont {
            path: path.to_path_buf(),
            reason: "is a directory".into(),
        });
    }
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mtime = meta.modified().ok();
    if let Some((m, sf)) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key)
        && *m == mtime
    {
        return Ok(Arc::clone(sf));
    }
    // Parse outside the lock: other threads may load other fonts meanwhile.
    let file = std::fs::File::open(path).map_err(io)?;
    let sf = parse(&mut std::io::BufReader::new(file), path)?;
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    let entry = c.entry(key).or_insert_with(|| (mtime, Arc::clone(&sf)));
    if entry.0 != mtime {
        *entry = (mtime, Arc::clone(&sf));
    }
    Ok(Arc::clone(&entry.1))
}

/// Parses a SoundFont from bytes (no cache, no file system; for wasm and tests).
pub fn soundfont_from_bytes(
    bytes: &[u8],
    name: impl AsRef<Path>,
) -> Result<Arc<SoundFont>, MidiError> {
    parse(&mut std::io::Cursor::new(bytes), name.as_ref())
}

fn parse<R: std::io::Read>(r: &mut R, path: &Path) -> Result<Arc<SoundFont>, MidiError> {
    let sf = SoundFont::new(r).map_err(|e| MidiError::SoundFont {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if sf.get_presets().is_empty() {
        return Err(MidiError::SoundFont {
            path: path.to_path_buf(),
            reason: "contains no presets".into(),
        });
    }
    Ok(Arc::new(sf))
}

/// Number of SoundFonts in the cache (for tests and diagnostics).
pub fn cached_soundfonts() -> usize {
    cache().lock().unwrap_or_else(|e| e.into_inner()).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_returns_same_arc_and_errors_name_file() {
        let p = default_soundfont_path();
        if !p.exists() {
            eprintln!(
                "SKIP: no SoundFont at {} (install timgm6mb-soundfont)",
                p.display()
            );
            return;
        }
        let a = load_soundfont(&p).unwrap();
        let b = load_soundfont(&p).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "second load must hit the cache");
        assert!(a.get_presets().len() > 100);

        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.sf2");
        std::fs::write(&bad, b"RIFF\x04\x00\x00\x00sfbkjunkjunk").unwrap();
        let e = load_soundfont(&bad).unwrap_err();
        assert!(
            matches!(e, MidiError::SoundFont { .. }) && e.to_string().contains("bad.sf2"),
            "{e}"
        );
        let e = load_soundfont(dir.path().join("missing.sf2")).unwrap_err();
        assert!(
            e.is_not_found() && e.to_string().contains("missing.sf2"),
            "{e}"
        );
    }
}
