#![allow(dead_code)]

use std::cmp;
use std::collections::HashMap;
use std::sync::Arc;

use crate::array_math::ArrayMath;
use crate::channel::Channel;
use crate::error::SynthesizerError;
use crate::region_pair::RegionPair;
use crate::soundfont::SoundFont;
use crate::synthesizer_settings::SynthesizerSettings;
use crate::voice_collection::VoiceCollection;

/// An instance of the SoundFont synthesizer.
#[derive(Debug)]
#[non_exhaustive]
pub struct Synthesizer {
    pub(crate) sound_font: Arc<SoundFont>,
    pub(crate) sample_rate: i32,
    pub(crate) block_size: usize,
    pub(crate) maximum_polyphony: usize,

    preset_lookup: HashMap<i32, usize>,
    default_preset: usize,

    channels: Vec<Channel>,

    voices: VoiceCollection,

    block_left: Vec<f32>,
    block_right: Vec<f32>,

    block_read: usize,

    master_volume: f32,
}

impl Synthesizer {
    /// The number of channels.
    pub const CHANNEL_COUNT: usize = 16;
    /// The percussion channel.
    pub const PERCUSSION_CHANNEL: usize = 9;

    /// Initializes a new synthesizer using a specified SoundFont and settings.
    ///
    /// # Arguments
    ///
    /// * `sound_font` - The SoundFont instance.
    /// * `settings` - The settings for synthesis.
    pub fn new(
        sound_font: &Arc<SoundFont>,
        settings: &SynthesizerSettings,
    ) -> Result<Self, SynthesizerError> {
        settings.validate()?;

        let mut preset_lookup: HashMap<i32, usize> = HashMap::new();

        let mut min_preset_id = i32::MAX;
        let mut default_preset: usize = 0;
        for i in 0..sound_font.presets.len() {
            let preset = &sound_font.presets[i];

            // The preset ID is Int32, where the upper 16 bits represent the bank number
            // and the lower 16 bits represent the patch number.
            // This ID is used to search for presets by the combination of bank number
            // and patch number.
            let preset_id = (preset.bank_number << 16) | preset.patch_number;
            preset_lookup.insert(preset_id, i);

            // The preset with the minimum ID number will be default.
            // If the SoundFont is GM compatible, the piano will be chosen.
            if preset_id < min_preset_id {
                default_preset = i;
                min_preset_id = preset_id;
            }
        }

        let mut channels: Vec<Channel> = Vec::new();
        for i in 0..Synthesizer::CHANNEL_COUNT {
            channels.push(Channel::new(i == Synthesizer::PERCUSSION_CHANNEL));
        }

        let voices = VoiceCollection::new(settings);

        let block_left: Vec<f32> = vec![0_f32; settings.block_size];
        let block_right: Vec<f32> = vec![0_f32; settings.block_size];

        let block_read = settings.block_size;

        let master_volume = 0.5_f32;

        Ok(Self {
            sound_font: Arc::clone(sound_font),
            sample_rate: settings.sample_rate,
            block_size: settings.block_size,
            maximum_polyphony: settings.maximum_polyphony,
            preset_lookup,
            default_preset,
            channels,
            voices,
            block_left,
            block_right,
            block_read,
            master_volume,
        })
    }

