//! [`MidiSource`]: a MIDI song rendered through `audio_synth` (vendored rustysynth), our reverb
//! and a limiter, as a block [`Source`].

use std::sync::Arc;

use audio_synth::{SoundFont, Synthesizer, SynthesizerSettings};

use super::MidiError;
use super::file::{CMD_SYSTEM_RESET, MidiSong};
use super::limiter::Limiter;
use crate::reverb::{ConvolutionReverb, ReverbConfig};
use crate::source::Source;

/// Frames per tail-detection window: the end of the release tail is always a multiple of this,
/// whatever the processing chunk size, so every render mode ends on the same frame.
pub const TAIL_WINDOW: usize = 1024;

/// How a MIDI song is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct MidiOptions {
    /// Output rate in Hz (16 000 to 192 000). Default 44 100.
    pub sample_rate: u32,
    /// Convolution reverb settings; `None` turns the reverb off. Default: 100 ms, 30 % wet.
    pub reverb: Option<ReverbConfig>,
    /// Synthesizer master volume (gain staging: chosen so typical files match FluidSynth's
    /// loudness with its default gain and leave headroom). Default 0.32.
    pub gain: f32,
    /// Limiter ceiling in dBFS (sample peak). Default -1.0, which leaves room for inter-sample
    /// peaks of ordinary music.
    pub ceiling_db: f32,
    /// The release tail ends when a 1024-frame window after the last event is quieter than
    /// this (dBFS, peak). Default -90.
    pub silence_db: f32,
    /// Longest release tail after the last event, seconds. Default 10.
    pub max_tail_seconds: f64,
    /// Synthesizer control block in frames (8 to 1024): envelopes, LFOs, pitch and gain are
    /// updated once per block and at every event. Event timing does not depend on it (every
    /// event lands on its exact frame). Default 64 (1.45 ms at 44.1 kHz, FluidSynth's control
    /// rate).
    pub synth_block: usize,
    /// Voices per synthesizer instance (8 to 256). Default 256.
    pub polyphony: usize,
    /// Synthesizer instances sharing the song's notes (1 = one synthesizer; 1 to 16): each
    /// note-on goes to the instance with the least estimated work at that time. With the
    /// `parallel` feature the instances render on the rayon pool; see [`MidiSource::new`].
    pub channel_groups: usize,
}

impl Default for MidiOptions {
    fn default() -> Self {
        MidiOptions {
            sample_rate: 44_100,
            reverb: Some(ReverbConfig::default()),
            gain: 0.32,
            ceiling_db: -1.0,
            silence_db: -90.0,
            max_tail_seconds: 10.0,
            synth_block: 64,
            polyphony: 256,
            channel_groups: 1,
        }
    }
}

impl MidiOptions {
    /// Checks ranges; the error names the bad value.
    pub fn validate(&self) -> Result<(), MidiError> {
        let bad = |m: String| Err(MidiError::Settings(m));
        if !(16_000..=192_000).contains(&self.sample_rate) {
            return bad(format!(
                "sample_rate must be 16000..=192000 Hz, got {}",
                self.sample_rate
            ));
        }
        if !(8..=1024).contains(&self.synth_block) {
            return bad(format!(
                "synth_block must be 8..=1024, got {}",
                self.synth_block
            ));
        }
        if !(8..=256).contains(&self.polyphony) {
            return bad(format!("polyphony must be 8..=256, got {}", self.polyphony));
        }
        if !(self.gain.is_finite() && self.gain > 0.0) {
            return bad(format!(
                "gain must be a finite number > 0, got {}",
                self.gain
            ));
        }
        if !(self.ceiling_db.is_finite() && self.ceiling_db <= 0.0) {
            return bad(format!("ceiling_db must be <= 0, got {}", self.ceiling_db));
        }
        if !(self.max_tail_seconds.is_finite() && self.max_tail_seconds >= 0.0) {
            return bad(format!(
                "max_tail_seconds must be >= 0, got {}",
                self.max_tail_seconds
            ));
        }
        if let Some(r) = &self.reverb
            && !(r.ir_seconds.is_finite()
                && r.ir_seconds > 0.0
                && r.ir_seconds <= 30.0
                && r.wet.is_finite()
                && r.dry.is_finite())
        {
            return bad(format!(
                "reverb: ir_seconds must be in (0, 30] and wet/dry finite, got {r:?}"
            ));
        }
        if self.channel_groups == 0 || self.channel_groups > 16 {
            return bad(format!(
                "channel_groups must be 1..=16, got {}",
                self.channel_groups
            ));
        }
        Ok(())
    }
}

