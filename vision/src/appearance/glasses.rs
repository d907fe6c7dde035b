//! Glasses: whether the face wears glasses (clear or dark lenses), 0..1.
//!
//! Three features, read in face axes (units of the inter-ocular distance,
//! IOD) and divided by the mean luma of the cheeks so that exposure cancels:
//! - `bridge_edge`: the sharpest change of brightness down a thin strip over
//!   the nose bridge between the inner eye corners (landmarks 39, 42, about
//!   0.25 IOD above to 0.15 below them). A frame's bridge is a bar running
//!   across it; bare skin there changes smoothly.
//! - `rim_edge`: the same below each eye (0.14 to 0.5 IOD under the eye
//!   centre, where a lower rim or the lens border runs across the cheekbone),
//!   averaged over both eyes.
//! - `eye_darkness`: how much darker the eye band (eye centre ±0.3 IOD across,
//!   ±0.22 down) is than the cheeks: dark lenses cover it.
//!
//! Limits: thin rimless or light metal frames make weak edges and are often
//! missed; in side views past about 30° yaw the far eye's regions land on the
//! nose or the background; heavy eye make-up and deep eye sockets in top light
//! raise `eye_darkness`; strong fringes or shadows across the bridge raise
//! `bridge_edge`. The calibration set has only 8 faces with glasses (4 of them
//! sunglasses), so treat the probability as coarse.

use parterre_core::{FrameView, PointPx};

use super::Logistic;
use super::regions::{FaceAxes, Patch, Region, cheek_luma, cheeks, mean_over, midpoint, outside, strongest_edge};
use crate::error::VisionError;

/// The measurements the glasses probability is computed from; see the module
/// documentation for what each one means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlassesFeatures {
    /// Strongest edge across the nose bridge, over cheek luma.
    pub bridge_edge: f32,
    /// Strongest edge below the eyes (mean of both), over cheek luma.
    pub rim_edge: f32,
    /// 1 - eye band luma / cheek luma.
    pub eye_darkness: f32,
}

/// Fitted by `build_fixture.py fit` on the 64 labeled crops (8 with
/// glasses): balanced accuracy 0.84 at 0.5 both in-sample and leave-one-out.
/// The bridge edge carries most of it; dark lenses come through `eye_darkness`.
const MODEL: Logistic<3> = Logistic {
    bias: -4.9783,
    weights: [22.2278, 5.0676, 5.0125],
};

/// The probability that the face whose 68 landmarks (image pixels, iBUG order)
/// are given wears glasses. Regions partly outside the frame are read where
/// they are inside; an [`VisionError::InvalidOption`] if a region is wholly
/// outside, or for landmarks that are not 68 finite points.
pub fn glasses_probability(view: &FrameView<'_>, landmarks_px: &[PointPx]) -> Result<f32, VisionError> {
    let f = glasses_features(view, landmarks_px)?;
    Ok(MODEL.probability([f.bridge_edge, f.rim_edge, f.eye_darkness]))
}

/// The features behind [`glasses_probability`], for calibration and diagnosis.
pub fn glasses_features(view: &FrameView<'_>, landmarks_px: &[PointPx]) -> Result<GlassesFeatures, VisionError> {
    let axes = FaceAxes::new(landmarks_px)?;
    let skin = cheek_luma(&cheeks(view, &axes))?;
    let bridge = Region {
        centre: axes.at(midpoint(landmarks_px[39], landmarks_px[42]), 0.0, -0.05),
        half_across: 0.08,
        half_down: 0.2,
    };
    let bridge_edge =
        strongest_edge(&Patch::read(view, &axes, &bridge).row_profile()).ok_or_else(|| outside("nose bridge"))?;
    let below_eyes = axes.eyes.map(|eye| {
        let region = Region {
            centre: axes.at(eye, 0.0, 0.32),
            half_across: 0.2,
            half_down: 0.18,
        };
        Patch::read(view, &axes, &region)
    });
    let rim_edge =
        mean_over(&below_eyes, |p| strongest_edge(&p.row_profile())).ok_or_else(|| outside("area below the eyes"))?;
    let eye_bands = axes.eyes.map(|eye| {
        let region = Region {
            centre: eye,
            half_across: 0.3,
            half_down: 0.22,
        };
        Patch::read(view, &axes, &region)
    });
    let eye_luma = mean_over(&eye_bands, Patch::mean_luma).ok_or_else(|| outside("eyes"))?;
    Ok(GlassesFeatures {
        bridge_edge: bridge_edge / skin,
        rim_edge: rim_edge / skin,
        eye_darkness: 1.0 - eye_luma / skin,
    })
}

