//! Face-shape measures from the 68 landmarks: how open the eyes and the mouth
//! are, and how much the face smiles. Each is a ratio of distances between
//! landmarks, so it does not change when the face is scaled, moved or turned
//! within the image; each is mapped to 0..1 by a linear ramp between two
//! documented values.

use parterre_core::PointPx;

use super::validate;
use crate::VisionError;

/// Eye aspect ratio (Soukupová & Čech 2016) at and below which an eye counts
/// as closed, and at and above which it counts as open (open eyes measure
/// 0.25–0.35, a blink falls under 0.15).
const EYE_CLOSED_RATIO: f32 = 0.15;
const EYE_OPEN_RATIO: f32 = 0.25;
/// Inner-lip gap over mouth width: closed lips measure under 0.05, speech
/// 0.1–0.3, a wide-open mouth 0.45 and more.
const MOUTH_CLOSED_RATIO: f32 = 0.05;
const MOUTH_OPEN_RATIO: f32 = 0.45;
/// Mouth width over the distance between the outer eye corners: about 0.55 at
/// rest (50 mm over 90 mm), about 0.70 in a broad smile.
const MOUTH_WIDTH_AT_REST: f32 = 0.55;
const MOUTH_WIDTH_IN_A_SMILE: f32 = 0.70;
/// How far the mouth corners rise above the middle of the lips, over the
/// mouth width: 0 at rest, about 0.10 in a broad smile.
const CORNER_LIFT_AT_REST: f32 = 0.0;
const CORNER_LIFT_IN_A_SMILE: f32 = 0.10;

/// Shape measures of one face. Left and right are the person's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceShape {
    /// Eye aspect ratio of the right eye (landmarks 36-41, on the image's
    /// left): (|p2−p6| + |p3−p5|) / (2·|p1−p4|).
    pub right_eye_aspect: f32,
    /// Eye aspect ratio of the left eye (landmarks 42-47).
    pub left_eye_aspect: f32,
    /// 0 (closed) to 1 (open): the mean eye aspect ratio on a linear ramp
    /// from 0.15 to 0.25.
    pub eyes_open: f32,
    /// 0 (closed) to 1 (wide open): the mean gap between the inner lips
    /// (landmarks 61-67, 62-66, 63-65) over the mouth width (48-54), on a
    /// ramp from 0.05 to 0.45.
    pub mouth_open: f32,
    /// 0 (at rest) to 1 (broad smile): the mean of two ramps, the mouth width
    /// over the outer-eye-corner distance (0.55 to 0.70) and the rise of the
    /// mouth corners above the middle of the lips, along the face's vertical
    /// axis (perpendicular to the line through the eye centres), over the
    /// mouth width (0 to 0.10).
    pub smile: f32,
}

impl FaceShape {
    /// Measures the 68 landmarks of one face, in image pixels.
    pub fn measure(landmarks_px: &[PointPx]) -> Result<Self, VisionError> {
        validate(landmarks_px)?;
        let p = landmarks_px;
        let right_eye_aspect = eye_aspect_ratio(&p[36..42]);
        let left_eye_aspect = eye_aspect_ratio(&p[42..48]);
        let mouth_width_px = distance(p[48], p[54]);
        let lip_gap_px = (distance(p[61], p[67]) + distance(p[62], p[66]) + distance(p[63], p[65])) / 3.0;

        // The face's own axes in the image: across along the eye line, down
        // perpendicular to it, so the corner lift ignores the head's roll.
        let across = unit(centre(&p[42..48]) - centre(&p[36..42]));
        let down = Vector {
            x: -across.y,
            y: across.x,
        };
        let lip_middle = centre(&[p[62], p[66]]);
        let corners = centre(&[p[48], p[54]]);
        let corner_lift = (lip_middle - corners).dot(down) / mouth_width_px;
        let width_ratio = mouth_width_px / distance(p[36], p[45]);

        Ok(Self {
            right_eye_aspect,
            left_eye_aspect,
            eyes_open: ramp(
                (right_eye_aspect + left_eye_aspect) / 2.0,
                EYE_CLOSED_RATIO,
                EYE_OPEN_RATIO,
            ),
            mouth_open: ramp(lip_gap_px / mouth_width_px, MOUTH_CLOSED_RATIO, MOUTH_OPEN_RATIO),
            smile: (ramp(width_ratio, MOUTH_WIDTH_AT_REST, MOUTH_WIDTH_IN_A_SMILE)
                + ramp(corner_lift, CORNER_LIFT_AT_REST, CORNER_LIFT_IN_A_SMILE))
                / 2.0,
        })
    }
}

