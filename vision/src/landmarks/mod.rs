//! 68-point face landmarks, as face-api 1.7.15 computes them: the face box is
//! clipped to the image and floored, that crop is zero-padded centred to a
//! square, resized to 112x112 and normalized; a net (full or tiny) predicts 68
//! points in 0..1 of the padded square, which are mapped back to image pixels.
//!
//! The mapping reproduces two quirks of the reference so results match it: the
//! input pads by whole pixels (`diff - round(diff / 2)` before) while the
//! output removes exactly half the difference, and points are shifted by the
//! box's unfloored corner although the crop starts at the floored one. Each
//! stays under one image pixel. One deliberate difference: where the box
//! sticks out at the top or left, face-api still shifts by the box corner
//! (outside the image) although the crop starts at the border; here the shift
//! is clipped to the border too, so such landmarks land on the face.

mod align;
mod face_landmark_68;
mod face_landmark_68_tiny;
pub(crate) mod feature_extractor;

use candle_core::{IndexOp, Module, Result, Tensor};
use candle_nn::VarBuilder;
use parterre_core::{BoxPx, FrameView, PointPx};

pub use align::aligned_box;
pub use face_landmark_68::FaceLandmark68Net;
pub use face_landmark_68_tiny::FaceLandmark68TinyNet;

use crate::error::VisionError;
use crate::preprocess::{CropPx, Normalization, Padding, square_input};

/// Points per face.
pub const LANDMARKS: usize = 68;
/// Values the nets output per face: x0, y0, x1, y1, …
const OUTPUTS: usize = 2 * LANDMARKS;
/// Side of the nets' square input.
pub const INPUT_SIZE_PX: usize = 112;
const NORMALIZATION: Normalization = Normalization {
    mean_rgb: [122.782, 117.001, 104.298],
};

/// Which landmark net to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandmarkModel {
    /// `face_landmark_68`: 356,840 parameters, the library's default.
    Full,
    /// `face_landmark_68_tiny`: 77,224 parameters, faster.
    Tiny,
}

/// A landmark net of either size, chosen at run time.
#[derive(Debug, Clone)]
pub enum LandmarkNet {
    /// The full net.
    Full(FaceLandmark68Net),
    /// The tiny net.
    Tiny(FaceLandmark68TinyNet),
}

impl LandmarkNet {
    /// Builds the chosen net from its checkpoint's tensors.
    pub fn new(model: LandmarkModel, vb: VarBuilder) -> Result<Self> {
        Ok(match model {
            LandmarkModel::Full => Self::Full(FaceLandmark68Net::new(vb)?),
            LandmarkModel::Tiny => Self::Tiny(FaceLandmark68TinyNet::new(vb)?),
        })
    }

    /// The nets' `[1, 3, 112, 112]` input for the face in `box_px` (image
    /// pixels); the same for both nets.
    pub fn input(view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<Tensor, VisionError> {
        let layout = view.layout();
        let crop = face_crop(box_px, layout.width_px, layout.height_px)?;
        square_input(view, crop, Padding::Centred, INPUT_SIZE_PX, NORMALIZATION)
    }

    /// The 68 landmarks of the face in `box_px`, in image pixels. A box with
    /// no whole pixel inside the frame is an [`VisionError::InvalidOption`].
    pub fn landmarks(&self, view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<Vec<PointPx>, VisionError> {
        let layout = view.layout();
        let crop = face_crop(box_px, layout.width_px, layout.height_px)?;
        let input = square_input(view, crop, Padding::Centred, INPUT_SIZE_PX, NORMALIZATION)?;
        self.landmarks_from_input(&input, crop, box_px)
    }

    /// The 68 landmarks from [`LandmarkNet::input`] of the face in `box_px`
    /// whose crop is `crop` ([`face_crop`]): the analyzer reads the frame only
    /// to make the input, so the frame can be wiped while the net runs.
    pub fn landmarks_from_input(
        &self,
        input: &Tensor,
        crop: CropPx,
        box_px: &BoxPx,
    ) -> std::result::Result<Vec<PointPx>, VisionError> {
        let raw = self.forward(input)?.i(0)?.to_vec1::<f32>()?;
        Ok(to_image_px(&raw, crop, box_px))
    }
}

impl Module for LandmarkNet {
    /// `[n, 3, 112, 112]` → `[n, 136]`, as the chosen net.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::Full(net) => net.forward(xs),
            Self::Tiny(net) => net.forward(xs),
        }
    }
}

