//! The box the classifiers see: face-api's `FaceLandmarks.align()` with its
//! default `minBoxPadding` of 0.2. The smallest box holding the 68 landmarks,
//! grown by 20 % of its width and height and kept centred. Expression and
//! age/gender run on this box rather than on the detection box because it
//! hugs the face the same way whatever the detector, so their inputs match
//! the ones the nets were trained on.

use parterre_core::{BoxPx, PointPx};

/// How much the landmarks' bounding box grows, as a share of its size.
const PADDING: f32 = 0.2;

/// The aligned box of a face's landmarks, in image pixels; `None` without
/// landmarks or with a non-finite one.
pub fn aligned_box(landmarks_px: &[PointPx]) -> Option<BoxPx> {
    let first = landmarks_px.first()?;
    let (mut left, mut top, mut right, mut bottom) = (first.x, first.y, first.x, first.y);
    for point in landmarks_px {
        if !(point.x.is_finite() && point.y.is_finite()) {
            return None;
        }
        left = left.min(point.x);
        right = right.max(point.x);
        top = top.min(point.y);
        bottom = bottom.max(point.y);
    }
    let (width_px, height_px) = (right - left, bottom - top);
    let (pad_x_px, pad_y_px) = (width_px * PADDING, height_px * PADDING);
    Some(BoxPx {
        x: left - pad_x_px / 2.0,
        y: top - pad_y_px / 2.0,
        width: width_px + pad_x_px,
        height: height_px + pad_y_px,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f32, y: f32) -> PointPx {
        PointPx { x, y }
    }

    #[test]
    fn the_bounding_box_grows_by_a_fifth_around_its_centre() {
        let aligned = aligned_box(&[point(10.0, 20.0), point(60.0, 120.0), point(30.0, 70.0)]).expect("box");
        // 50 x 100 grows by 10 x 20, half on each side.
        assert_eq!(
            aligned,
            BoxPx {
                x: 5.0,
                y: 10.0,
                width: 60.0,
                height: 120.0
            }
        );
    }

    #[test]
    fn no_or_broken_landmarks_give_no_box() {
        assert_eq!(aligned_box(&[]), None);
        assert_eq!(aligned_box(&[point(1.0, 1.0), point(f32::NAN, 2.0)]), None);
    }
}
