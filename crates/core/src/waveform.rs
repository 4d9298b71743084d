//! Waveform pictures: min/max/RMS per pixel column, drawn into an RGBA image and written as PNG.
//!
//! Column `c` of `width` covers frames `floor(c * n / width) .. floor((c + 1) * n / width)`
//! (integer arithmetic), so for any length every frame lies in exactly one column and none is
//! skipped. With fewer frames than columns a column shows the frame under it.
//!
//! ```
//! use audio_core::waveform::{WaveformOptions, waveform_png};
//! let tone: Vec<f32> = (0..44_100).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
//! let png = waveform_png(&tone, 1, 44_100, &WaveformOptions::default()).unwrap();
//! assert_eq!(&png[1..4], b"PNG");
//! ```

#[cfg(feature = "decode")]
use std::path::Path;

/// How the channels are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelMode {
    /// One lane: the mean of the channels.
    #[default]
    Mixed,
    /// One lane per channel, stacked top to bottom (at most 8).
    Separate,
}

impl ChannelMode {
    /// `"mixed"`/`"mono"` or `"both"`/`"separate"`/`"stereo"`.
    pub fn parse(s: &str) -> Option<ChannelMode> {
        match s.to_ascii_lowercase().as_str() {
            "mixed" | "mix" | "mono" => Some(ChannelMode::Mixed),
            "both" | "separate" | "stereo" | "channels" => Some(ChannelMode::Separate),
            _ => None,
        }
    }
}

/// An RGBA colour.
pub type Rgba = [u8; 4];

/// Picture settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveformOptions {
    /// Image width in pixels (1 to 32768): one column of min/max/RMS each.
    pub width: u32,
    /// Image height in pixels (8 to 8192), time axis included.
    pub height: u32,
    /// Mixed or one lane per channel.
    pub channels: ChannelMode,
    /// Min..max band colour.
    pub color: Rgba,
    /// RMS band colour (drawn over the min..max band); `None` draws no RMS band.
    pub rms_color: Option<Rgba>,
    /// Background colour (alpha 0 gives a transparent picture).
    pub background: Rgba,
    /// Draw a time axis (ticks every "nice" interval, labels in seconds) along the bottom.
    pub time_axis: bool,
    /// Colour of the axis, its labels and the lane separators.
    pub axis_color: Rgba,
}

impl Default for WaveformOptions {
    fn default() -> Self {
        WaveformOptions {
            width: 1000,
            height: 200,
            channels: ChannelMode::Mixed,
            color: [0x3b, 0x82, 0xf6, 0xff],
            rms_color: Some([0x1e, 0x40, 0xaf, 0xff]),
            background: [0xff, 0xff, 0xff, 0xff],
            time_axis: false,
            axis_color: [0x44, 0x44, 0x44, 0xff],
        }
    }
}

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WaveformError {
    /// A setting is out of range (the message names it).
    #[error("invalid waveform settings: {0}")]
    Settings(String),
    /// The audio file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The audio file exists but cannot be decoded.
    #[error("{}: {msg}", path.display())]
    Decode {
        path: std::path::PathBuf,
        msg: String,
    },
    /// PNG encoding failed (out of memory and the like).
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// Min, max and RMS of the samples of one column of one lane.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColumnStats {
    pub min: f32,
    pub max: f32,
    pub rms: f32,
}

/// Parses `#rgb`, `#rrggbb` or `#rrggbbaa` (the `#` is optional).
pub fn parse_color(s: &str) -> Option<Rgba> {
    let h = s.trim().trim_start_matches('#');
    let hex = |i: usize, n: usize| u8::from_str_radix(h.get(i..i + n)?, 16).ok();
    match h.len() {
        3 => {
            let d = |i| hex(i, 1).map(|v| v * 17);
            Some([d(0)?, d(1)?, d(2)?, 255])
        }
        6 => Some([hex(0, 2)?, hex(2, 2)?, hex(4, 2)?, 255]),
        8 => Some([hex(0, 2)?, hex(2, 2)?, hex(4, 2)?, hex(6, 2)?]),
        _ => None,
    }
}

/// First frame of column `c` (of `width`) for `frames` frames.
#[inline]
pub fn column_start(c: usize, frames: usize, width: usize) -> usize {
    ((c as u128 * frames as u128) / width as u128) as usize
}