/// The pixels face-api feeds the face nets for a box: face-api's
/// `box.clipAtImageBorders(width, height)`, which floors x, y, width and height
/// after clipping. Computed in f64 like the reference's JavaScript numbers, so
/// `(x + width) - x` gives back `width` exactly before the floor.
pub fn face_crop(box_px: &BoxPx, width_px: u32, height_px: u32) -> std::result::Result<CropPx, VisionError> {
    let [x, y, width, height] = [box_px.x, box_px.y, box_px.width, box_px.height].map(f64::from);
    let invalid = || {
        VisionError::InvalidOption(format!(
            "face box {box_px:?} has no whole pixel inside the {width_px}x{height_px} frame"
        ))
    };
    if ![x, y, width, height].iter().all(|v| v.is_finite()) || width <= 0.0 || height <= 0.0 {
        return Err(invalid());
    }
    let (left, top) = (x.max(0.0), y.max(0.0));
    let clipped_width = (x + width - left).min(f64::from(width_px) - left).floor();
    let clipped_height = (y + height - top).min(f64::from(height_px) - top).floor();
    if clipped_width < 1.0 || clipped_height < 1.0 {
        return Err(invalid());
    }
    // Both sides hold at least one pixel, so left < width_px and top <
    // height_px: every value fits a u32.
    Ok(CropPx {
        x: left.floor() as u32,
        y: top.floor() as u32,
        width: clipped_width as u32,
        height: clipped_height as u32,
    })
}

