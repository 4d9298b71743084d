//! Audio file decoding (WAV/FLAC/MP3/OGG through `symphonia`) and resampling (`rubato`).

use std::fs::File;
use std::path::Path;

/// Decoded audio: interleaved `f32` samples.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    pub sample_rate: u32,
    pub channels: usize,
    /// Interleaved samples, `frames * channels` long.
    pub samples: Vec<f32>,
}

impl DecodedAudio {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Stereo version: mono duplicated, more than two channels keep the first two.
    pub fn to_stereo(&self) -> Vec<f32> {
        let c = self.channels.max(1);
        let mut out = Vec::with_capacity(self.frames() * 2);
        for fr in self.samples.chunks_exact(c) {
            let (l, r) = if c == 1 {
                (fr[0], fr[0])
            } else {
                (fr[0], fr[1])
            };
            out.push(l);
            out.push(r);
        }
        out
    }

    /// Mono mix-down (mean of the channels).
    pub fn to_mono(&self) -> Vec<f32> {
        let c = self.channels.max(1);
        self.samples
            .chunks_exact(c)
            .map(|fr| fr.iter().sum::<f32>() / c as f32)
            .collect()
    }
}

/// Decodes a whole audio file. The error string says what went wrong (the caller adds the path).
pub fn decode_file(path: &Path) -> Result<DecodedAudio, DecodeError> {
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::errors::Error;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;

    let file = File::open(path).map_err(DecodeError::Io)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| DecodeError::Format(format!("unrecognised or corrupt audio file ({e})")))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| DecodeError::Format("no audio track".into()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| DecodeError::Format("no audio codec parameters".into()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::Format(format!("unsupported codec ({e})")))?;
    let track_id = track.id;
    let mut samples: Vec<f32> = Vec::new();
    let mut chunk: Vec<f32> = Vec::new();
    let (mut rate, mut channels) = (0u32, 0usize);
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(DecodeError::Format(format!("read error ({e})"))),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                rate = buf.spec().rate();
                channels = buf.spec().channels().count();
                chunk.resize(buf.samples_interleaved(), 0.0);
                buf.copy_to_slice_interleaved(&mut chunk);
                samples.extend_from_slice(&chunk);
            }
            Err(Error::DecodeError(e)) => {
                log::debug!("{}: skipping a corrupt packet ({e})", path.display())
            }
            Err(e) => return Err(DecodeError::Format(format!("decode error ({e})"))),
        }
    }
    if channels == 0 || rate == 0 {
        return Err(DecodeError::Format("no audio decoded".into()));
    }
    Ok(DecodedAudio {
        sample_rate: rate,
        channels,
        samples,
    })
}

/// Why decoding failed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("{0}")]
    Format(String),
}

/// Resamples interleaved audio from `from` Hz to `to` Hz with rubato's FFT resampler
/// (band-limited, delay compensated, exact output length `round(frames * to / from)`).
pub fn resample(samples: &[f32], channels: usize, from: u32, to: u32) -> Result<Vec<f32>, String> {
    use audioadapter_buffers::direct::InterleavedSlice;
    use rubato::{Fft, FixedSync, Resampler};
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let frames = samples.len() / channels;
    let mut r = Fft::<f32>::new(from as usize, to as usize, 1024, channels, FixedSync::Input)
        .map_err(|e| format!("resampler: {e}"))?;
    let input = InterleavedSlice::new(samples, channels, frames)
        .map_err(|e| format!("resampler input: {e}"))?;
    let needed = r.process_all_needed_output_len(frames);
    let mut out = vec![0.0f32; needed * channels];
    let mut output = InterleavedSlice::new_mut(&mut out, channels, needed)
        .map_err(|e| format!("resampler output: {e}"))?;
    let (_, produced) = r
        .process_all_into_buffer(&input, &mut output, frames, None)
        .map_err(|e| format!("resampler: {e}"))?;
    let want = ((frames as f64) * to as f64 / from as f64).round() as usize;
    out.truncate(produced.min(want) * channels);
    out.resize(want * channels, 0.0);
    Ok(out)
}
