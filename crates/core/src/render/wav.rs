//! Writing a [`Source`] to a WAV file (`hound`): 16-bit, 24-bit or 32-bit float, through a
//! temporary file that is renamed at the end, so a failure never leaves a partial file.

use crate::error::TrackError;
use crate::source::Source;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Sample format of the output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WavFormat {
    /// 16-bit PCM (default).
    #[default]
    Pcm16,
    /// 24-bit PCM.
    Pcm24,
    /// 32-bit IEEE float.
    Float32,
}

impl WavFormat {
    /// Parses `wav16`/`16`, `wav24`/`24`, `f32`/`float`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "wav16" | "16" | "pcm16" | "s16" | "i16" => Some(WavFormat::Pcm16),
            "wav24" | "24" | "pcm24" | "s24" | "i24" => Some(WavFormat::Pcm24),
            "f32" | "float" | "float32" | "wavf32" => Some(WavFormat::Float32),
            _ => None,
        }
    }

    fn spec(self, sample_rate: u32) -> hound::WavSpec {
        let (bits, fmt) = match self {
            WavFormat::Pcm16 => (16, hound::SampleFormat::Int),
            WavFormat::Pcm24 => (24, hound::SampleFormat::Int),
            WavFormat::Float32 => (32, hound::SampleFormat::Float),
        };
        hound::WavSpec {
            channels: 2,
            sample_rate,
            bits_per_sample: bits,
            sample_format: fmt,
        }
    }
}

/// Frames rendered per write call.
const BLOCK: usize = 4096;
/// Frames per work unit of the parallel renderer (about 12 s at 44.1 kHz).
pub const PARALLEL_CHUNK: u64 = 1 << 19;

/// A temporary file next to the destination, removed on drop unless persisted.
struct TempFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl TempFile {
    fn new(dest: &Path) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out.wav".into());
        let tmp = dest.with_file_name(format!(
            ".{name}.partial-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        TempFile {
            tmp,
            dest: dest.to_path_buf(),
            done: false,
        }
    }