    /// Processes a MIDI message.
    ///
    /// # Arguments
    ///
    /// * `channel` - The channel to which the message will be sent.
    /// * `command` - The type of the message.
    /// * `data1` - The first data part of the message.
    /// * `data2` - The second data part of the message.
    pub fn process_midi_message(&mut self, channel: i32, command: i32, data1: i32, data2: i32) {
        if !(0 <= channel && channel < self.channels.len() as i32) {
            return;
        }

        let channel_info = &mut self.channels[channel as usize];

        match command {
            0x80 => self.note_off(channel, data1),       // Note Off
            0x90 => self.note_on(channel, data1, data2), // Note On
            0xB0 => match data1 // Controller
            {
                0x00 => channel_info.set_bank(data2), // Bank Selection
                0x01 => channel_info.set_modulation_coarse(data2), // Modulation Coarse
                0x21 => channel_info.set_modulation_fine(data2), // Modulation Fine
                0x06 => channel_info.data_entry_coarse(data2), // Data Entry Coarse
                0x26 => channel_info.data_entry_fine(data2), // Data Entry Fine
                0x07 => channel_info.set_volume_coarse(data2), // Channel Volume Coarse
                0x27 => channel_info.set_volume_fine(data2), // Channel Volume Fine
                0x0A => channel_info.set_pan_coarse(data2), // Pan Coarse
                0x2A => channel_info.set_pan_fine(data2), // Pan Fine
                0x0B => channel_info.set_expression_coarse(data2), // Expression Coarse
                0x2B => channel_info.set_expression_fine(data2), // Expression Fine
                0x40 => channel_info.set_hold_pedal(data2), // Hold Pedal
                0x5B => channel_info.set_reverb_send(data2), // Reverb Send
                0x5D => channel_info.set_chorus_send(data2), // Chorus Send
                0x63 => channel_info.set_nrpn_coarse(data2), // NRPN Coarse
                0x62 => channel_info.set_nrpn_fine(data2), // NRPN Fine
                0x65 => channel_info.set_rpn_coarse(data2), // RPN Coarse
                0x64 => channel_info.set_rpn_fine(data2), // RPN Fine
                0x78 => self.note_off_all_channel(channel, true), // All Sound Off
                0x79 => self.reset_all_controllers_channel(channel), // Reset All Controllers
                0x7B => self.note_off_all_channel(channel, false), // All Note Off
                _ => (),
            },
            0xC0 => channel_info.set_patch(data1), // Program Change
            0xE0 => channel_info.set_pitch_bend(data1, data2), // Pitch Bend
            _ => (),
        }
    }

    /// Stops a note.
    ///
    /// # Arguments
    ///
    /// * `channel` - The channel of the note.
    /// * `key` - The key of the note.
    pub fn note_off(&mut self, channel: i32, key: i32) {
        if !(0 <= channel && channel < self.channels.len() as i32) {
            return;
        }

        for voice in self.voices.get_active_voices().iter_mut() {
            if voice.channel() == channel && voice.key() == key {
                voice.end();
            }
        }
    }

    /// Starts a note.
    ///
    /// # Arguments
    ///
    /// * `channel` - The channel of the note.
    /// * `key` - The key of the note.
    /// * `velocity` - The velocity of the note.
    pub fn note_on(&mut self, channel: i32, key: i32, velocity: i32) {
        if velocity == 0 {
            self.note_off(channel, key);
            return;
        }

        if !(0 <= channel && channel < self.channels.len() as i32) {
            return;
        }

        let channel_info = &self.channels[channel as usize];
        let preset = self.find_preset(
            channel_info.get_bank_number(),
            channel_info.get_patch_number(),
        );

        let preset = &self.sound_font.presets[preset];
        for preset_region in preset.regions.iter() {
            if preset_region.contains(key, velocity) {
                let instrument = &self.sound_font.instruments[preset_region.instrument];
                for instrument_region in instrument.regions.iter() {
                    if instrument_region.contains(key, velocity) {
                        let region_pair = RegionPair::new(preset_region, instrument_region);

                        if let Some(value) = self.voices.request_new(instrument_region, channel) {
                            value.start(&region_pair, channel, key, velocity)
                        }
                    }
                }
            }
        }
    }

    /// The preset a channel with this bank number (percussion channels add 128) and patch
    /// plays, with upstream's fallbacks (GM bank 0 for melodic, 128:0 for drums, then the
    /// lowest preset).
    fn find_preset(&self, bank_number: i32, patch_number: i32) -> usize {
        let preset_id = (bank_number << 16) | patch_number;
        if let Some(&value) = self.preset_lookup.get(&preset_id) {
            return value;
        }
        let gm_preset_id = if bank_number < 128 {
            patch_number
        } else {
            128 << 16
        };
        self.preset_lookup
            .get(&gm_preset_id)
            .copied()
            .unwrap_or(self.default_preset)
    }