/// (|p2−p6| + |p3−p5|) / (2·|p1−p4|) over an eye's six points p1..p6.
fn eye_aspect_ratio(eye: &[PointPx]) -> f32 {
    (distance(eye[1], eye[5]) + distance(eye[2], eye[4])) / (2.0 * distance(eye[0], eye[3]))
}

/// 0 at or below `zero_at`, 1 at or above `one_at`, linear between. A ratio
/// that is NaN (a zero-length eye or mouth) reads as 0.
fn ramp(value: f32, zero_at: f32, one_at: f32) -> f32 {
    let t = (value - zero_at) / (one_at - zero_at);
    if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) }
}

/// An image-plane displacement.
#[derive(Debug, Clone, Copy)]
struct Vector {
    x: f32,
    y: f32,
}

impl Vector {
    fn dot(self, other: Self) -> f32 {
        self.x * other.x + self.y * other.y
    }
}

impl std::ops::Sub for Vector {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self {
            x: self.x - other.x,
            y: self.y - other.y,
        }
    }
}

fn centre(points: &[PointPx]) -> Vector {
    let n = points.len() as f32;
    Vector {
        x: points.iter().map(|p| p.x).sum::<f32>() / n,
        y: points.iter().map(|p| p.y).sum::<f32>() / n,
    }
}

fn unit(v: Vector) -> Vector {
    let length = v.dot(v).sqrt();
    Vector {
        x: v.x / length,
        y: v.y / length,
    }
}

