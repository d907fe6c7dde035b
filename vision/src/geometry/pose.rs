//! Head pose (yaw, pitch, roll) from the 68 landmarks: the 3D mean face is
//! fitted to the points through a pinhole camera that stands for a typical
//! webcam, and the fitted rotation is split into three angles.
//!
//! Sign convention (the person's own left and right; the image is unmirrored):
//! - yaw > 0: the head turns to the person's right, the nose moving towards
//!   the image's left edge; yaw < 0: turned to their left.
//! - pitch > 0: chin up, the nose moving up in the image; pitch < 0: nodding
//!   down.
//! - roll > 0: the head tilts towards the person's right shoulder, so the face
//!   turns anticlockwise on screen and the eye on the image's left sinks;
//!   roll < 0: towards the left shoulder. This is the sign of face-api's roll.
//!
//! Decomposition: camera point = Ry(yaw) · Rx(−pitch) · Rz(−roll) · model
//! point + t, with the camera's axes (x right, y down, z forward) and the
//! model's axes (see `mean_face`) coinciding for a frontal face. Yaw turns
//! about the camera's vertical axis last, so it reads as the turn of the neck;
//! roll is the tilt within the face's own plane, what the eye line shows.

use parterre_core::PointPx;
use parterre_core::traits::HeadPose;

use super::mean_face::{MEAN_FACE_MM, POSE_LANDMARKS};
use super::pnp::{Camera, Mat3, solve};
use super::validate;
use crate::VisionError;

/// The head's yaw, pitch and roll in degrees (see the module doc for the
/// signs) from the 68 landmarks of one face in a frame of the given size.
///
/// The camera is assumed to be a typical webcam: a focal length equal to the
/// frame's width in pixels (a horizontal field of view of about 53°, what
/// laptop cameras have) and the principal point at the frame's centre. A
/// wrong focal length mostly changes the fitted distance, little the angles.
///
/// Yaw and pitch are clamped to ±90° (a face turned further shows no
/// landmarks); roll spans ±180°. Deterministic: the same points give the
/// same angles, bit for bit.
pub fn head_pose(landmarks_px: &[PointPx], frame_width_px: u32, frame_height_px: u32) -> Result<HeadPose, VisionError> {
    validate(landmarks_px)?;
    if frame_width_px == 0 || frame_height_px == 0 {
        return Err(VisionError::InvalidOption(format!(
            "head pose needs a frame size, got {frame_width_px}x{frame_height_px} px"
        )));
    }
    let camera = webcam(frame_width_px, frame_height_px);
    let model_mm = POSE_LANDMARKS.map(|i| MEAN_FACE_MM[i]);
    let image_px = POSE_LANDMARKS.map(|i| [f64::from(landmarks_px[i].x), f64::from(landmarks_px[i].y)]);
    let pose = solve(&camera, &model_mm, &image_px).ok_or_else(|| {
        VisionError::InvalidOption("degenerate landmarks: no head pose maps the mean face onto them".into())
    })?;
    Ok(angles(&pose.rotation))
}

/// The assumed webcam (see [`head_pose`]).
fn webcam(frame_width_px: u32, frame_height_px: u32) -> Camera {
    Camera {
        focal_px: f64::from(frame_width_px),
        centre_px: [f64::from(frame_width_px) / 2.0, f64::from(frame_height_px) / 2.0],
    }
}