/// A channel event on the output frame grid.
#[derive(Debug, Clone, Copy)]
struct FrameEvent {
    frame: u64,
    channel: u8,
    command: u8,
    data1: u8,
    data2: u8,
}

/// One synthesizer instance playing the events of a set of channels (dry, no effects).
///
/// Sample-exact: the synthesizer renders in control blocks of at most `block` frames that
/// start at every event frame (of any channel, so every group shares one grid), and each
/// event is applied right before the block that starts at its frame. The grid depends only on
/// the event frames, never on the caller's buffer sizes (a block that straddles the end of the
/// caller's buffer is rendered whole and its rest kept in `pend`), so the render is exactly
/// shift-invariant and independent of how it is chunked.
struct DryRenderer {
    synth: Synthesizer,
    events: Arc<[FrameEvent]>,
    /// Per event: the instance a note-on goes to, or [`ALL_GROUPS`].
    assign: Arc<[u8]>,
    /// This instance's number.
    group: u8,
    cursor: usize,
    /// Frames rendered by the synthesizer (the pending frames included).
    synth_frame: u64,
    block: usize,
    pend_l: Vec<f32>,
    pend_r: Vec<f32>,
    pend_start: usize,
    pend_end: usize,
    gain: f32,
}

impl DryRenderer {
    /// Renders the next `left.len()` frames.
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len();
        let mut done = 0usize;
        while done < n {
            if self.pend_start < self.pend_end {
                let k = (self.pend_end - self.pend_start).min(n - done);
                let src = self.pend_start..self.pend_start + k;
                left[done..done + k].copy_from_slice(&self.pend_l[src.clone()]);
                right[done..done + k].copy_from_slice(&self.pend_r[src]);
                self.pend_start += k;
                done += k;
                continue;
            }
            self.apply_due_events();
            let to_event = self
                .events
                .get(self.cursor)
                .map_or(u64::MAX, |e| e.frame - self.synth_frame);
            let len = (self.block as u64).min(to_event) as usize;
            if len <= n - done {
                self.synth
                    .render_exact(&mut left[done..done + len], &mut right[done..done + len]);
                done += len;
            } else {
                self.synth
                    .render_exact(&mut self.pend_l[..len], &mut self.pend_r[..len]);
                self.pend_start = 0;
                self.pend_end = len;
            }
            self.synth_frame += len as u64;
        }
    }

    /// Applies every event at (or, defensively, before) the synthesizer's current frame.
    fn apply_due_events(&mut self) {
        while let Some(e) = self.events.get(self.cursor) {
            if e.frame > self.synth_frame {
                break;
            }
            let target = self.assign[self.cursor];
            if e.command == CMD_SYSTEM_RESET {
                self.synth.reset_all_controllers();
            } else if target == ALL_GROUPS || target == self.group {
                self.synth.process_midi_message(
                    e.channel as i32,
                    e.command as i32,
                    e.data1 as i32,
                    e.data2 as i32,
                );
            }
            self.cursor += 1;
        }
    }

    fn reset(&mut self) {
        self.synth.reset();
        self.synth.set_master_volume(self.gain);
        self.cursor = 0;
        self.synth_frame = 0;
        self.pend_start = 0;
        self.pend_end = 0;
    }
}

/// Event sent to every synthesizer instance (anything but a note-on).
const ALL_GROUPS: u8 = u8::MAX;