    /// Calls `f` for every region pair a note-on of `key` (any velocity when `velocity` is
    /// `None`) would start on a channel with this bank number and patch.
    fn for_each_region(
        &self,
        bank_number: i32,
        patch_number: i32,
        key: i32,
        velocity: Option<i32>,
        mut f: impl FnMut(&RegionPair),
    ) {
        let preset = &self.sound_font.presets[self.find_preset(bank_number, patch_number)];
        let vel_ok = |contains: &dyn Fn(i32) -> bool| match velocity {
            Some(v) => contains(v),
            None => (1..=127).any(contains),
        };
        for preset_region in preset.regions.iter() {
            if !vel_ok(&|v| preset_region.contains(key, v)) {
                continue;
            }
            let instrument = &self.sound_font.instruments[preset_region.instrument];
            for instrument_region in instrument.regions.iter() {
                if vel_ok(&|v| instrument_region.contains(key, v)) {
                    f(&RegionPair::new(preset_region, instrument_region));
                }
            }
        }
    }

    /// Non-zero exclusive classes (SoundFont generator 57) of the regions `key` can start on a
    /// channel with this bank number (percussion channels add 128) and patch, for any
    /// velocity. Notes of one channel sharing a class cut each other off, so a renderer that
    /// splits notes over several synthesizers must keep them on one.
    pub fn exclusive_classes(&self, bank_number: i32, patch_number: i32, key: i32) -> Vec<i32> {
        let mut out = Vec::new();
        self.for_each_region(bank_number, patch_number, key, None, |r| {
            let c = r.get_exclusive_class();
            if c != 0 && !out.contains(&c) {
                out.push(c);
            }
        });
        out
    }

    /// Rough voice-seconds a note costs (for balancing work between synthesizers): per region
    /// started, the time held plus the audible part of the release, limited by the sample's
    /// length when it does not loop.
    pub fn note_cost_seconds(
        &self,
        bank_number: i32,
        patch_number: i32,
        key: i32,
        velocity: i32,
        held_seconds: f32,
    ) -> f32 {
        let mut total = 0_f32;
        self.for_each_region(bank_number, patch_number, key, Some(velocity), |r| {
            // The release falls 60 dB (inaudible) after about 0.75 of its nominal time.
            let life = held_seconds.max(0_f32) + 0.75 * r.get_release_volume_envelope().min(10.0);
            let loops = r.get_sample_modes() != crate::LoopMode::NoLoop
                && r.get_sample_start_loop() < r.get_sample_end_loop();
            let secs = if loops {
                life
            } else {
                let rate = r.instrument.sample_sample_rate.max(1);
                let ratio = 2_f32.powf((key - r.get_root_key()) as f32 / 12.0);
                let len = (r.get_sample_end() - r.get_sample_start()).max(0) as f32;
                life.min(len / (rate as f32 * ratio.max(1e-3)))
            };
            total += secs;
        });
        total
    }

    /// Stops all the notes in the specified channel.
    ///
    /// # Arguments
    ///
    /// * `immediate` - If `true`, notes will stop immediately without the release sound.
    pub fn note_off_all(&mut self, immediate: bool) {
        if immediate {
            self.voices.clear();
        } else {
            for voice in self.voices.get_active_voices().iter_mut() {
                voice.end();
            }
        }
    }

    /// Stops all the notes in the specified channel.
    ///
    /// # Arguments
    ///
    /// * `channel` - The channel in which the notes will be stopped.
    /// * `immediate` - If `true`, notes will stop immediately without the release sound.
    pub fn note_off_all_channel(&mut self, channel: i32, immediate: bool) {
        if immediate {
            for voice in self.voices.get_active_voices().iter_mut() {
                if voice.channel() == channel {
                    voice.kill();
                }
            }
        } else {
            for voice in self.voices.get_active_voices().iter_mut() {
                if voice.channel() == channel {
                    voice.end();
                }
            }
        }
    }

    /// Resets all the controllers.
    pub fn reset_all_controllers(&mut self) {
        for channel in &mut self.channels {
            channel.reset_all_controllers();
        }
    }