/// Splits R = Ry(yaw) · Rx(−pitch) · Rz(−roll) into its angles.
fn angles(r: &Mat3) -> HeadPose {
    // Row 1 of Ry(θ)·Rx(φ)·Rz(ψ) is (cos φ sin ψ, cos φ cos ψ, −sin φ); its
    // column 2 is (sin θ cos φ, −sin φ, cos θ cos φ).
    let x_angle = (-r[1][2]).clamp(-1.0, 1.0).asin();
    let y_angle = r[0][2].atan2(r[2][2]);
    let z_angle = r[1][0].atan2(r[1][1]);
    HeadPose {
        yaw_deg: y_angle.to_degrees().clamp(-90.0, 90.0) as f32,
        pitch_deg: (-x_angle.to_degrees()) as f32,
        roll_deg: (-z_angle.to_degrees()) as f32,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::pnp::{RigidPose, mat_mul, rodrigues};
    use super::*;

    const WIDTH_PX: u32 = 640;
    const HEIGHT_PX: u32 = 480;

    /// The mean face turned by known angles (composed from single-axis
    /// rotations, independently of `angles`), placed `translation_mm` from
    /// the camera and projected, plus a per-point offset.
    fn synthetic(
        yaw_deg: f64,
        pitch_deg: f64,
        roll_deg: f64,
        translation_mm: [f64; 3],
        noise_px: &[f64],
    ) -> Vec<PointPx> {
        let rotation = mat_mul(
            &rodrigues([0.0, yaw_deg.to_radians(), 0.0]),
            &mat_mul(
                &rodrigues([-pitch_deg.to_radians(), 0.0, 0.0]),
                &rodrigues([0.0, 0.0, -roll_deg.to_radians()]),
            ),
        );
        let pose = RigidPose {
            rotation,
            translation: translation_mm,
        };
        let camera = webcam(WIDTH_PX, HEIGHT_PX);
        MEAN_FACE_MM
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let [x, y] = camera.project(pose.apply(*m));
                let (dx, dy) = (
                    noise_px.get(2 * i).unwrap_or(&0.0),
                    noise_px.get(2 * i + 1).unwrap_or(&0.0),
                );
                PointPx {
                    x: (x + dx) as f32,
                    y: (y + dy) as f32,
                }
            })
            .collect()
    }

    fn assert_pose(got: &HeadPose, want: [f64; 3], tolerance_deg: f64, name: &str) {
        let got_deg = [got.yaw_deg, got.pitch_deg, got.roll_deg].map(f64::from);
        for (axis, (g, w)) in ["yaw", "pitch", "roll"].iter().zip(got_deg.iter().zip(want)) {
            assert!(
                (g - w).abs() <= tolerance_deg,
                "{name}: {axis} {g:.3}° instead of {w}° ({got:?})"
            );
        }
    }

    const CENTRED: [f64; 3] = [0.0, 0.0, 600.0];

    #[test]
    fn recovers_named_poses() {
        let cases: [(&str, [f64; 3], [f64; 3]); 8] = [
            ("frontal", [0.0, 0.0, 0.0], CENTRED),
            ("yaw 30 only", [30.0, 0.0, 0.0], CENTRED),
            ("yaw -30 only", [-30.0, 0.0, 0.0], CENTRED),
            ("pitch -20 only", [0.0, -20.0, 0.0], CENTRED),
            ("roll 15 only", [0.0, 0.0, 15.0], CENTRED),
            ("combined", [25.0, -15.0, 10.0], CENTRED),
            ("combined, other way", [-35.0, 20.0, -25.0], CENTRED),
            ("frontal in the frame's corner", [0.0, 0.0, 0.0], [-180.0, 120.0, 700.0]),
        ];
        for (name, angles_deg, translation_mm) in cases {
            let [yaw, pitch, roll] = angles_deg;
            let points = synthetic(yaw, pitch, roll, translation_mm, &[]);
            let pose = head_pose(&points, WIDTH_PX, HEIGHT_PX).expect(name);
            assert_pose(&pose, angles_deg, 2.0, name);
        }
    }

    #[test]
    fn signs_follow_the_image_cues() {
        let eye_line_mid_x = |p: &[PointPx]| (p[36].x + p[45].x) / 2.0;
        // Turned to the person's right: the nose tip lies left of the middle of the eyes.
        let right = synthetic(20.0, 0.0, 0.0, CENTRED, &[]);
        assert!(right[30].x < eye_line_mid_x(&right));
        assert!(head_pose(&right, WIDTH_PX, HEIGHT_PX).expect("yaw").yaw_deg > 10.0);
        // Chin up: the nose tip rises towards the eyes compared with a frontal face.
        let frontal = synthetic(0.0, 0.0, 0.0, CENTRED, &[]);
        let up = synthetic(0.0, 15.0, 0.0, CENTRED, &[]);
        let nose_below_eyes = |p: &[PointPx]| (p[30].y - p[36].y) / (p[45].x - p[36].x);
        assert!(nose_below_eyes(&up) < nose_below_eyes(&frontal));
        assert!(head_pose(&up, WIDTH_PX, HEIGHT_PX).expect("pitch").pitch_deg > 10.0);
        // Tilted to the right shoulder: the eye on the image's left sinks.
        let tilted = synthetic(0.0, 0.0, 15.0, CENTRED, &[]);
        assert!(tilted[36].y > tilted[45].y);
        assert!(head_pose(&tilted, WIDTH_PX, HEIGHT_PX).expect("roll").roll_deg > 10.0);
    }

    #[test]
    fn rejects_a_frame_without_size_and_is_deterministic() {
        let points = synthetic(12.0, -7.0, 3.0, CENTRED, &[]);
        assert!(matches!(
            head_pose(&points, 0, HEIGHT_PX),
            Err(VisionError::InvalidOption(_))
        ));
        assert!(matches!(
            head_pose(&points[..60], WIDTH_PX, HEIGHT_PX),
            Err(VisionError::InvalidOption(_))
        ));
        let all_equal = vec![PointPx { x: 3.0, y: 3.0 }; 68];
        assert!(matches!(
            head_pose(&all_equal, WIDTH_PX, HEIGHT_PX),
            Err(VisionError::InvalidOption(_))
        ));
        // Spread out, but on one line: no rotation of a 3D face projects so.
        let on_a_line: Vec<PointPx> = (0..68)
            .map(|i| PointPx {
                x: 100.0 + i as f32,
                y: 50.0,
            })
            .collect();
        match head_pose(&on_a_line, WIDTH_PX, HEIGHT_PX) {
            Err(VisionError::InvalidOption(message)) => assert!(message.contains("degenerate"), "{message}"),
            other => panic!("a line of points gave {other:?}"),
        }
        let first = head_pose(&points, WIDTH_PX, HEIGHT_PX).expect("pose");
        let second = head_pose(&points, WIDTH_PX, HEIGHT_PX).expect("pose");
        assert_eq!(first, second);
    }

    proptest! {
        #[test]
        fn recovers_any_pose_exactly(
            yaw in -40.0..40.0_f64, pitch in -40.0..40.0_f64, roll in -40.0..40.0_f64,
            x in -150.0..150.0_f64, y in -100.0..100.0_f64, z in 400.0..1200.0_f64,
        ) {
            let points = synthetic(yaw, pitch, roll, [x, y, z], &[]);
            let pose = head_pose(&points, WIDTH_PX, HEIGHT_PX).expect("pose");
            assert_pose(&pose, [yaw, pitch, roll], 2.0, "exact");
        }

        #[test]
        fn recovers_any_pose_under_one_pixel_of_noise(
            yaw in -40.0..40.0_f64, pitch in -40.0..40.0_f64, roll in -40.0..40.0_f64,
            x in -100.0..100.0_f64, y in -80.0..80.0_f64, z in 400.0..800.0_f64,
            noise in proptest::collection::vec(-1.0..1.0_f64, 2 * 68),
        ) {
            let points = synthetic(yaw, pitch, roll, [x, y, z], &noise);
            let pose = head_pose(&points, WIDTH_PX, HEIGHT_PX).expect("pose");
            assert_pose(&pose, [yaw, pitch, roll], 5.0, "noisy");
        }
    }
}