/// Splits the song's notes over `groups` synthesizer instances: returns the group count and,
/// per event, the instance a note-on goes to ([`ALL_GROUPS`] for every other event: note-offs,
/// controllers, programs, bends reach every instance, so each has the full channel state and
/// a note-off stops its key wherever it sounds). Voices are independent, so the summed output
/// equals one synthesizer's, except that notes sharing an exclusive class on a channel
/// (open/closed hi-hat, ...) cut each other off: all notes of a set of keys joined by shared
/// classes go to one instance. Balance: each note goes to the instance with the least
/// estimated work still sounding at its start ([`Synthesizer::note_cost_seconds`]).
fn note_groups(song: &MidiSong, synth: &Synthesizer, groups: usize) -> (usize, Vec<u8>) {
    let n_ev = song.events.len();
    let groups = groups.clamp(1, 16);
    if groups == 1 {
        return (1, vec![ALL_GROUPS; n_ev]);
    }
    let drum = |ch: usize| if ch == 9 { 128 } else { 0 };
    let mut bank: [i32; 16] = std::array::from_fn(drum);
    let mut patch = [0i32; 16];
    // Pass 1: each note-on's cost (needs its note-off) and the presets used per channel.
    let mut presets: Vec<Vec<(i32, i32)>> = (0..16).map(|c| vec![(drum(c), 0)]).collect();
    let mut open: Vec<Vec<(usize, i32, i32)>> = vec![Vec::new(); 16 * 128];
    let mut cost = vec![0f32; n_ev];
    let mut played = [0u128; 16];
    let end_note = |cost: &mut Vec<f32>, (i, b, p): (usize, i32, i32), t: f64| {
        let e = &song.events[i];
        let held = (t - e.time) as f32;
        cost[i] = synth.note_cost_seconds(b, p, e.data1 as i32, e.data2 as i32, held);
    };
    for (i, e) in song.events.iter().enumerate() {
        let ch = e.channel as usize & 15;
        let key = e.data1 as usize & 127;
        match e.command {
            0xB0 if e.data1 == 0 => bank[ch] = e.data2 as i32 + drum(ch),
            0xC0 => {
                patch[ch] = e.data1 as i32;
                if !presets[ch].contains(&(bank[ch], patch[ch])) {
                    presets[ch].push((bank[ch], patch[ch]));
                }
            }
            0x90 if e.data2 > 0 => {
                open[ch * 128 + key].push((i, bank[ch], patch[ch]));
                played[ch] |= 1 << key;
            }
            0x80 | 0x90 => {
                for n in std::mem::take(&mut open[ch * 128 + key]) {
                    end_note(&mut cost, n, e.time);
                }
            }
            _ => {}
        }
    }
    for list in &mut open {
        for n in std::mem::take(list) {
            end_note(&mut cost, n, song.end_time);
        }
    }
    // Keys joined through shared exclusive classes, per channel: `class_root[ch*128+key]`.
    let mut class_root: Vec<usize> = (0..16 * 128).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut exclusive = vec![false; 16 * 128];
    for ch in 0..16 {
        let mut first_of_class: Vec<(i32, usize)> = Vec::new();
        for &(b, p) in &presets[ch] {
            for k in (0..128).filter(|k| played[ch] & (1 << k) != 0) {
                for c in synth.exclusive_classes(b, p, k as i32) {
                    exclusive[ch * 128 + k] = true;
                    match first_of_class.iter().find(|(cc, _)| *cc == c) {
                        Some(&(_, k0)) => {
                            let ra = root(&mut class_root, ch * 128 + k0);
                            let rb = root(&mut class_root, ch * 128 + k);
                            class_root[ra] = rb;
                        }
                        None => first_of_class.push((c, k)),
                    }
                }
            }
        }
    }
    // Pass 2: assign note-ons in time order to the instance with the least sounding work.
    let mut pinned: Vec<u8> = vec![ALL_GROUPS; 16 * 128];
    let mut sounding: Vec<Vec<(f64, f32)>> = vec![Vec::new(); groups];
    let mut assign = vec![ALL_GROUPS; n_ev];
    for (i, e) in song.events.iter().enumerate() {
        if !(e.command == 0x90 && e.data2 > 0) {
            continue;
        }
        let slot = (e.channel as usize & 15) * 128 + (e.data1 as usize & 127);
        let r = if exclusive[slot] {
            root(&mut class_root, slot)
        } else {
            usize::MAX
        };
        let g = if r != usize::MAX && pinned[r] != ALL_GROUPS {
            pinned[r] as usize
        } else {
            let load = |s: &mut Vec<(f64, f32)>| {
                s.retain(|&(end, _)| end > e.time);
                s.iter().map(|&(_, c)| c).sum::<f32>()
            };
            let loads: Vec<f32> = sounding.iter_mut().map(load).collect();
            (0..groups)
                .min_by(|&a, &b| loads[a].total_cmp(&loads[b]))
                .unwrap_or(0)
        };
        if r != usize::MAX {
            pinned[r] = g as u8;
        }
        sounding[g].push((e.time + cost[i] as f64, cost[i]));
        assign[i] = g as u8;
    }
    let mut total = vec![0f32; groups];
    for (i, &g) in assign.iter().enumerate() {
        if g != ALL_GROUPS {
            total[g as usize] += cost[i];
        }
    }
    log::debug!("note groups: estimated voice-seconds per synthesizer {total:?}");
    (groups, assign)
}