    /// Resets all the controllers of the specified channel.
    ///
    /// # Arguments
    ///
    /// * `channel` - The channel to be reset.
    pub fn reset_all_controllers_channel(&mut self, channel: i32) {
        if !(0 <= channel && channel < self.channels.len() as i32) {
            return;
        }

        self.channels[channel as usize].reset_all_controllers();
    }

    /// Resets the synthesizer.
    pub fn reset(&mut self) {
        self.voices.clear();

        for channel in &mut self.channels {
            channel.reset();
        }

        self.block_read = self.block_size;
    }

    /// Renders the waveform through the internal block buffer: the synthesizer advances in
    /// blocks of [`SynthesizerSettings::block_size`] frames, so a MIDI message sent between two
    /// calls takes effect at the next block boundary. Use [`Synthesizer::render_exact`] for
    /// sample-exact timing.
    ///
    /// The output buffers for the left and right must be the same length (the shorter one
    /// decides how many frames are written).
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        let mut wrote = 0;
        while wrote < len {
            if self.block_read == self.block_size {
                let (mut bl, mut br) = (
                    std::mem::take(&mut self.block_left),
                    std::mem::take(&mut self.block_right),
                );
                self.render_exact(&mut bl, &mut br);
                self.block_left = bl;
                self.block_right = br;
                self.block_read = 0;
            }
            let rem = cmp::min(self.block_size - self.block_read, len - wrote);
            left[wrote..wrote + rem]
                .copy_from_slice(&self.block_left[self.block_read..self.block_read + rem]);
            right[wrote..wrote + rem]
                .copy_from_slice(&self.block_right[self.block_read..self.block_read + rem]);
            self.block_read += rem;
            wrote += rem;
        }
    }

    /// Renders exactly `left.len()` frames (overwriting both buffers) with no internal block
    /// grid: every voice advances by exactly that many samples (envelopes and LFOs are
    /// evaluated at the end of the call, gain changes ramp linearly across it). A MIDI message
    /// sent between two calls therefore takes effect on the first frame of the next call.
    ///
    /// Calls longer than [`SynthesizerSettings::block_size`] are split into blocks of that size
    /// (the control rate: envelopes, LFOs and pitch are updated once per call or block).
    /// The buffers must be the same length (the shorter one decides). Does not allocate.
    pub fn render_exact(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        let mut done = 0;
        while done < len {
            let n = cmp::min(self.block_size, len - done);
            self.render_chunk(&mut left[done..done + n], &mut right[done..done + n]);
            done += n;
        }
    }

    /// One control period of `left.len()` (1..=block_size) frames.
    fn render_chunk(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len();
        self.voices
            .process(&self.sound_font.wave_data, &self.channels, n);

        left.fill(0_f32);
        right.fill(0_f32);
        let inverse = 1_f32 / n as f32;
        let mv = self.master_volume;
        for voice in self.voices.get_active_voices().iter() {
            ArrayMath::mix_stereo(
                mv * voice.previous_mix_gain_left,
                mv * voice.current_mix_gain_left,
                mv * voice.previous_mix_gain_right,
                mv * voice.current_mix_gain_right,
                &voice.block()[..n],
                left,
                right,
                inverse,
            );
        }
    }

    /// Gets the SoundFont used as the audio source.
    pub fn get_sound_font(&self) -> &SoundFont {
        &self.sound_font
    }

    /// Gets the sample rate for synthesis.
    pub fn get_sample_rate(&self) -> i32 {
        self.sample_rate
    }

    /// Gets the block size for rendering waveform.
    pub fn get_block_size(&self) -> usize {
        self.block_size
    }

    /// Gets the number of maximum polyphony.
    pub fn get_maximum_polyphony(&self) -> usize {
        self.maximum_polyphony
    }

    /// Gets the master volume.
    pub fn get_master_volume(&self) -> f32 {
        self.master_volume
    }

    /// Sets the master volume.
    ///
    /// # Arguments
    ///
    /// * `value` - The new value of the master volume.
    pub fn set_master_volume(&mut self, value: f32) {
        self.master_volume = value;
    }
}