/// Min/max/RMS per column for each lane: `lanes x width` entries, lane-major. `interleaved`
/// has `channels` channels; `mode` mixes them into one lane or keeps them apart. Empty columns
/// (no frames at all) are all zero.
pub fn column_stats(
    interleaved: &[f32],
    channels: usize,
    width: usize,
    mode: ChannelMode,
) -> Vec<ColumnStats> {
    let ch = channels.max(1);
    let frames = interleaved.len() / ch;
    let lanes = match mode {
        ChannelMode::Mixed => 1,
        ChannelMode::Separate => ch,
    };
    let column = |c: usize| -> [ColumnStats; 8] {
        let mut out = [ColumnStats::default(); 8];
        let lo = column_start(c, frames, width);
        let mut hi = column_start(c + 1, frames, width);
        if hi == lo && lo < frames {
            hi = lo + 1; // fewer frames than columns: show the frame under the column
        }
        if hi <= lo {
            return out;
        }
        let block = &interleaved[lo * ch..hi * ch];
        let n = (hi - lo) as f64;
        match mode {
            ChannelMode::Mixed => {
                let (mn, mx, ss) = if ch == 1 {
                    min_max_sq(block)
                } else if ch == 2 {
                    min_max_sq_mixed2(block)
                } else {
                    let inv = 1.0 / ch as f32;
                    let (mut mn, mut mx, mut ss) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f64);
                    for fr in block.chunks_exact(ch) {
                        let v = fr.iter().sum::<f32>() * inv;
                        mn = if v < mn { v } else { mn };
                        mx = if v > mx { v } else { mx };
                        ss += (v * v) as f64;
                    }
                    (mn, mx, ss)
                };
                out[0] = ColumnStats {
                    min: mn,
                    max: mx,
                    rms: (ss / n).sqrt() as f32,
                };
            }
            ChannelMode::Separate => {
                if ch == 2 {
                    let (l, r) = min_max_sq_stereo(block);
                    out[0] = stats(l, n);
                    out[1] = stats(r, n);
                } else {
                    for (k, o) in out.iter_mut().enumerate().take(ch.min(8)) {
                        let (mut mn, mut mx, mut ss) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f64);
                        for fr in block.chunks_exact(ch) {
                            let v = fr[k];
                            mn = if v < mn { v } else { mn };
                            mx = if v > mx { v } else { mx };
                            ss += (v * v) as f64;
                        }
                        *o = stats((mn, mx, ss), n);
                    }
                }
            }
        }
        out
    };
    #[cfg(feature = "parallel")]
    let cols: Vec<[ColumnStats; 8]> = {
        use rayon::prelude::*;
        (0..width).into_par_iter().map(column).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let cols: Vec<[ColumnStats; 8]> = (0..width).map(column).collect();
    let lanes = lanes.min(8);
    let mut out = vec![ColumnStats::default(); lanes * width];
    for (c, col) in cols.iter().enumerate() {
        for l in 0..lanes {
            out[l * width + c] = col[l];
        }
    }
    out
}

fn stats((mn, mx, ss): (f32, f32, f64), n: f64) -> ColumnStats {
    ColumnStats {
        min: mn,
        max: mx,
        rms: (ss / n).sqrt() as f32,
    }
}

/// Min, max and sum of squares of a mono block; eight lanes so the compiler vectorises it.
fn min_max_sq(x: &[f32]) -> (f32, f32, f64) {
    let mut mn = [f32::INFINITY; 8];
    let mut mx = [f32::NEG_INFINITY; 8];
    let mut ss = [0.0f32; 8];
    let mut total = 0.0f64;
    // Sum squares in f32 over short runs, then in f64, so long columns keep their precision.
    for big in x.chunks(8 * 512) {
        let mut it = big.chunks_exact(8);
        for c in &mut it {
            for k in 0..8 {
                let v = c[k];
                mn[k] = if v < mn[k] { v } else { mn[k] };
                mx[k] = if v > mx[k] { v } else { mx[k] };
                ss[k] += v * v;
            }
        }
        for &v in it.remainder() {
            mn[0] = if v < mn[0] { v } else { mn[0] };
            mx[0] = if v > mx[0] { v } else { mx[0] };
            ss[0] += v * v;
        }
        total += ss.iter().map(|&s| s as f64).sum::<f64>();
        ss = [0.0; 8];
    }
    let mn = mn.iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let mx = mx.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    (mn, mx, total)
}