/// A MIDI song as a [`Source`]: synthesizer(s) -> convolution reverb -> look-ahead limiter.
///
/// * Sample-exact timing: every event takes effect on its own frame (the synthesizer's
///   control blocks restart at each event frame), so moving all events by k frames moves the
///   dry output by exactly k frames.
/// * After the last event the source keeps rendering the release tail until a 1024-frame
///   window is below [`MidiOptions::silence_db`] (reverb included) or
///   [`MidiOptions::max_tail_seconds`] have passed; [`Source::total_frames`] is `None` until
///   that end is known.
/// * No sample exceeds the limiter ceiling.
/// * Output is the same for any block sizes. `render_block` does not allocate (single group;
///   with several groups the rayon join may allocate, so use that mode for file rendering).
/// * `seek` forward renders and discards the skipped audio; `seek` backward resets and
///   re-renders silently from the start (synthesizer state is not closed-form), so it costs
///   time proportional to the target frame but is exact.
pub struct MidiSource {
    groups: Vec<DryRenderer>,
    bufs: Vec<(Vec<f32>, Vec<f32>)>,
    reverb: Option<ConvolutionReverb>,
    limiter: Limiter,
    chunk: usize,
    /// Interleaved output of the last processed chunk; stream frames
    /// `[fifo_frame, fifo_frame + fifo_len)` where `fifo_frame` may start negative (latency).
    fifo: Vec<f32>,
    fifo_frame: i64,
    fifo_len: usize,
    /// Dry frames rendered so far (multiple of `chunk`).
    synth_pos: u64,
    pos: u64,
    events_end: u64,
    max_end: u64,
    end: Option<u64>,
    silence: f32,
    sample_rate: u32,
}

