//! Turning frame pixels into network input exactly as the reference
//! implementation (face-api 1.7.15 on TensorFlow.js) does: zero-pad to a
//! square, resize bilinearly with TF's legacy sampling (`alignCorners=false`,
//! `halfPixelCenters=false`), subtract a per-channel mean, divide by 255.
//!
//! Padding is never materialized: samples outside the image read as zero.
//! Written by hand rather than with an image crate because no crate offers TF's
//! legacy sampling, and matching it is what parity with the reference needs.

use candle_core::{Device, Tensor};
use parterre_core::{FrameView, PixelFormat};

use crate::error::VisionError;

/// Where the square's padding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// At the bottom or right (the detectors).
    BottomRight,
    /// Split evenly, the odd pixel after (the face nets).
    Centred,
}

/// Per-channel mean, in 0..255 levels, subtracted before dividing by 255.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Red, green, blue means.
    pub mean_rgb: [f32; 3],
}

/// A rectangle of the frame, in whole pixels, to take the input from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropPx {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Reads RGB from the frame, zero outside the crop.
struct Sampler<'a> {
    pixels: &'a [u8],
    stride_bytes: usize,
    bytes_per_pixel: usize,
    gray: bool,
    crop: CropPx,
    /// Offset of the crop inside the padded square.
    pad_left_px: u32,
    pad_top_px: u32,
}

impl Sampler<'_> {
    /// RGB at (`x`, `y`) of the padded square, as f32 levels.
    fn rgb(&self, x: u32, y: u32) -> [f32; 3] {
        let (Some(cx), Some(cy)) = (x.checked_sub(self.pad_left_px), y.checked_sub(self.pad_top_px)) else {
            return [0.0; 3];
        };
        if cx >= self.crop.width || cy >= self.crop.height {
            return [0.0; 3];
        }
        let offset =
            (self.crop.y + cy) as usize * self.stride_bytes + (self.crop.x + cx) as usize * self.bytes_per_pixel;
        let px = &self.pixels[offset..offset + self.bytes_per_pixel];
        if self.gray {
            [f32::from(px[0]); 3]
        } else {
            [f32::from(px[0]), f32::from(px[1]), f32::from(px[2])]
        }
    }
}

/// The source row or column and the weight of the next one, TF legacy style.
fn source_index(out_index: u32, ratio: f32, last: u32) -> (u32, u32, f32) {
    let frac = out_index as f32 * ratio;
    let floor = frac.floor();
    let low = (floor as u32).min(last);
    let high = (frac.ceil() as u32).min(last);
    (low, high, frac - floor)
}