fn distance(a: PointPx, b: PointPx) -> f32 {
    (a.x - b.x).hypot(a.y - b.y)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::mean_face::MEAN_FACE_MM;
    use super::*;

    /// The mean face seen straight on, 2 px per mm, with `edit` applied in
    /// millimetres (x towards the person's left, y down) before projection.
    fn face(edit: impl Fn(usize, &mut [f64; 3])) -> Vec<PointPx> {
        MEAN_FACE_MM
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut m = *m;
                edit(i, &mut m);
                PointPx {
                    x: (300.0 + 2.0 * m[0]) as f32,
                    y: (200.0 + 2.0 * m[1]) as f32,
                }
            })
            .collect()
    }

    fn at_rest() -> Vec<PointPx> {
        face(|_, _| {})
    }

    fn close(a: f32, b: f32, tolerance: f32) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn the_mean_face_has_open_eyes_a_closed_mouth_and_no_smile() {
        let shape = FaceShape::measure(&at_rest()).expect("shape");
        // Lids 9 mm apart over a 29 mm wide eye: (9 + 9) / (2 · 29).
        assert!(close(shape.right_eye_aspect, 18.0 / 58.0, 1e-5), "{shape:?}");
        assert!(close(shape.left_eye_aspect, 18.0 / 58.0, 1e-5), "{shape:?}");
        assert_eq!(shape.eyes_open, 1.0);
        // Lips 1 mm apart over 50 mm: 0.02, under the 0.05 floor.
        assert_eq!(shape.mouth_open, 0.0);
        // Width 50/90 = 0.556: (0.556 − 0.55) / 0.15 / 2 from the width, no lift.
        assert!(close(shape.smile, (50.0 / 90.0 - 0.55) / 0.15 / 2.0, 1e-4), "{shape:?}");
    }

    #[test]
    fn eyes_read_closed_half_open_and_open() {
        // Each case moves both lids to a gap of `gap_mm` around the eye's
        // mid-line (y = −39.5 mm); the eye is 29 mm wide.
        let cases = [("closed", 1.0, 0.0), ("half open", 0.2 * 29.0, 0.5), ("open", 9.0, 1.0)];
        for (name, gap_mm, want) in cases {
            let points = face(|i, m| match i {
                37 | 38 | 43 | 44 => m[1] = -39.5 - gap_mm / 2.0,
                40 | 41 | 46 | 47 => m[1] = -39.5 + gap_mm / 2.0,
                _ => {}
            });
            let shape = FaceShape::measure(&points).expect(name);
            assert!(close(shape.eyes_open, want, 1e-3), "{name}: {shape:?}");
            assert!(
                close(shape.right_eye_aspect, gap_mm as f32 / 29.0, 1e-4),
                "{name}: {shape:?}"
            );
        }
    }

    #[test]
    fn mouth_reads_closed_and_open() {
        let shut = FaceShape::measure(&at_rest()).expect("closed");
        // The lower lip and jaw drop by 20 mm: a 21 mm gap over 50 mm is 0.42.
        let open = FaceShape::measure(&face(|i, m| {
            if matches!(i, 5..=11 | 55..=59 | 65..=67) {
                m[1] += 20.0;
            }
        }))
        .expect("open");
        assert_eq!(shut.mouth_open, 0.0);
        assert!(close(open.mouth_open, (21.0 / 50.0 - 0.05) / 0.40, 1e-3), "{open:?}");
    }

    #[test]
    fn a_smile_widens_and_lifts_the_corners() {
        // Corners 6 mm further out and 5 mm up: width 62/90, lift 5/62.
        let smiling = face(|i, m| {
            if i == 48 || i == 54 {
                m[0] += 6.0 * m[0].signum();
                m[1] -= 5.0;
            }
        });
        let shape = FaceShape::measure(&smiling).expect("smile");
        let want = ((62.0 / 90.0 - 0.55) / 0.15 + (5.0 / 62.0) / 0.10) / 2.0;
        assert!(close(shape.smile, want, 1e-3), "{shape:?}, want {want}");
        assert!(shape.smile > 0.8);
    }

    #[test]
    fn rejects_wrong_landmark_counts() {
        assert!(matches!(
            FaceShape::measure(&at_rest()[..10]),
            Err(VisionError::InvalidOption(_))
        ));
    }

    proptest! {
        #[test]
        fn invariant_to_scale_translation_and_roll(
            scale in 0.2..5.0_f32, dx in -1000.0..1000.0_f32, dy in -1000.0..1000.0_f32, roll_deg in -40.0..40.0_f32,
            smile_mm in 0.0..6.0_f64, mouth_mm in 0.0..20.0_f64,
        ) {
            let base = face(|i, m| {
                if i == 48 || i == 54 { m[1] -= smile_mm; }
                if matches!(i, 55..=59 | 65..=67) { m[1] += mouth_mm; }
            });
            let (s, c) = roll_deg.to_radians().sin_cos();
            let moved: Vec<PointPx> = base
                .iter()
                .map(|p| PointPx {
                    x: scale * (c * p.x - s * p.y) + dx,
                    y: scale * (s * p.x + c * p.y) + dy,
                })
                .collect();
            let a = FaceShape::measure(&base).expect("base");
            let b = FaceShape::measure(&moved).expect("moved");
            for (name, x, y) in [
                ("right eye", a.right_eye_aspect, b.right_eye_aspect),
                ("left eye", a.left_eye_aspect, b.left_eye_aspect),
                ("eyes open", a.eyes_open, b.eyes_open),
                ("mouth open", a.mouth_open, b.mouth_open),
                ("smile", a.smile, b.smile),
            ] {
                prop_assert!(close(x, y, 2e-3), "{}: {} vs {}", name, x, y);
            }
        }
    }
}