impl MidiSource {
    /// Builds the renderer: allocates every buffer. With `options.channel_groups > 1` the
    /// song's note-ons are shared among that many synthesizers (balanced by estimated work over
    /// time), and every other event (note-offs, controllers, programs, bends) goes to all of
    /// them; their dry outputs are summed before the reverb and limiter, so the result equals
    /// the one-synthesizer render up to float summation order, except where one synthesizer
    /// would have run out of voices (each has its own `polyphony` voices). Notes whose keys
    /// share an exclusive class (e.g. open/closed hi-hat) stay on one synthesizer so they
    /// still cut each other off.
    pub fn new(
        song: &MidiSong,
        soundfont: &Arc<SoundFont>,
        options: &MidiOptions,
    ) -> Result<MidiSource, MidiError> {
        options.validate()?;
        let sr = options.sample_rate;
        let events: Arc<[FrameEvent]> = song
            .events
            .iter()
            .map(|e| FrameEvent {
                frame: (e.time * sr as f64).round() as u64,
                channel: e.channel,
                command: e.command,
                data1: e.data1,
                data2: e.data2,
            })
            .collect();
        let mut settings = SynthesizerSettings::new(sr as i32);
        settings.block_size = options.synth_block;
        settings.maximum_polyphony = options.polyphony;
        let new_synth = || {
            Synthesizer::new(soundfont, &settings).map_err(|e| MidiError::Settings(e.to_string()))
        };
        let mut first = Some(new_synth()?);
        let (count, assign) = note_groups(
            song,
            first.as_ref().expect("just built"),
            options.channel_groups,
        );
        let assign: Arc<[u8]> = assign.into();
        let mut groups = Vec::with_capacity(count);
        for group in 0..count {
            let synth = match first.take() {
                Some(s) => s,
                None => new_synth()?,
            };
            let mut g = DryRenderer {
                synth,
                events: Arc::clone(&events),
                assign: Arc::clone(&assign),
                group: group as u8,
                cursor: 0,
                synth_frame: 0,
                block: options.synth_block,
                pend_l: vec![0.0; options.synth_block],
                pend_r: vec![0.0; options.synth_block],
                pend_start: 0,
                pend_end: 0,
                gain: options.gain,
            };
            g.reset();
            groups.push(g);
        }
        let reverb = options
            .reverb
            .as_ref()
            .map(|c| ConvolutionReverb::from_config(sr, c));
        let p = reverb.as_ref().map_or(1, |r| r.block_size());
        // Chunks are multiples of the tail window and the reverb block (no partial recompute).
        // Several synthesizers get 1.5 s chunks: each parallel step then has enough work that
        // waking the worker threads is negligible (8192 frames cost ~40 % in thread hand-offs
        // on file 19) and per-chunk load differences average out.
        let base = if groups.len() > 1 { 65536 } else { TAIL_WINDOW };
        let chunk = base.max(p).next_multiple_of(TAIL_WINDOW);
        let lookahead = ((sr as f64 * 0.0015).round() as usize).clamp(16, chunk);
        let limiter = Limiter::new(
            10f32.powf(options.ceiling_db / 20.0),
            lookahead,
            sr as f32 * 0.15,
        );
        let events_end =
            ((song.end_time * sr as f64).round() as u64).max(events.last().map_or(0, |e| e.frame));
        let max_end = events_end + (options.max_tail_seconds * sr as f64).round() as u64;
        let bufs = (0..groups.len())
            .map(|_| (vec![0.0; chunk], vec![0.0; chunk]))
            .collect();
        Ok(MidiSource {
            groups,
            bufs,
            reverb,
            limiter,
            chunk,
            fifo: vec![0.0; 2 * chunk],
            fifo_frame: 0,
            fifo_len: 0,
            synth_pos: 0,
            pos: 0,
            events_end,
            max_end,
            end: None,
            silence: 10f32.powf(options.silence_db / 20.0),
            sample_rate: sr,
        })
    }

    /// Number of synthesizer instances (channel groups).
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Frame of the last MIDI event (the release tail follows it).
    pub fn events_end_frame(&self) -> u64 {
        self.events_end
    }

    /// Fraction rendered, 0..=1, for progress reports (the tail length is estimated as 1 s
    /// until its end is known).
    pub fn progress(&self) -> f64 {
        let total = self
            .end
            .unwrap_or(self.events_end + self.sample_rate as u64)
            .max(1);
        (self.pos as f64 / total as f64).min(1.0)
    }

    /// Lowest limiter gain so far (1.0 = the limiter never acted).
    pub fn limiter_min_gain(&self) -> f32 {
        self.limiter.min_gain()
    }

    /// Renders everything from the current position to the end into a new interleaved buffer,
    /// calling `progress` with the fraction done about every second of audio.
    pub fn render_to_end(&mut self, mut progress: impl FnMut(f64)) -> Vec<f32> {
        let mut out = Vec::with_capacity(
            2 * (self.events_end + self.sample_rate as u64).saturating_sub(self.pos) as usize,
        );
        let mut block = vec![0.0f32; 2 * self.sample_rate as usize];
        loop {
            let n = self.render_block(&mut block);
            out.extend_from_slice(&block[..2 * n]);
            progress(self.progress());
            if n < block.len() / 2 {
                break;
            }
        }
        out
    }