/// [`min_max_sq`] of the mean of an interleaved stereo block (eight frames per step).
fn min_max_sq_mixed2(x: &[f32]) -> (f32, f32, f64) {
    let mut mn = [f32::INFINITY; 8];
    let mut mx = [f32::NEG_INFINITY; 8];
    let mut ss = [0.0f32; 8];
    let mut total = 0.0f64;
    for big in x.chunks(16 * 256) {
        let mut it = big.chunks_exact(16);
        for c in &mut it {
            for k in 0..8 {
                let v = (c[2 * k] + c[2 * k + 1]) * 0.5;
                mn[k] = if v < mn[k] { v } else { mn[k] };
                mx[k] = if v > mx[k] { v } else { mx[k] };
                ss[k] += v * v;
            }
        }
        for fr in it.remainder().chunks_exact(2) {
            let v = (fr[0] + fr[1]) * 0.5;
            mn[0] = if v < mn[0] { v } else { mn[0] };
            mx[0] = if v > mx[0] { v } else { mx[0] };
            ss[0] += v * v;
        }
        total += ss.iter().map(|&s| s as f64).sum::<f64>();
        ss = [0.0; 8];
    }
    let mn = mn.iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let mx = mx.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    (mn, mx, total)
}

/// [`min_max_sq`] for an interleaved stereo block, both channels at once.
fn min_max_sq_stereo(x: &[f32]) -> ((f32, f32, f64), (f32, f32, f64)) {
    let mut mn = [f32::INFINITY; 8];
    let mut mx = [f32::NEG_INFINITY; 8];
    let mut ss = [0.0f32; 8];
    let mut tot = [0.0f64; 2];
    for big in x.chunks(8 * 512) {
        let mut it = big.chunks_exact(8);
        for c in &mut it {
            for k in 0..8 {
                let v = c[k];
                mn[k] = if v < mn[k] { v } else { mn[k] };
                mx[k] = if v > mx[k] { v } else { mx[k] };
                ss[k] += v * v;
            }
        }
        for (i, &v) in it.remainder().iter().enumerate() {
            let k = i % 2;
            mn[k] = if v < mn[k] { v } else { mn[k] };
            mx[k] = if v > mx[k] { v } else { mx[k] };
            ss[k] += v * v;
        }
        for (k, s) in ss.iter().enumerate() {
            tot[k % 2] += *s as f64;
        }
        ss = [0.0; 8];
    }
    // Even lanes hold the left channel, odd lanes the right one.
    let pick = |k0: usize| {
        let mut a = (f32::INFINITY, f32::NEG_INFINITY);
        for k in (k0..8).step_by(2) {
            a.0 = a.0.min(mn[k]);
            a.1 = a.1.max(mx[k]);
        }
        a
    };
    let (l, r) = (pick(0), pick(1));
    ((l.0, l.1, tot[0]), (r.0, r.1, tot[1]))
}

/// Height of the time-axis strip in pixels.
pub const AXIS_HEIGHT: u32 = 14;

/// Draws the picture: `width * height * 4` RGBA bytes, rows top to bottom.
///
/// Each lane maps +1.0 to its top row and -1.0 to its bottom row (louder samples are clipped
/// to the lane). A column is drawn only where it holds a non-zero sample, so silence stays
/// background.
pub fn render_rgba(
    interleaved: &[f32],
    channels: usize,
    sample_rate: u32,
    o: &WaveformOptions,
) -> Result<Vec<u8>, WaveformError> {
    validate(o, channels, sample_rate)?;
    let (w, h) = (o.width as usize, o.height as usize);
    let stats = column_stats(interleaved, channels, w, o.channels);
    let lanes = stats.len() / w;
    let mut img = vec![0u8; w * h * 4];
    for px in img.chunks_exact_mut(4) {
        px.copy_from_slice(&o.background);
    }
    let axis = if o.time_axis { AXIS_HEIGHT as usize } else { 0 };
    let plot_h = h - axis;
    let put = |img: &mut [u8], x: usize, y: usize, c: Rgba| {
        let i = (y * w + x) * 4;
        img[i..i + 4].copy_from_slice(&c);
    };
    for lane in 0..lanes {
        let top = lane * plot_h / lanes;
        let bottom = (lane + 1) * plot_h / lanes; // exclusive
        let lh = (bottom - top).max(1);
        // Amplitude -> row: +1 at `top`, -1 at `bottom - 1`.
        let row = |a: f32| -> usize {
            let a = a.clamp(-1.0, 1.0) as f64;
            let y = top as f64 + (1.0 - a) * 0.5 * (lh - 1) as f64;
            (y.round() as usize).clamp(top, bottom - 1)
        };
        for x in 0..w {
            let s = stats[lane * w + x];
            if s.min == 0.0 && s.max == 0.0 {
                continue;
            }
            for y in row(s.max)..=row(s.min) {
                put(&mut img, x, y, o.color);
            }
            if let Some(rc) = o.rms_color
                && s.rms > 0.0
            {
                // RMS band, kept inside min..max.
                let (hi, lo) = (s.rms.min(s.max), (-s.rms).max(s.min));
                if hi >= lo {
                    for y in row(hi)..=row(lo) {
                        put(&mut img, x, y, rc);
                    }
                }
            }
        }
        if lane + 1 < lanes {
            // Separator between lanes.
            for x in 0..w {
                put(&mut img, x, bottom - 1, o.axis_color);
            }
        }
    }
    if o.time_axis {
        let frames = interleaved.len() / channels.max(1);
        draw_time_axis(
            &mut img,
            w,
            h,
            frames as f64 / sample_rate as f64,
            o.axis_color,
        );
    }
    Ok(img)
}