    fn persist(mut self) -> Result<(), TrackError> {
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| TrackError::Write {
            path: self.dest.clone(),
            source: e,
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn hound_err(path: &Path, e: hound::Error) -> TrackError {
    let source = match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    TrackError::Write {
        path: path.to_path_buf(),
        source,
    }
}

struct Writer {
    w: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    format: WavFormat,
}

impl Writer {
    fn write(&mut self, interleaved: &[f32]) -> Result<(), hound::Error> {
        match self.format {
            WavFormat::Pcm16 => {
                let mut w16 = self.w.get_i16_writer(interleaved.len() as u32);
                for &x in interleaved {
                    // Round half away from zero without a libm call (`as` saturates).
                    let v = x.clamp(-1.0, 1.0) * 32767.0;
                    w16.write_sample((v + 0.5f32.copysign(v)) as i16);
                }
                w16.flush()
            }
            WavFormat::Pcm24 => {
                for &x in interleaved {
                    self.w
                        .write_sample((x.clamp(-1.0, 1.0) as f64 * 8_388_607.0).round() as i32)?;
                }
                Ok(())
            }
            WavFormat::Float32 => {
                for &x in interleaved {
                    self.w.write_sample(x)?;
                }
                Ok(())
            }
        }
    }
}

/// Renders `frames` frames (or to the end when `None`) from the source's current position
/// into `path`. `progress(done, total)` is called after each block. Returns frames written.
pub fn write_wav(
    source: &mut dyn Source,
    path: &Path,
    format: WavFormat,
    frames: Option<u64>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, TrackError> {
    // Length unknown (MIDI release tail): write until the source ends; progress total is 0.
    let open_end = frames.is_none() && source.total_frames().is_none();
    let mut total = if open_end {
        u64::MAX
    } else {
        frames_to_write(source, frames)
    };
    let tmp = TempFile::new(path);
    let w = hound::WavWriter::create(&tmp.tmp, format.spec(source.sample_rate()))
        .map_err(|e| hound_err(path, e))?;
    let mut writer = Writer { w, format };
    let mut buf = vec![0.0f32; BLOCK * 2];
    let mut done = 0u64;
    while done < total {
        let mut n = (total - done).min(BLOCK as u64) as usize;
        let got = source.render_block(&mut buf[..2 * n]);
        if open_end && got < n {
            n = got;
            total = done + n as u64;
        }
        writer
            .write(&buf[..2 * n])
            .map_err(|e| hound_err(path, e))?;
        done += n as u64;
        progress(done, if open_end { 0 } else { total });
    }
    writer.w.finalize().map_err(|e| hound_err(path, e))?;
    tmp.persist()?;
    Ok(total)
}

fn frames_to_write(source: &dyn Source, frames: Option<u64>) -> u64 {
    let left = source
        .total_frames()
        .map(|t| t.saturating_sub(source.position()));
    match (frames, left) {
        (Some(f), _) => f,
        (None, Some(l)) => l,
        (None, None) => 0,
    }
}

/// Renders `frames` frames from `start` with `threads` independent sources (made by `make`),
/// each rendering every `threads`-th chunk after a seek; chunks are written in order, so memory
/// stays bounded (a few chunks) whatever the length. The result equals the single-source render
/// because seek is exact.
#[cfg(feature = "parallel")]
pub fn write_wav_parallel(
    make: &(dyn Fn() -> Result<Box<dyn Source>, TrackError> + Sync),
    path: &Path,
    format: WavFormat,
    start: u64,
    frames: Option<u64>,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, TrackError> {
    use std::sync::mpsc::sync_channel;
    let threads = threads.max(1);
    let mut probe = make()?;
    probe.seek(start);
    let total = frames_to_write(&*probe, frames);
    let sr = probe.sample_rate();
    if threads == 1 {
        return write_wav(&mut *probe, path, format, Some(total), progress);
    }
    drop(probe);
    let nchunks = total.div_ceil(PARALLEL_CHUNK);
    let tmp = TempFile::new(path);
    let w = hound::WavWriter::create(&tmp.tmp, format.spec(sr)).map_err(|e| hound_err(path, e))?;
    let mut writer = Writer { w, format };
    let result: Result<(), TrackError> = std::thread::scope(|s| {
        let mut receivers = Vec::new();
        for t in 0..threads as u64 {
            let (tx, rx) = sync_channel::<Result<Vec<f32>, TrackError>>(1);
            receivers.push(rx);
            s.spawn(move || {
                let mut src = match make() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let mut k = t;
                while k < nchunks {
                    let a = k * PARALLEL_CHUNK;
                    let n = (total - a).min(PARALLEL_CHUNK) as usize;
                    src.seek(start + a);
                    let mut buf = vec![0.0f32; 2 * n];
                    for blk in buf.chunks_mut(2 * BLOCK) {
                        src.render_block(blk);
                    }
                    if tx.send(Ok(buf)).is_err() {
                        return; // writer gave up
                    }
                    k += threads as u64;
                }
            });
        }
        let mut done = 0u64;
        for k in 0..nchunks {
            let buf = receivers[(k % threads as u64) as usize]
                .recv()
                .map_err(|_| TrackError::Write {
                    path: path.to_path_buf(),
                    source: std::io::Error::other("render thread stopped"),
                })??;
            writer.write(&buf).map_err(|e| hound_err(path, e))?;
            done += (buf.len() / 2) as u64;
            progress(done, total);
        }
        Ok(())
    });
    result?;
    writer.w.finalize().map_err(|e| hound_err(path, e))?;
    tmp.persist()?;
    Ok(total)
}

/// Renders `frames` frames from the current position into memory (interleaved stereo).
pub fn render_to_vec(source: &mut dyn Source, frames: Option<u64>) -> Vec<f32> {
    let total = frames_to_write(source, frames) as usize;
    let mut out = vec![0.0f32; total * 2];
    for blk in out.chunks_mut(2 * BLOCK) {
        source.render_block(blk);
    }
    out
}
