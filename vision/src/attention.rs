//! Attention to the screen, 0..1, from one face: the head turned towards
//! the screen within a cone, and the eyes open.
//!
//! Inside the cone the head counts fully; past it, the score falls linearly
//! to 0 over `falloff_deg`, so a viewer glancing at a second monitor lowers
//! attention smoothly rather than flipping it. The cone is configurable
//! because a laptop camera sits close to the screen while a webcam on a
//! large monitor sees a viewer who looks at the screen's corner at an angle.
//! The analyzer smooths the result over time.

use parterre_core::traits::HeadPose;

/// The cone of head orientations that count as looking at the screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionConfig {
    /// Half-width of the cone left and right.
    pub yaw_deg: f32,
    /// Half-height of the cone up and down.
    pub pitch_deg: f32,
    /// Beyond the cone, the score reaches 0 after this many more degrees.
    pub falloff_deg: f32,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        Self {
            yaw_deg: 25.0,
            pitch_deg: 20.0,
            falloff_deg: 15.0,
        }
    }
}

/// How much `angle_deg` lies inside a cone of half-width `cone_deg`.
fn inside(angle_deg: f32, cone_deg: f32, falloff_deg: f32) -> f32 {
    let past_deg = angle_deg.abs() - cone_deg;
    if past_deg <= 0.0 {
        1.0
    } else if falloff_deg <= 0.0 {
        0.0
    } else {
        (1.0 - past_deg / falloff_deg).max(0.0)
    }
}

/// The attention of one face in one frame.
pub fn attention(pose: &HeadPose, eyes_open: f32, config: &AttentionConfig) -> f32 {
    let yaw = inside(pose.yaw_deg, config.yaw_deg, config.falloff_deg);
    let pitch = inside(pose.pitch_deg, config.pitch_deg, config.falloff_deg);
    let score = yaw * pitch * eyes_open.clamp(0.0, 1.0);
    if score.is_finite() { score } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pose(yaw_deg: f32, pitch_deg: f32) -> HeadPose {
        HeadPose {
            yaw_deg,
            pitch_deg,
            roll_deg: 0.0,
        }
    }

    #[test]
    fn cases() {
        let config = AttentionConfig::default();
        let cases = [
            // (yaw, pitch, eyes open, expected)
            (0.0, 0.0, 1.0, 1.0),
            (-25.0, 20.0, 1.0, 1.0), // the cone's corner
            (32.5, 0.0, 1.0, 0.5),   // half-way through the falloff
            (0.0, -27.5, 1.0, 0.5),
            (-45.0, 0.0, 1.0, 0.0), // looking away
            (0.0, 0.0, 0.0, 0.0),   // eyes closed
            (0.0, 0.0, 0.5, 0.5),   // half closed
            (32.5, 27.5, 1.0, 0.25),
            (f32::NAN, 0.0, 1.0, 0.0),
        ];
        for (yaw, pitch, eyes, expected) in cases {
            let got = attention(&pose(yaw, pitch), eyes, &config);
            assert!(
                (got - expected).abs() < 1e-6,
                "yaw {yaw} pitch {pitch} eyes {eyes}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn a_cone_without_falloff_is_sharp() {
        let config = AttentionConfig {
            falloff_deg: 0.0,
            ..AttentionConfig::default()
        };
        assert_eq!(attention(&pose(25.0, 0.0), 1.0, &config), 1.0);
        assert_eq!(attention(&pose(25.1, 0.0), 1.0, &config), 0.0);
    }
}