#[cfg(test)]
mod tests {
    use parterre_core::PixelFormat;

    use super::*;
    use crate::appearance::synthetic::{bare, frame, landmarks, shifted};

    const FRAME_RGB: [u8; 3] = [25, 25, 30];

    /// Rims (3 px, dark) around each eye, 0.35 IOD to each side, 0.25 above and
    /// 0.35 below, and a bridge bar between them at the upper eyelid.
    fn with_glasses(x: u32, y: u32) -> [u8; 3] {
        let (x, y) = (x as i32, y as i32);
        let rim = |cx: i32| {
            let inside_outer = (cx - 21..=cx + 21).contains(&x) && (65..=101).contains(&y);
            let inside_inner = (cx - 18..=cx + 18).contains(&x) && (68..=98).contains(&y);
            inside_outer && !inside_inner
        };
        let bridge = (91..=109).contains(&x) && (74..=77).contains(&y);
        if rim(70) || rim(130) || bridge {
            FRAME_RGB
        } else {
            bare(x as u32, y as u32)
        }
    }

    fn probability(format: PixelFormat, paint: fn(u32, u32) -> [u8; 3]) -> f32 {
        let frame = frame(format, paint);
        glasses_probability(&frame.view().expect("view"), &landmarks()).expect("glasses")
    }

    #[test]
    fn drawn_rims_and_bridge_read_as_glasses_in_every_format() {
        for format in [PixelFormat::Gray8, PixelFormat::Rgb8, PixelFormat::Rgba8] {
            let (bare_p, glasses_p) = (probability(format, bare), probability(format, with_glasses));
            assert!(bare_p < 0.2, "{format:?}: bare face {bare_p}");
            assert!(glasses_p > 0.8, "{format:?}: glasses {glasses_p}");
        }
    }

    #[test]
    fn gray_and_neutral_rgb_give_the_same_features() {
        let neutral = |x, y| {
            let [r, g, b] = with_glasses(x, y);
            [((u32::from(r) + u32::from(g) + u32::from(b)) / 3) as u8; 3]
        };
        let [gray, rgb] = [PixelFormat::Gray8, PixelFormat::Rgb8].map(|format| {
            let frame = frame(format, neutral);
            glasses_features(&frame.view().expect("view"), &landmarks()).expect("features")
        });
        for (a, b) in [
            (gray.bridge_edge, rgb.bridge_edge),
            (gray.rim_edge, rgb.rim_edge),
            (gray.eye_darkness, rgb.eye_darkness),
        ] {
            assert!((a - b).abs() < 1e-4, "gray {gray:?} vs rgb {rgb:?}");
        }
    }

    #[test]
    fn a_face_half_outside_is_read_on_what_is_inside_and_one_wholly_outside_is_refused() {
        // The face drawn 80 px further left: the left eye and cheek leave the
        // frame, the bridge and the right eye stay.
        let left = frame(PixelFormat::Rgb8, |x, y| with_glasses(x + 80, y));
        let p =
            glasses_probability(&left.view().expect("view"), &shifted(&landmarks(), -80.0, 0.0)).expect("half inside");
        assert!(p > 0.8, "the bridge and one rim still show: {p}");
        let frame = frame(PixelFormat::Rgb8, with_glasses);
        let view = frame.view().expect("view");
        for (dx, dy) in [(-400.0, 0.0), (0.0, 500.0)] {
            let error = glasses_probability(&view, &shifted(&landmarks(), dx, dy));
            assert!(matches!(error, Err(VisionError::InvalidOption(_))), "{error:?}");
        }
        let error = glasses_probability(&view, &landmarks()[..5]);
        assert!(matches!(error, Err(VisionError::InvalidOption(_))), "{error:?}");
    }
}
