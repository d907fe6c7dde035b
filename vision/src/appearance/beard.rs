//! Beard: whether the lower face is covered by a beard (full, chin or goatee,
//! with or without a moustache), 0..1.
//!
//! The hair-prone regions, the upper lip between nose and mouth (landmarks
//! 33/51) and the chin between lower lip and chin tip (57/8), are compared
//! with the cheeks below the eyes, on grids tied to the inter-ocular
//! distance (IOD):
//! - `darkness`: 1 - their mean luma / the cheeks' (a dark beard; a grey one
//!   can be brighter than skin, hence the other two);
//! - `texture`: ln((their texture + 1) / (the cheeks' texture + 1)), texture
//!   being the mean luma step between neighbouring samples 0.02 to 0.06 IOD
//!   apart: hair is rough, skin smooth at that scale;
//! - `chroma_drop` (colour frames only): how much less coloured they are than
//!   the cheeks, (cheek chroma - their chroma) / (cheek chroma + 4): hair,
//!   dark or grey, has little of skin's red-yellow chroma.
//!
//! On a gray frame a second calibration without `chroma_drop` is used. The
//! jaw beside the mouth corners was tried as a third region and left out: in
//! turned and tilted faces it falls on hair, hands or background, and the
//! leave-one-out accuracy dropped (0.88 to 0.75 in colour).
//!
//! Limits: stubble and moustaches alone sit between the classes (the labeled
//! set leaves them out); low light or top light darkens the chin as a beard
//! would; dark skin lowers the contrast with a dark beard; lipstick and heavy
//! make-up change the chroma of the upper lip; in side views past about 30°
//! yaw the far cheek falls on the background. The calibration set has only 5
//! bearded faces, so treat the probability as coarse, and on gray frames as
//! weak.

use parterre_core::{FrameView, PointPx};

use super::Logistic;
use super::regions::{FaceAxes, Patch, Region, cheek_luma, cheeks, mean_over, midpoint, outside};
use crate::error::VisionError;

/// The measurements the beard probability is computed from; see the module
/// documentation for what each one means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeardFeatures {
    /// 1 - lower-face luma / cheek luma.
    pub darkness: f32,
    /// ln((lower-face texture + 1) / (cheek texture + 1)).
    pub texture: f32,
    /// (cheek chroma - lower-face chroma) / (cheek chroma + 4); `None` on gray frames.
    pub chroma_drop: Option<f32>,
}

/// Fitted by `build_fixture.py fit` on the 46 labeled crops (5 bearded), in
/// colour: balanced accuracy 0.98 in-sample, 0.88 leave-one-out. Chroma
/// carries most of it.
const COLOUR_MODEL: Logistic<3> = Logistic {
    bias: -3.4345,
    weights: [6.0510, 1.9442, 11.2330],
};
/// The same crops made gray: balanced accuracy 0.70 in-sample and
/// leave-one-out. Without chroma a beard is hard to tell from shadow.
const GRAY_MODEL: Logistic<2> = Logistic {
    bias: -1.1440,
    weights: [5.5871, 0.5533],
};

/// The probability that the face whose 68 landmarks (image pixels, iBUG order)
/// are given has a beard. Uses colour when the frame has it, and works on gray
/// frames. Regions partly outside the frame are read where they are inside;
/// an [`VisionError::InvalidOption`] if the cheeks or every lower-face region
/// are wholly outside, or for landmarks that are not 68 finite points.
pub fn beard_probability(view: &FrameView<'_>, landmarks_px: &[PointPx]) -> Result<f32, VisionError> {
    let f = beard_features(view, landmarks_px)?;
    Ok(match f.chroma_drop {
        Some(chroma_drop) => COLOUR_MODEL.probability([f.darkness, f.texture, chroma_drop]),
        None => GRAY_MODEL.probability([f.darkness, f.texture]),
    })
}