    /// Renders one chunk of dry audio, applies reverb, detects the tail end, limits, and
    /// refills the FIFO.
    fn process_chunk(&mut self) {
        let w = self.chunk;
        self.render_dry();
        let (l, r) = {
            let (first, rest) = self.bufs.split_first_mut().expect("at least one group");
            for (ol, or) in rest.iter() {
                for (a, b) in first.0.iter_mut().zip(ol) {
                    *a += b;
                }
                for (a, b) in first.1.iter_mut().zip(or) {
                    *a += b;
                }
            }
            (&mut first.0, &mut first.1)
        };
        if let Some(rv) = &mut self.reverb {
            // With several synthesizers (the multi-core mode) the two reverb channels run in
            // parallel too.
            #[cfg(feature = "parallel")]
            if self.groups.len() > 1 {
                rv.process_with(l, r, &|a, b| {
                    rayon::join(a, b);
                });
            } else {
                rv.process(l, r);
            }
            #[cfg(not(feature = "parallel"))]
            rv.process(l, r);
        }
        if self.end.is_none() {
            for wi in 0..w / TAIL_WINDOW {
                let start = self.synth_pos + (wi * TAIL_WINDOW) as u64;
                if start < self.events_end {
                    continue;
                }
                let s = wi * TAIL_WINDOW;
                let peak = l[s..s + TAIL_WINDOW]
                    .iter()
                    .chain(&r[s..s + TAIL_WINDOW])
                    .fold(0.0f32, |m, v| m.max(v.abs()));
                if peak < self.silence || start >= self.max_end {
                    self.end = Some(start.min(self.max_end));
                    break;
                }
            }
        }
        for (i, (a, b)) in l.iter().zip(r.iter()).enumerate() {
            self.fifo[2 * i] = *a;
            self.fifo[2 * i + 1] = *b;
        }
        self.limiter.process(&mut self.fifo[..2 * w]);
        self.fifo_frame = self.synth_pos as i64 - self.limiter.latency() as i64;
        self.fifo_len = w;
        self.synth_pos += w as u64;
    }

    #[cfg(feature = "parallel")]
    fn render_dry(&mut self) {
        use rayon::prelude::*;
        if self.groups.len() == 1 {
            let (l, r) = &mut self.bufs[0];
            self.groups[0].render(l, r);
        } else {
            self.groups
                .par_iter_mut()
                .zip(self.bufs.par_iter_mut())
                .for_each(|(g, (l, r))| g.render(l, r));
        }
    }

    #[cfg(not(feature = "parallel"))]
    fn render_dry(&mut self) {
        for (g, (l, r)) in self.groups.iter_mut().zip(self.bufs.iter_mut()) {
            g.render(l, r);
        }
    }

    /// Frames of the FIFO from `pos` on (0 if it needs a new chunk).
    fn fifo_available(&self) -> usize {
        let end = self.fifo_frame + self.fifo_len as i64;
        (end - self.pos as i64).max(0) as usize
    }

    fn restart(&mut self) {
        for g in &mut self.groups {
            g.reset();
        }
        if let Some(r) = &mut self.reverb {
            r.reset();
        }
        self.limiter.reset();
        self.fifo_frame = 0;
        self.fifo_len = 0;
        self.synth_pos = 0;
        self.pos = 0;
    }
}

impl Source for MidiSource {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn total_frames(&self) -> Option<u64> {
        self.end
    }

    fn position(&self) -> u64 {
        self.pos
    }

    fn render_block(&mut self, out: &mut [f32]) -> usize {
        let want = out.len() / 2;
        let mut done = 0;
        while done < want {
            if let Some(end) = self.end
                && self.pos >= end
            {
                break;
            }
            let mut avail = self.fifo_available();
            if avail == 0 {
                self.process_chunk();
                continue;
            }
            if let Some(end) = self.end {
                avail = avail.min((end - self.pos) as usize);
            }
            let n = avail.min(want - done);
            let off = (self.pos as i64 - self.fifo_frame) as usize;
            out[2 * done..2 * (done + n)].copy_from_slice(&self.fifo[2 * off..2 * (off + n)]);
            done += n;
            self.pos += n as u64;
        }
        out[2 * done..].fill(0.0);
        done
    }

    fn seek(&mut self, frame: u64) {
        if frame < self.pos {
            self.restart();
        }
        while self.pos < frame {
            if let Some(end) = self.end
                && self.pos >= end
            {
                break;
            }
            let avail = self.fifo_available();
            if avail == 0 {
                self.process_chunk();
                continue;
            }
            let mut n = avail.min((frame - self.pos) as usize);
            if let Some(end) = self.end {
                n = n.min((end - self.pos) as usize);
            }
            self.pos += n as u64;
        }
        // Past the end: stay there (renders zeros).
        self.pos = self.pos.max(frame);
    }
}
