//! YUV → RGB8 conversion (BT.601), shared by the Y4M reader (planar 4:2:0,
//! 4:4:4, mono) and the camera (packed YUYV). The formulas are the usual
//! integer ones, so a value can be checked by hand:
//!
//! - limited ("TV") range, Y in 16..=235, U/V in 16..=240, the default of
//!   video files and cameras: with C = Y − 16, D = U − 128, E = V − 128,
//!   R = (298C + 409E + 128) >> 8, G = (298C − 100D − 208E + 128) >> 8,
//!   B = (298C + 516D + 128) >> 8;
//! - full ("PC", JPEG) range, Y/U/V in 0..=255: R = Y + 1.402E,
//!   G = Y − 0.344136D − 0.714136E, B = Y + 1.772D, in 16-bit fixed point.
//!
//! Every result is clamped to 0..=255.

/// How the luma and chroma values map to the 0..=255 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorRange {
    /// Y in 16..=235, chroma in 16..=240 (video, cameras).
    Limited,
    /// Y and chroma in 0..=255 (JPEG; Y4M's `XCOLORRANGE=FULL`).
    Full,
}

/// One pixel.
#[inline]
pub(crate) fn yuv_to_rgb(y: u8, u: u8, v: u8, range: ColorRange) -> [u8; 3] {
    let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
    let clamp = |value: i32| value.clamp(0, 255) as u8;
    match range {
        ColorRange::Limited => {
            let c = 298 * (i32::from(y) - 16);
            [
                clamp((c + 409 * e + 128) >> 8),
                clamp((c - 100 * d - 208 * e + 128) >> 8),
                clamp((c + 516 * d + 128) >> 8),
            ]
        }
        ColorRange::Full => {
            let y = i32::from(y);
            [
                clamp(y + ((91_881 * e + 32_768) >> 16)),
                clamp(y + ((-22_554 * d - 46_802 * e + 32_768) >> 16)),
                clamp(y + ((116_130 * d + 32_768) >> 16)),
            ]
        }
    }
}

/// How the chroma planes of a planar frame are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chroma {
    /// No chroma planes: grey.
    Mono,
    /// One U and one V sample per `1 << shift_x` by `1 << shift_y` pixels
    /// (4:2:0 is 1, 1; 4:4:4 is 0, 0), sizes rounded up.
    Planes { shift_x: u32, shift_y: u32 },
}

impl Chroma {
    /// Width and height of each chroma plane, in samples.
    pub(crate) fn plane_size(self, width_px: usize, height_px: usize) -> (usize, usize) {
        match self {
            Self::Mono => (0, 0),
            Self::Planes { shift_x, shift_y } => (
                (width_px + (1 << shift_x) - 1) >> shift_x,
                (height_px + (1 << shift_y) - 1) >> shift_y,
            ),
        }
    }

    /// Bytes of a whole frame: Y, then U, then V.
    pub(crate) fn frame_bytes(self, width_px: usize, height_px: usize) -> usize {
        let (chroma_w, chroma_h) = self.plane_size(width_px, height_px);
        width_px * height_px + 2 * chroma_w * chroma_h
    }
}

/// Converts one planar frame (`frame` holds Y, U, V one after the other, as
/// in a Y4M file) into packed RGB8 `dst`. `frame` must be
/// `chroma.frame_bytes(..)` long and `dst` `width_px * height_px * 3`.
pub(crate) fn planar_to_rgb(
    frame: &[u8],
    width_px: usize,
    height_px: usize,
    chroma: Chroma,
    range: ColorRange,
    dst: &mut [u8],
) {
    let (luma, rest) = frame.split_at(width_px * height_px);
    let (chroma_w, chroma_h) = chroma.plane_size(width_px, height_px);
    let (u_plane, v_plane) = rest.split_at(chroma_w * chroma_h);
    let (shift_x, shift_y) = match chroma {
        Chroma::Mono => (0, 0),
        Chroma::Planes { shift_x, shift_y } => (shift_x, shift_y),
    };
    for ((y_px, luma_row), dst_row) in luma
        .chunks_exact(width_px)
        .enumerate()
        .zip(dst.chunks_exact_mut(width_px * 3))
    {
        let chroma_row = (y_px >> shift_y) * chroma_w;
        for ((x_px, &luma), pixel) in luma_row.iter().enumerate().zip(dst_row.chunks_exact_mut(3)) {
            let (u, v) = match chroma {
                Chroma::Mono => (128, 128),
                Chroma::Planes { .. } => {
                    let at = chroma_row + (x_px >> shift_x);
                    (u_plane[at], v_plane[at])
                }
            };
            pixel.copy_from_slice(&yuv_to_rgb(luma, u, v, range));
        }
    }
}

