#![allow(dead_code)]

use crate::bi_quad_filter::BiQuadFilter;
use crate::channel::Channel;
use crate::instrument_region::InstrumentRegion;
use crate::synthesizer_settings::SynthesizerSettings;
use crate::voice::Voice;

#[derive(Debug)]
#[non_exhaustive]
pub(crate) struct VoiceCollection {
    voices: Vec<Voice>,
    pub(crate) active_voice_count: usize,
    // Idle lanes for a four-voice filter pass with fewer voices.
    spare: [BiQuadFilter; 3],
    spare_block: [Vec<f32>; 3],
    spare_last: (BiQuadFilter, Vec<f32>),
}

impl VoiceCollection {
    pub(crate) fn new(settings: &SynthesizerSettings) -> Self {
        let mut voices: Vec<Voice> = Vec::new();
        for _i in 0..settings.maximum_polyphony {
            voices.push(Voice::new(settings));
        }

        let block = || vec![0_f32; settings.block_size];
        Self {
            voices,
            active_voice_count: 0,
            spare: [
                BiQuadFilter::new(settings),
                BiQuadFilter::new(settings),
                BiQuadFilter::new(settings),
            ],
            spare_block: [block(), block(), block()],
            spare_last: (BiQuadFilter::new(settings), block()),
        }
    }

    pub(crate) fn request_new(
        &mut self,
        region: &InstrumentRegion,
        channel: i32,
    ) -> Option<&mut Voice> {
        // If an exclusive class is assigned to the region, find a voice with the same class.
        // If found, reuse it to avoid playing multiple voices with the same class at a time.
        let exclusive_class = region.get_exclusive_class();
        if exclusive_class != 0 {
            for i in 0..self.active_voice_count {
                let voice = &self.voices[i];
                if voice.exclusive_class() == exclusive_class && voice.channel() == channel {
                    return Some(&mut self.voices[i]);
                }
            }
        }

        // If the number of active voices is less than the limit, use a free one.
        if (self.active_voice_count) < self.voices.len() {
            let i = self.active_voice_count;
            self.active_voice_count += 1;
            return Some(&mut self.voices[i]);
        }

        // Too many active voices...
        // Find one which has the lowest priority.
        let mut candidate: usize = 0;
        let mut lowest_priority = f32::MAX;
        for i in 0..self.active_voice_count {
            let voice = &self.voices[i];
            let priority = voice.priority();
            if priority < lowest_priority {
                lowest_priority = priority;
                candidate = i;
            } else if priority == lowest_priority {
                // Same priority...
                // The older one should be more suitable for reuse.
                if voice.voice_length() > self.voices[candidate].voice_length() {
                    candidate = i;
                }
            }
        }
        Some(&mut self.voices[candidate])
    }

    pub(crate) fn process(&mut self, data: &[i16], channels: &[Channel], n: usize) {
        let mut i: usize = 0;

        while i < self.active_voice_count {
            if self.voices[i].process(data, channels, n) {
                i += 1;
            } else {
                self.active_voice_count -= 1;
                self.voices.swap(i, self.active_voice_count);
            }
        }

        // Active filters, four voices at a time; the rest one by one.
        let active = &mut self.voices[..self.active_voice_count];
        let mut group = [0usize; 4];
        let mut k = 0;
        for i in 0..active.len() {
            if !active[i].filter_is_active() {
                continue;
            }
            group[k] = i;
            k += 1;
            if k == 4 {
                let [v0, v1, v2, v3] = four_mut(active, group);
                let (f0, b0) = v0.filter_and_block();
                let (f1, b1) = v1.filter_and_block();
                let (f2, b2) = v2.filter_and_block();
                let (f3, b3) = v3.filter_and_block();
                BiQuadFilter::process4([f0, f1, f2, f3], [b0, b1, b2, b3], n);
                k = 0;
            }
        }
        // Two or three left: one four-lane pass with idle spare lanes beats a serial chain each.
        if k >= 2 {
            let [s0, s1, s2] = &mut self.spare;
            let [sb0, sb1, sb2] = &mut self.spare_block;
            let mut f: [&mut BiQuadFilter; 4] = [s0, s1, s2, &mut self.spare_last.0];
            let mut b: [&mut [f32]; 4] = [sb0, sb1, sb2, &mut self.spare_last.1];
            let mut rest = &mut *active;
            let mut base = 0;
            for (lane, &i) in group[..k].iter().enumerate() {
                let (_, tail) = rest.split_at_mut(i - base);
                let (v, tail) = tail.split_first_mut().expect("index in range");
                let (vf, vb) = v.filter_and_block();
                f[lane] = vf;
                b[lane] = vb;
                rest = tail;
                base = i + 1;
            }
            BiQuadFilter::process4(f, b, n);
        } else if k == 1 {
            let (f, b) = active[group[0]].filter_and_block();
            f.process(&mut b[..n]);
        }
    }

    pub(crate) fn get_active_voices(&mut self) -> &mut [Voice] {
        &mut self.voices[0..self.active_voice_count]
    }

    pub(crate) fn clear(&mut self) {
        self.active_voice_count = 0;
    }
}

/// Four distinct elements of `v` by ascending indices.
fn four_mut(v: &mut [Voice], idx: [usize; 4]) -> [&mut Voice; 4] {
    let (a, rest) = v.split_at_mut(idx[1]);
    let (b, rest) = rest.split_at_mut(idx[2] - idx[1]);
    let (c, d) = rest.split_at_mut(idx[3] - idx[2]);
    [&mut a[idx[0]], &mut b[0], &mut c[0], &mut d[0]]
}