/// Builds a `[1, 3, size, size]` input from `crop` of the frame.
pub fn square_input(
    view: &FrameView<'_>,
    crop: CropPx,
    padding: Padding,
    size_px: usize,
    normalization: Normalization,
) -> Result<Tensor, VisionError> {
    let layout = view.layout();
    let fits = crop.width > 0
        && crop.height > 0
        && crop.x.checked_add(crop.width).is_some_and(|r| r <= layout.width_px)
        && crop.y.checked_add(crop.height).is_some_and(|b| b <= layout.height_px);
    if !fits || size_px == 0 {
        return Err(VisionError::InvalidOption(format!(
            "crop {crop:?} is not inside the frame or is empty"
        )));
    }
    let side_px = crop.width.max(crop.height);
    let (pad_left_px, pad_top_px) = match padding {
        Padding::BottomRight => (0, 0),
        // face-api rounds half the difference up for the far side, so the
        // near side gets the rest.
        Padding::Centred => {
            let near = |short: u32| {
                let diff = side_px - short;
                diff - (diff as f32 * 0.5).round() as u32
            };
            (near(crop.width), near(crop.height))
        }
    };
    let sampler = Sampler {
        pixels: view.pixels(),
        stride_bytes: layout.stride_bytes,
        bytes_per_pixel: layout.format.bytes_per_pixel(),
        gray: layout.format == PixelFormat::Gray8,
        crop,
        pad_left_px,
        pad_top_px,
    };
    let ratio = side_px as f32 / size_px as f32;
    let last = side_px - 1;
    let plane = size_px * size_px;
    let mut data = vec![0f32; 3 * plane];
    let columns: Vec<_> = (0..size_px as u32).map(|x| source_index(x, ratio, last)).collect();
    for oy in 0..size_px {
        let (y0, y1, dy) = source_index(oy as u32, ratio, last);
        for (ox, &(x0, x1, dx)) in columns.iter().enumerate() {
            let (tl, tr) = (sampler.rgb(x0, y0), sampler.rgb(x1, y0));
            let (bl, br) = (sampler.rgb(x0, y1), sampler.rgb(x1, y1));
            for c in 0..3 {
                let top = tl[c] + (tr[c] - tl[c]) * dx;
                let bottom = bl[c] + (br[c] - bl[c]) * dx;
                let value = top + (bottom - top) * dy;
                data[c * plane + oy * size_px + ox] = (value - normalization.mean_rgb[c]) / 255.0;
            }
        }
    }
    Ok(Tensor::from_vec(data, (1, 3, size_px, size_px), &Device::Cpu)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::gray_frame;
    use parterre_core::{FrameBuffer, FrameLayout};

    const NO_MEAN: Normalization = Normalization { mean_rgb: [0.0; 3] };

    fn levels(tensor: &Tensor) -> Vec<f32> {
        tensor
            .flatten_all()
            .expect("flatten")
            .to_vec1::<f32>()
            .expect("vec")
            .iter()
            .map(|v| v * 255.0)
            .collect()
    }

    fn whole(width: u32, height: u32) -> CropPx {
        CropPx {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    #[test]
    fn legacy_bilinear_matches_hand_computed_values() {
        // 2x2 image upsampled to 4x4: TF legacy samples at 0, 0.5, 1, 1.5
        // and clamps to the last row and column.
        let buffer = gray_frame(2, 2, &[0, 100, 200, 40]);
        let input = square_input(
            &buffer.view().expect("frame"),
            whole(2, 2),
            Padding::BottomRight,
            4,
            NO_MEAN,
        )
        .expect("input");
        let red: Vec<f32> = levels(&input)[..16].to_vec();
        let expected = [
            0.0, 50.0, 100.0, 100.0, //
            100.0, 85.0, 70.0, 70.0, //
            200.0, 120.0, 40.0, 40.0, //
            200.0, 120.0, 40.0, 40.0,
        ];
        for (got, want) in red.iter().zip(expected) {
            assert!((got - want).abs() < 1e-3, "{red:?}");
        }
    }

    #[test]
    fn bottom_right_padding_is_zero_and_centred_padding_splits() {
        let buffer = gray_frame(1, 3, &[30, 60, 90]);
        let view = buffer.view().expect("frame");
        let bottom_right = square_input(&view, whole(1, 3), Padding::BottomRight, 3, NO_MEAN).expect("input");
        assert_eq!(
            &levels(&bottom_right)[..9],
            &[30.0, 0.0, 0.0, 60.0, 0.0, 0.0, 90.0, 0.0, 0.0]
        );
        let centred = square_input(&view, whole(1, 3), Padding::Centred, 3, NO_MEAN).expect("input");
        assert_eq!(
            &levels(&centred)[..9],
            &[0.0, 30.0, 0.0, 0.0, 60.0, 0.0, 0.0, 90.0, 0.0]
        );
    }

    #[test]
    fn normalization_subtracts_the_mean_per_channel() {
        let layout = FrameLayout::packed(PixelFormat::Rgba8, 1, 1).expect("layout");
        let mut buffer = FrameBuffer::with_capacity(4).expect("alloc");
        buffer.write_from(layout, &[10, 20, 30, 255]).expect("write");
        let norm = Normalization {
            mean_rgb: [10.0, 10.0, 10.0],
        };
        let input = square_input(
            &buffer.view().expect("frame"),
            whole(1, 1),
            Padding::BottomRight,
            1,
            norm,
        )
        .expect("input");
        assert_eq!(levels(&input), vec![0.0, 10.0, 20.0]);
    }

    #[test]
    fn crops_outside_the_frame_are_refused() {
        let buffer = gray_frame(2, 2, &[1, 2, 3, 4]);
        let view = buffer.view().expect("frame");
        let crop = CropPx {
            x: 1,
            y: 0,
            width: 2,
            height: 2,
        };
        assert!(square_input(&view, crop, Padding::Centred, 4, NO_MEAN).is_err());
        assert!(
            square_input(
                &view,
                CropPx {
                    width: 0,
                    ..whole(2, 2)
                },
                Padding::Centred,
                4,
                NO_MEAN
            )
            .is_err()
        );
    }
}