/// Maps the nets' raw output (0..1 of the padded square) to image pixels, as
/// face-api's `FaceLandmark68NetBase.postProcess` and `FaceLandmarks` do.
fn to_image_px(raw: &[f32], crop: CropPx, box_px: &BoxPx) -> Vec<PointPx> {
    let size_px = INPUT_SIZE_PX as f32;
    let (crop_width_px, crop_height_px) = (crop.width as f32, crop.height as f32);
    let scale = size_px / crop_width_px.max(crop_height_px);
    // The crop's extent inside the padded square, in input pixels.
    let (inner_width_px, inner_height_px) = (crop_width_px * scale, crop_height_px * scale);
    let pad_x_px = if inner_width_px < inner_height_px {
        (inner_height_px - inner_width_px) / 2.0
    } else {
        0.0
    };
    let pad_y_px = if inner_height_px < inner_width_px {
        (inner_width_px - inner_height_px) / 2.0
    } else {
        0.0
    };
    // See the module comment: the unfloored corner, clipped to the image.
    let (shift_x_px, shift_y_px) = (box_px.x.max(0.0), box_px.y.max(0.0));
    raw.chunks_exact(2)
        .map(|xy| {
            let relative_x = (xy[0] * size_px - pad_x_px) / inner_width_px;
            let relative_y = (xy[1] * size_px - pad_y_px) / inner_height_px;
            PointPx {
                x: relative_x * crop_width_px + shift_x_px,
                y: relative_y * crop_height_px + shift_y_px,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use parterre_core::{FrameBuffer, FrameLayout, PixelFormat};

    fn boxed(x: f32, y: f32, width: f32, height: f32) -> BoxPx {
        BoxPx { x, y, width, height }
    }

    fn crop(x: u32, y: u32, width: u32, height: u32) -> CropPx {
        CropPx { x, y, width, height }
    }

    fn gray_frame(width_px: u32, height_px: u32) -> FrameBuffer {
        let layout = FrameLayout::packed(PixelFormat::Gray8, width_px, height_px).expect("layout");
        let mut buffer = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
        let pixels = vec![128; layout.len_bytes()];
        buffer.write_from(layout, &pixels).expect("write");
        buffer
    }

    #[test]
    fn crop_is_the_box_clipped_then_floored() {
        assert_eq!(
            face_crop(&boxed(776.2456, 445.0671, 312.712, 255.9709), 1920, 1280).expect("crop"),
            crop(776, 445, 312, 255)
        );
        // Sticking out on every side: clipped to the frame.
        assert_eq!(
            face_crop(&boxed(-5.5, -3.0, 30.0, 40.0), 20, 10).expect("crop"),
            crop(0, 0, 20, 10)
        );
        // Right and bottom parts clipped, the left corner kept.
        assert_eq!(
            face_crop(&boxed(12.7, 4.2, 30.0, 40.0), 20, 10).expect("crop"),
            crop(12, 4, 7, 5)
        );
    }

    #[test]
    fn boxes_without_a_whole_pixel_inside_are_refused() {
        let bad = [
            boxed(25.0, 0.0, 5.0, 5.0),            // right of the frame
            boxed(0.0, 10.0, 5.0, 5.0),            // below it
            boxed(-8.0, 0.0, 5.0, 5.0),            // left of it
            boxed(0.0, -6.0, 5.0, 5.0),            // above it
            boxed(2.0, 2.0, 0.0, 5.0),             // empty
            boxed(2.0, 2.0, 5.0, -1.0),            // negative height
            boxed(2.0, 2.0, 0.5, 5.0),             // less than a pixel wide
            boxed(19.5, 2.0, 3.0, 5.0),            // half a pixel inside
            boxed(f32::NAN, 2.0, 5.0, 5.0),        // not a number
            boxed(2.0, 2.0, f32::INFINITY, 5.0),   // unbounded
            boxed(f32::MAX, f32::MAX, 1e30, 1e30), // huge
        ];
        for box_px in bad {
            let error = face_crop(&box_px, 20, 10).expect_err("refused");
            assert!(matches!(error, VisionError::InvalidOption(_)), "{box_px:?}: {error}");
        }
    }

    #[test]
    fn a_non_square_crop_maps_back_through_the_centred_padding() {
        // A 50x100 crop: scaled by 1.12 to 56x112, centred with 28 input
        // pixels of padding left and right.
        let box_px = boxed(10.5, 20.25, 50.0, 100.0);
        let raw = [
            0.25, 0.0, // the crop's top-left corner
            0.75, 1.0, // its bottom-right corner
            0.5, 0.5, // its centre
            0.0, 0.25, // the padding's left edge, 28 input px = 25 crop px before the crop
        ];
        let points = to_image_px(&raw, crop(10, 20, 50, 100), &box_px);
        let expected = [(10.5, 20.25), (60.5, 120.25), (35.5, 70.25), (-14.5, 45.25)];
        for (point, (x, y)) in points.iter().zip(expected) {
            assert!(
                (point.x - x).abs() < 1e-4 && (point.y - y).abs() < 1e-4,
                "{point:?} vs ({x}, {y})"
            );
        }
        // A wide crop pads above and below instead.
        let wide = to_image_px(&[0.5, 0.25], crop(0, 0, 100, 50), &boxed(0.0, 0.0, 100.0, 50.0));
        assert!((wide[0].x - 50.0).abs() < 1e-4 && wide[0].y.abs() < 1e-4, "{wide:?}");
    }

    #[test]
    fn a_box_past_the_top_left_shifts_from_the_border() {
        let points = to_image_px(&[0.0, 0.0], crop(0, 0, 40, 40), &boxed(-3.5, -1.25, 43.5, 41.25));
        assert_eq!(points, vec![PointPx { x: 0.0, y: 0.0 }]);
    }

    #[test]
    fn landmarks_come_in_image_pixels_and_bad_boxes_are_errors() {
        // Zero weights: the net outputs 0 everywhere, the padded square's
        // top-left corner.
        for model in [LandmarkModel::Full, LandmarkModel::Tiny] {
            let net = LandmarkNet::new(model, VarBuilder::zeros(DType::F32, &Device::Cpu)).expect("net");
            let frame = gray_frame(40, 30);
            let view = frame.view().expect("frame");
            // A 20x10 crop at (4, 6): 5 crop px of padding above.
            let points = net.landmarks(&view, &boxed(4.25, 6.5, 20.0, 10.0)).expect("landmarks");
            assert_eq!(points.len(), LANDMARKS);
            for point in &points {
                assert!(
                    (point.x - 4.25).abs() < 1e-4 && (point.y - 1.5).abs() < 1e-4,
                    "{point:?}"
                );
            }
            let error = net
                .landmarks(&view, &boxed(40.0, 0.0, 10.0, 10.0))
                .expect_err("outside");
            assert!(matches!(error, VisionError::InvalidOption(_)), "{error}");
        }
    }
}