/// Converts packed YUYV (Y0 U Y1 V for each pair of pixels, rows
/// `src_stride_bytes` apart) into packed RGB8 `dst`. An odd last pixel takes
/// its pair's chroma.
pub(crate) fn yuyv_to_rgb(
    src: &[u8],
    src_stride_bytes: usize,
    width_px: usize,
    height_px: usize,
    range: ColorRange,
    dst: &mut [u8],
) -> Result<(), String> {
    let row_bytes = width_px.div_ceil(2) * 4;
    let needed = src_stride_bytes * height_px.saturating_sub(1) + row_bytes;
    if src_stride_bytes < row_bytes || src.len() < needed {
        return Err(format!(
            "a {width_px}x{height_px} YUYV frame needs {needed} bytes, the camera gave {}",
            src.len()
        ));
    }
    if dst.len() != width_px * height_px * 3 {
        return Err(format!(
            "the frame needs {} bytes, not {}",
            width_px * height_px * 3,
            dst.len()
        ));
    }
    for (src_row, dst_row) in src.chunks(src_stride_bytes).zip(dst.chunks_exact_mut(width_px * 3)) {
        for (quad, pixels) in src_row[..row_bytes].chunks_exact(4).zip(dst_row.chunks_mut(6)) {
            let [y0, u, y1, v] = [quad[0], quad[1], quad[2], quad[3]];
            let (first, second) = pixels.split_at_mut(3);
            first.copy_from_slice(&yuv_to_rgb(y0, u, v, range));
            if !second.is_empty() {
                second.copy_from_slice(&yuv_to_rgb(y1, u, v, range));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_match_hand_computed_values() {
        // (Y, U, V, range) → RGB, computed by hand from the module's formulas.
        let cases = [
            (16, 128, 128, ColorRange::Limited, [0, 0, 0]),
            (235, 128, 128, ColorRange::Limited, [255, 255, 255]),
            // C = 110: 298 * 110 + 128 = 32908, >> 8 = 128.
            (126, 128, 128, ColorRange::Limited, [128, 128, 128]),
            // BT.601 red: C = 65, D = -38, E = 112.
            (81, 90, 240, ColorRange::Limited, [255, 0, 0]),
            (100, 128, 128, ColorRange::Full, [100, 100, 100]),
            // E = 100: 1.402 * 100 = 140.2; G: -0.714136 * 100 = -71.4; B: 0.
            (100, 128, 228, ColorRange::Full, [240, 29, 100]),
            // D = -128: B = 100 - 226.8 → clamped to 0; G = 100 + 44.05 = 144.
            (100, 0, 128, ColorRange::Full, [100, 144, 0]),
        ];
        for (y, u, v, range, rgb) in cases {
            assert_eq!(yuv_to_rgb(y, u, v, range), rgb, "Y {y} U {u} V {v} {range:?}");
        }
    }

    #[test]
    fn i420_shares_chroma_between_2x2_pixels() {
        // 3x3 frame: chroma planes are 2x2. Y rises by pixel, U/V pick colours.
        let luma: Vec<u8> = (0..9).map(|i| 100 + i).collect();
        let u = [128, 128, 0, 128];
        let v = [228, 128, 128, 128];
        let frame: Vec<u8> = luma.iter().chain(&u).chain(&v).copied().collect();
        let chroma = Chroma::Planes { shift_x: 1, shift_y: 1 };
        assert_eq!(chroma.frame_bytes(3, 3), frame.len());
        let mut dst = vec![0; 27];
        planar_to_rgb(&frame, 3, 3, chroma, ColorRange::Full, &mut dst);
        // (0,0), (1,1) use chroma sample 0 (V = 228); (2,0) sample 1 (grey);
        // (0,2) sample 2 (U = 0).
        assert_eq!(&dst[0..3], &[240, 29, 100]);
        assert_eq!(&dst[12..15], &yuv_to_rgb(104, 128, 228, ColorRange::Full));
        assert_eq!(&dst[6..9], &[102, 102, 102]);
        assert_eq!(&dst[18..21], &yuv_to_rgb(106, 0, 128, ColorRange::Full));
        assert_eq!(&dst[24..27], &[108, 108, 108]);
    }

    #[test]
    fn mono_is_grey() {
        let mut dst = vec![0; 6];
        planar_to_rgb(&[16, 235], 2, 1, Chroma::Mono, ColorRange::Limited, &mut dst);
        assert_eq!(dst, [0, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn yuyv_pairs_share_chroma_and_respect_the_stride() {
        // 3x2 pixels, stride 10 (2 padding bytes a row).
        let src = [
            235, 128, 16, 128, /* */ 81, 90, 0, 240, /* pad */ 9, 9, //
            16, 128, 235, 128, /* */ 126, 128, 0, 128, /* pad */ 9, 9,
        ];
        let mut dst = vec![0; 18];
        yuyv_to_rgb(&src, 10, 3, 2, ColorRange::Limited, &mut dst).expect("convert");
        assert_eq!(
            dst,
            [
                255, 255, 255, 0, 0, 0, 255, 0, 0, /* row 2 */ 0, 0, 0, 255, 255, 255, 128, 128, 128
            ]
        );
    }

    #[test]
    fn short_yuyv_frames_are_refused() {
        let mut dst = vec![0; 12];
        assert!(yuyv_to_rgb(&[0; 7], 4, 2, 2, ColorRange::Limited, &mut dst).is_err());
        assert!(yuyv_to_rgb(&[0; 8], 2, 2, 2, ColorRange::Limited, &mut dst).is_err());
        assert!(yuyv_to_rgb(&[0; 8], 4, 2, 2, ColorRange::Limited, &mut dst).is_ok());
    }
}