fn validate(o: &WaveformOptions, channels: usize, sample_rate: u32) -> Result<(), WaveformError> {
    let bad = |m: String| Err(WaveformError::Settings(m));
    if !(1..=32_768).contains(&o.width) {
        return bad(format!("width must be 1..=32768 pixels, got {}", o.width));
    }
    if !(8..=8192).contains(&o.height) {
        return bad(format!("height must be 8..=8192 pixels, got {}", o.height));
    }
    if o.time_axis && o.height < AXIS_HEIGHT + 8 {
        return bad(format!(
            "height must be at least {} pixels with a time axis, got {}",
            AXIS_HEIGHT + 8,
            o.height
        ));
    }
    if !(1..=64).contains(&channels) {
        return bad(format!("channels must be 1..=64, got {channels}"));
    }
    if sample_rate == 0 {
        return bad("sample_rate must be > 0".into());
    }
    Ok(())
}

/// Renders and encodes the picture as PNG (RGBA, 8 bits).
pub fn waveform_png(
    interleaved: &[f32],
    channels: usize,
    sample_rate: u32,
    o: &WaveformOptions,
) -> Result<Vec<u8>, WaveformError> {
    let img = render_rgba(interleaved, channels, sample_rate, o)?;
    encode_png(&img, o.width, o.height)
}

/// Decodes an audio file (WAV/FLAC/MP3/OGG) and draws it.
#[cfg(feature = "decode")]
pub fn waveform_png_file(path: &Path, o: &WaveformOptions) -> Result<Vec<u8>, WaveformError> {
    let audio = crate::decode::decode_file(path).map_err(|e| match e {
        crate::decode::DecodeError::Io(source) => WaveformError::Io {
            path: path.to_path_buf(),
            source,
        },
        crate::decode::DecodeError::Format(msg) => WaveformError::Decode {
            path: path.to_path_buf(),
            msg,
        },
    })?;
    waveform_png(&audio.samples, audio.channels, audio.sample_rate, o)
}

