//! The brightness probe: a minimal real analyzer that reads every pixel of
//! the leased frame and keeps only two numbers. It stands in for the vision
//! pipeline in the demo, so the runtime's permanence is measured on real reads.

use parterre_core::{Analyzer, CoreError, Lease, Observation, PixelFormat};

/// Mean luma of each frame, and motion as the change of it between frames.
#[derive(Debug, Default)]
pub struct BrightnessProbe {
    last_luma: Option<f32>,
}

impl BrightnessProbe {
    /// Mean luma (0..255) of the leased frame, by the BT.601 weights.
    pub fn mean_luma(lease: &Lease) -> Result<f32, CoreError> {
        lease.read(|view| {
            let layout = view.layout();
            let bytes_per_pixel = layout.format.bytes_per_pixel();
            let mut sum = 0u64;
            for y in 0..layout.height_px {
                let Some(row) = view.row(y) else { continue };
                for pixel in row.chunks_exact(bytes_per_pixel) {
                    sum += match layout.format {
                        PixelFormat::Gray8 => 1_000 * u64::from(pixel[0]),
                        PixelFormat::Rgb8 | PixelFormat::Rgba8 => {
                            299 * u64::from(pixel[0]) + 587 * u64::from(pixel[1]) + 114 * u64::from(pixel[2])
                        }
                    };
                }
            }
            let pixels = u64::from(layout.width_px) * u64::from(layout.height_px);
            sum as f32 / 1_000.0 / pixels as f32
        })
    }
}

impl Analyzer for BrightnessProbe {
    type Error = CoreError;

    fn analyze(&mut self, lease: &Lease) -> Result<Observation, CoreError> {
        let luma = Self::mean_luma(lease)?;
        // A change of 8 luma levels (about 3 %) between frames counts as full motion.
        let motion = self.last_luma.map_or(0.0, |last| ((luma - last).abs() / 8.0).min(1.0));
        self.last_luma = Some(luma);
        Ok(Observation {
            faces: Vec::new(),
            motion,
            stages: Vec::new(),
            unchanged: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parterre_core::{FrameLayout, FramePool, ManualClock, PoolConfig};

    fn analyze(probe: &mut BrightnessProbe, pool: &FramePool, layout: FrameLayout, src: &[u8]) -> (f32, f32) {
        pool.capture(layout, src).expect("capture");
        let lease = pool.lease_newest().expect("lease");
        let luma = BrightnessProbe::mean_luma(&lease).expect("luma");
        let observation = probe.analyze(&lease).expect("analyze");
        (luma, observation.motion)
    }

    #[test]
    fn luma_and_motion_match_hand_computed_values() {
        let pool = FramePool::new(PoolConfig::default(), ManualClock::new(0)).expect("pool");
        let mut probe = BrightnessProbe::default();
        let rgb = FrameLayout::packed(PixelFormat::Rgb8, 2, 1).expect("layout");
        // Pure red and pure white: (0.299 * 255 + 255) / 2.
        let (luma, motion) = analyze(&mut probe, &pool, rgb, &[255, 0, 0, 255, 255, 255]);
        assert!((luma - 165.6225).abs() < 1e-3, "{luma}");
        assert_eq!(motion, 0.0, "no previous frame");
        let gray = FrameLayout::packed(PixelFormat::Gray8, 2, 1).expect("layout");
        let (luma, motion) = analyze(&mut probe, &pool, gray, &[160, 167]);
        assert_eq!(luma, 163.5);
        assert!((motion - (165.6225 - 163.5) / 8.0).abs() < 1e-3, "{motion}");
    }
}
