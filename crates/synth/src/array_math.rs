use crate::soundfont_math::SoundFontMath;

#[non_exhaustive]
pub(crate) struct ArrayMath {}

impl ArrayMath {
    /// Start gain and per-sample step for one side, as upstream's `write_block` decides them:
    /// inaudible -> `None`; a change below 1e-3 -> constant `current`; else a linear ramp.
    #[inline]
    fn ramp(previous: f32, current: f32, inverse_len: f32) -> Option<(f32, f32)> {
        if SoundFontMath::max(previous, current) < SoundFontMath::NON_AUDIBLE {
            None
        } else if (current - previous).abs() < 1.0E-3_f32 {
            Some((current, 0_f32))
        } else {
            Some((previous, inverse_len * (current - previous)))
        }
    }

    /// Adds the mono `source` to `left` and `right` with each side's gain ramp, in one pass
    /// (upstream made one pass per side). Same arithmetic per sample as upstream.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn mix_stereo(
        previous_left: f32,
        current_left: f32,
        previous_right: f32,
        current_right: f32,
        source: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        inverse_len: f32,
    ) {
        let l = Self::ramp(previous_left, current_left, inverse_len);
        let r = Self::ramp(previous_right, current_right, inverse_len);
        let n = source.len();
        let (left, right) = (&mut left[..n], &mut right[..n]);
        match (l, r) {
            (None, None) => {}
            (Some((gl, 0.0)), Some((gr, 0.0))) => {
                for ((x, a), b) in source.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
                    *a += gl * *x;
                    *b += gr * *x;
                }
            }
            (Some((mut gl, sl)), Some((mut gr, sr))) => {
                for ((x, a), b) in source.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
                    *a += gl * *x;
                    gl += sl;
                    *b += gr * *x;
                    gr += sr;
                }
            }
            (Some((g, s)), None) => Self::multiply_add_slope(g, s, source, left),
            (None, Some((g, s))) => Self::multiply_add_slope(g, s, source, right),
        }
    }

    fn multiply_add_slope(mut a: f32, step: f32, x: &[f32], destination: &mut [f32]) {
        if step == 0.0 {
            for (x, d) in x.iter().zip(destination.iter_mut()) {
                *d += a * *x;
            }
        } else {
            for (x, d) in x.iter().zip(destination.iter_mut()) {
                *d += a * *x;
                a += step;
            }
        }
    }
}