/// Encodes RGBA pixels as a PNG file in memory (fast compression: pictures are mostly flat).
pub fn encode_png(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, WaveformError> {
    let mut out = Vec::with_capacity(rgba.len() / 8 + 1024);
    let e = |x: png::EncodingError| WaveformError::Encode(x.to_string());
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().map_err(e)?;
    writer.write_image_data(rgba).map_err(e)?;
    writer.finish().map_err(e)?;
    Ok(out)
}

/// Tick spacing in seconds giving at most one labelled tick per ~80 px.
fn tick_step(seconds: f64, width: usize) -> f64 {
    let max_ticks = (width as f64 / 80.0).max(1.0);
    let raw = seconds / max_ticks;
    for s in [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 1200.0, 1800.0, 3600.0,
    ] {
        if s >= raw {
            return s;
        }
    }
    (raw / 3600.0).ceil() * 3600.0
}

/// Axis line along the top of the bottom strip, ticks and labels ("12.5" seconds, or "m:ss").
fn draw_time_axis(img: &mut [u8], w: usize, h: usize, seconds: f64, c: Rgba) {
    let y0 = h - AXIS_HEIGHT as usize;
    let mut put = |x: usize, y: usize| {
        if x < w && y < h {
            let i = (y * w + x) * 4;
            img[i..i + 4].copy_from_slice(&c);
        }
    };
    for x in 0..w {
        put(x, y0);
    }
    if seconds <= 0.0 {
        return;
    }
    let step = tick_step(seconds, w);
    let mut k = 0u64;
    loop {
        let t = k as f64 * step;
        if t > seconds + 1e-9 {
            break;
        }
        let x = ((t / seconds) * w as f64).round() as usize;
        let x = x.min(w - 1);
        for y in y0..y0 + 4 {
            put(x, y);
        }
        let label = if seconds >= 120.0 {
            let s = t.round() as u64;
            format!("{}:{:02}", s / 60, s % 60)
        } else if step < 1.0 {
            let dec = if step < 0.1 { 2 } else { 1 };
            format!("{t:.dec$}")
        } else {
            format!("{}", t.round() as u64)
        };
        let tw = label.len() * 4 - 1;
        // Keep labels inside the picture.
        let lx = x.saturating_sub(tw / 2).min(w.saturating_sub(tw));
        for (i, ch) in label.chars().enumerate() {
            let g = glyph(ch);
            for (gy, bits) in g.iter().enumerate() {
                for gx in 0..3 {
                    if bits & (4 >> gx) != 0 {
                        put(lx + i * 4 + gx, y0 + 6 + gy);
                    }
                }
            }
        }
        k += 1;
    }
}

/// 3x5 pixel glyphs for the axis labels (rows top to bottom, bit 2 = left pixel).
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        ':' => [0, 2, 0, 2, 0],
        '.' => [0, 0, 0, 0, 2],
        _ => [0; 5],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn lit_columns(img: &[u8], w: usize, h: usize, color: Rgba) -> Vec<usize> {
        (0..w)
            .filter(|&x| (0..h).any(|y| img[(y * w + x) * 4..][..4] == color))
            .collect()
    }

    #[test]
    fn burst_lights_exactly_its_columns() {
        // 3 s at 1000 Hz, a burst from 1.0 s to 2.0 s; 300 columns of 10 frames each.
        let sr = 1000;
        let mut x = vec![0.0f32; 3000];
        for (i, v) in x.iter_mut().enumerate().take(2000).skip(1000) {
            *v = 0.8 * ((i as f32) * 0.7).sin() + 0.01;
        }
        let o = WaveformOptions {
            width: 300,
            height: 100,
            rms_color: None,
            ..Default::default()
        };
        let png_bytes = waveform_png(&x, 1, sr, &o).unwrap();
        let (w, h, img) = decode(&png_bytes);
        assert_eq!((w, h), (300, 100));
        let lit = lit_columns(&img, 300, 100, o.color);
        assert_eq!(lit, (100..200).collect::<Vec<_>>());
        // Odd sizes: 7 columns over 3001 frames (starts 0, 428, 857, 1286, 1715, ...); a burst
        // over frames 1200..1800 lights exactly the columns whose ranges hold those frames.
        let mut y = vec![0.0f32; 3001];
        for v in &mut y[1200..1800] {
            *v = 0.5;
        }
        let s = column_stats(&y, 1, 7, ChannelMode::Mixed);
        let expect: Vec<usize> = (0..7)
            .filter(|&c| {
                let (lo, hi) = (column_start(c, 3001, 7), column_start(c + 1, 3001, 7));
                (lo..hi).any(|i| (1200..1800).contains(&i))
            })
            .collect();
        let got: Vec<usize> = (0..7).filter(|&c| s[c].max > 0.0).collect();
        assert_eq!(got, expect);
        assert_eq!(got, vec![2, 3, 4]);
    }

    #[test]
    fn every_frame_counted_once() {
        // RMS over columns, weighted by column length, equals the RMS of the whole signal.
        let n = 10_007;
        let x: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let w = 333;
        let s = column_stats(&x, 1, w, ChannelMode::Mixed);
        let mut total = 0.0f64;
        for c in 0..w {
            let len = column_start(c + 1, n, w) - column_start(c, n, w);
            total += (s[c].rms as f64).powi(2) * len as f64;
        }
        let direct: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
        assert!(
            (total - direct).abs() / direct < 1e-5,
            "{total} vs {direct}"
        );
        let mx = s.iter().map(|c| c.max).fold(f32::MIN, f32::max);
        let mn = s.iter().map(|c| c.min).fold(f32::MAX, f32::min);
        assert_eq!(mx, x.iter().cloned().fold(f32::MIN, f32::max));
        assert_eq!(mn, x.iter().cloned().fold(f32::MAX, f32::min));
    }

    #[test]
    fn stereo_lanes_and_mix() {
        // Left: +0.5 DC in the first half; right: -0.25 DC in the second half.
        let n = 1000;
        let mut x = vec![0.0f32; 2 * n];
        for i in 0..n / 2 {
            x[2 * i] = 0.5;
        }
        for i in n / 2..n {
            x[2 * i + 1] = -0.25;
        }
        let s = column_stats(&x, 2, 10, ChannelMode::Separate);
        assert_eq!(s.len(), 20);
        assert_eq!(s[0].max, 0.5);
        assert_eq!(s[9].max, 0.0);
        assert_eq!(s[10].min, 0.0);
        assert_eq!(s[19].min, -0.25);
        assert!((s[0].rms - 0.5).abs() < 1e-6);
        let m = column_stats(&x, 2, 10, ChannelMode::Mixed);
        assert_eq!(m.len(), 10);
        assert_eq!(m[0].max, 0.25);
        assert_eq!(m[9].min, -0.125);
        // Drawn: top lane lit only on the left, bottom lane only on the right.
        let o = WaveformOptions {
            width: 10,
            height: 40,
            channels: ChannelMode::Separate,
            rms_color: None,
            ..Default::default()
        };
        let img = render_rgba(&x, 2, 1000, &o).unwrap();
        let top = lit_columns(&img[..10 * 20 * 4], 10, 20, o.color);
        let bottom = lit_columns(&img[10 * 20 * 4..], 10, 20, o.color);
        assert_eq!(top, (0..5).collect::<Vec<_>>());
        assert_eq!(bottom, (5..10).collect::<Vec<_>>());
    }

    #[test]
    fn amplitude_maps_to_rows_and_axis_draws() {
        // Full-scale square wave fills the lane; a time axis takes the bottom strip.
        let x: Vec<f32> = (0..4000)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let o = WaveformOptions {
            width: 50,
            height: 64,
            rms_color: None,
            time_axis: true,
            ..Default::default()
        };
        let img = render_rgba(&x, 1, 1000, &o).unwrap();
        let plot_h = 64 - AXIS_HEIGHT as usize;
        for y in 0..plot_h {
            assert_eq!(&img[(y * 50 + 25) * 4..][..4], &o.color, "row {y}");
        }
        let axis_row = plot_h * 50 * 4;
        assert!(
            img[axis_row..axis_row + 50 * 4]
                .chunks_exact(4)
                .all(|p| p == o.axis_color)
        );
        // Half amplitude: rows from a quarter to three quarters of the lane.
        let half: Vec<f32> = x.iter().map(|v| v * 0.5).collect();
        let o2 = WaveformOptions {
            width: 4,
            height: 101,
            rms_color: None,
            ..Default::default()
        };
        let img = render_rgba(&half, 1, 1000, &o2).unwrap();
        let rows: Vec<usize> = (0..101)
            .filter(|&y| img[(y * 4) * 4..][..4] == o2.color)
            .collect();
        assert_eq!(rows.first(), Some(&25));
        assert_eq!(rows.last(), Some(&75));
    }

    #[test]
    fn bad_settings_and_colors() {
        let o = WaveformOptions {
            width: 0,
            ..Default::default()
        };
        assert!(matches!(
            waveform_png(&[0.0; 10], 1, 1000, &o),
            Err(WaveformError::Settings(m)) if m.contains("width")
        ));
        assert_eq!(parse_color("#ff0080"), Some([255, 0, 128, 255]));
        assert_eq!(parse_color("fff"), Some([255, 255, 255, 255]));
        assert_eq!(parse_color("#00000000"), Some([0, 0, 0, 0]));
        assert_eq!(parse_color("#12"), None);
        assert_eq!(parse_color("#gggggg"), None);
        // Empty input: a blank picture of the right size.
        let png_bytes = waveform_png(&[], 2, 44_100, &WaveformOptions::default()).unwrap();
        let (w, h, img) = decode(&png_bytes);
        assert_eq!((w, h), (1000, 200));
        assert!(img.chunks_exact(4).all(|p| p == [255, 255, 255, 255]));
    }
}