/// The features behind [`beard_probability`], for calibration and diagnosis.
pub fn beard_features(view: &FrameView<'_>, landmarks_px: &[PointPx]) -> Result<BeardFeatures, VisionError> {
    let axes = FaceAxes::new(landmarks_px)?;
    let cheeks = cheeks(view, &axes);
    let skin = cheek_luma(&cheeks)?;
    let at = |a: usize, b: usize, half_across: f32, half_down: f32| {
        let region = Region {
            centre: midpoint(landmarks_px[a], landmarks_px[b]),
            half_across,
            half_down,
        };
        Patch::read(view, &axes, &region)
    };
    let lower = [at(33, 51, 0.25, 0.08), at(57, 8, 0.25, 0.12)];
    let lower_luma = mean_over(&lower, Patch::mean_luma).ok_or_else(|| outside("lower face"))?;
    let texture = |patches: &[Patch]| mean_over(patches, Patch::texture).unwrap_or(0.0);
    let chroma_drop = cheeks[0].has_colour().then(|| {
        let cheek = mean_over(&cheeks, Patch::mean_chroma).unwrap_or(0.0);
        let lower = mean_over(&lower, Patch::mean_chroma).unwrap_or(0.0);
        (cheek - lower) / (cheek + 4.0)
    });
    Ok(BeardFeatures {
        darkness: 1.0 - lower_luma / skin,
        texture: ((texture(&lower) + 1.0) / (texture(&cheeks) + 1.0)).ln(),
        chroma_drop,
    })
}

#[cfg(test)]
mod tests {
    use parterre_core::PixelFormat;

    use super::*;
    use crate::appearance::synthetic::{bare, frame, landmarks, shifted};

    /// Dark, low-chroma hair with a fine checker texture over the upper lip,
    /// chin and jaw (below y = 124, inside the face's jaw arc).
    fn with_beard(x: u32, y: u32) -> [u8; 3] {
        let (dx, dy) = (x as f32 - 100.0, y as f32 - 90.0);
        let in_jaw = (dx / 60.0).powi(2) + (dy / 90.0).powi(2) <= 1.0;
        let on_lips = (80..=120).contains(&x) && (135..=148).contains(&y);
        if y >= 124 && in_jaw && !on_lips {
            if (x + y) % 2 == 0 { [40, 34, 30] } else { [90, 80, 72] }
        } else {
            bare(x, y)
        }
    }

    fn probability(format: PixelFormat, paint: fn(u32, u32) -> [u8; 3]) -> f32 {
        let frame = frame(format, paint);
        beard_probability(&frame.view().expect("view"), &landmarks()).expect("beard")
    }

    #[test]
    fn a_dark_textured_lower_face_reads_as_a_beard_in_colour_and_gray() {
        for format in [PixelFormat::Gray8, PixelFormat::Rgb8, PixelFormat::Rgba8] {
            let (bare_p, beard_p) = (probability(format, bare), probability(format, with_beard));
            assert!(bare_p < 0.3, "{format:?}: bare face {bare_p}");
            assert!(beard_p > 0.8, "{format:?}: beard {beard_p}");
        }
    }

    #[test]
    fn colour_adds_chroma_and_gray_leaves_it_out() {
        let [gray, rgb] = [PixelFormat::Gray8, PixelFormat::Rgb8].map(|format| {
            let frame = frame(format, with_beard);
            beard_features(&frame.view().expect("view"), &landmarks()).expect("features")
        });
        assert_eq!(gray.chroma_drop, None);
        // Skin (200, 150, 120) has chroma about 36, the hair about 9: a drop
        // of about (36 - 9) / 40.
        let drop = rgb.chroma_drop.expect("colour");
        assert!((0.55..0.8).contains(&drop), "{drop}");
        // Luma is the same either way, up to the gray frame's rounding.
        assert!((gray.darkness - rgb.darkness).abs() < 0.01, "{gray:?} vs {rgb:?}");
        assert!((gray.texture - rgb.texture).abs() < 0.02, "{gray:?} vs {rgb:?}");
    }

    #[test]
    fn a_face_half_outside_is_read_on_what_is_inside_and_one_wholly_outside_is_refused() {
        // The face drawn 60 px lower: the chin leaves the frame, the upper lip
        // and cheeks stay.
        let low = frame(PixelFormat::Rgb8, |x, y| with_beard(x, y.saturating_sub(60)));
        let p = beard_probability(&low.view().expect("view"), &shifted(&landmarks(), 0.0, 60.0)).expect("half inside");
        assert!(p > 0.5, "the upper lip still shows the beard: {p}");
        let frame = frame(PixelFormat::Rgb8, with_beard);
        let view = frame.view().expect("view");
        let error = beard_probability(&view, &shifted(&landmarks(), 300.0, 0.0));
        assert!(matches!(error, Err(VisionError::InvalidOption(_))), "{error:?}");
        let error = beard_probability(&view, &[]);
        assert!(matches!(error, Err(VisionError::InvalidOption(_))), "{error:?}");
    }
}
