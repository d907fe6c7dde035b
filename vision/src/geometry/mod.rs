//! Geometry of the 68 landmarks: the head's pose (a perspective-n-point fit of
//! a 3D mean face) and the face's shape (eyes open, mouth open, smile), cheap
//! enough to run on every frame and computed from the points alone.
//!
//! Every measure takes the 68 landmarks in image pixels, in the iBUG 300-W
//! order face-api and dlib use (0-16 face contour, 17-26 brows, 27-35 nose,
//! 36-47 eyes, 48-67 lips). "Left" and "right" in names and docs are the
//! person's own; the camera image is not mirrored, so the person's left is
//! the image's right.

mod mean_face;
mod pnp;
mod pose;
mod shape;

pub use pose::head_pose;
pub use shape::FaceShape;

use parterre_core::PointPx;

use crate::VisionError;

/// How many landmarks every measure expects.
pub const LANDMARK_COUNT: usize = 68;

/// Below this extent (the larger side of the points' bounding box) the
/// landmarks are no face: the measures' ratios would divide by nearly zero.
const MIN_EXTENT_PX: f32 = 1.0;

/// Checks the landmarks every measure relies on: 68 of them, finite, and
/// spread over at least a pixel.
fn validate(landmarks_px: &[PointPx]) -> Result<(), VisionError> {
    if landmarks_px.len() != LANDMARK_COUNT {
        return Err(VisionError::InvalidOption(format!(
            "face geometry needs {LANDMARK_COUNT} landmarks, got {}",
            landmarks_px.len()
        )));
    }
    if let Some(index) = landmarks_px.iter().position(|p| !(p.x.is_finite() && p.y.is_finite())) {
        return Err(VisionError::InvalidOption(format!(
            "landmark {index} is not a finite point"
        )));
    }
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in landmarks_px {
        min_x = min_x.min(p.x);
        max_x = max_x.max(p.x);
        min_y = min_y.min(p.y);
        max_y = max_y.max(p.y);
    }
    let extent_px = (max_x - min_x).max(max_y - min_y);
    if extent_px < MIN_EXTENT_PX {
        return Err(VisionError::InvalidOption(format!(
            "degenerate landmarks: they span {extent_px} px, less than {MIN_EXTENT_PX} px"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread() -> Vec<PointPx> {
        (0..LANDMARK_COUNT)
            .map(|i| PointPx {
                x: (i % 9) as f32 * 10.0,
                y: (i / 9) as f32 * 10.0,
            })
            .collect()
    }

    #[test]
    fn accepts_68_spread_finite_points() {
        assert!(validate(&spread()).is_ok());
    }

    #[test]
    fn rejects_what_is_no_face() {
        let mut nan = spread();
        nan[40].y = f32::NAN;
        let mut infinite = spread();
        infinite[3].x = f32::INFINITY;
        let cases: [(&str, Vec<PointPx>, &str); 5] = [
            ("too few", spread()[..67].to_vec(), "got 67"),
            ("too many", [spread(), spread()].concat(), "got 136"),
            ("NaN", nan, "landmark 40"),
            ("infinite", infinite, "landmark 3"),
            ("all equal", vec![PointPx { x: 5.0, y: 5.0 }; 68], "degenerate"),
        ];
        for (name, points, message) in cases {
            match validate(&points) {
                Err(VisionError::InvalidOption(text)) => assert!(text.contains(message), "{name}: {text}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
