//! Frame sources: whatever produces frames writes them straight into a slot of
//! the frame pool, never into a buffer of its own.

use parterre_core::FrameLayout;

use crate::error::NativeError;

/// Something that produces frames: a camera, a file, a synthetic pattern.
pub trait FrameSource: Send {
    /// The layout of the frames it produces.
    fn layout(&self) -> FrameLayout;

    /// The rate it produces frames at, per second.
    fn fps(&self) -> f64;

    /// Whether another frame follows. May read ahead a header, never pixels.
    fn has_next(&mut self) -> Result<bool, NativeError>;

    /// Writes the next frame into `dst`: exactly `layout().len_bytes()` bytes
    /// of a pool slot.
    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError>;
}

/// A synthetic camera: a gradient with a bright disc moving across it. The
/// same frame number always gives the same pixels.
#[derive(Debug)]
pub struct SyntheticCamera {
    layout: FrameLayout,
    fps: f64,
    frame: u64,
    frames_left: Option<u64>,
}

impl SyntheticCamera {
    /// An RGBA camera of the given size and rate; endless unless limited.
    pub fn new(width_px: u32, height_px: u32, fps: f64, frames: Option<u64>) -> Result<Self, NativeError> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 1_000.0) {
            return Err(NativeError::InvalidArgument(format!(
                "fps must be between 0 and 1000, not {fps}"
            )));
        }
        Ok(Self {
            layout: FrameLayout::packed(parterre_core::PixelFormat::Rgba8, width_px, height_px)?,
            fps,
            frame: 0,
            frames_left: frames,
        })
    }

    /// Paints frame number `frame` into `dst`.
    pub fn paint(&self, frame: u64, dst: &mut [u8]) {
        let width = self.layout.width_px as i64;
        let height = self.layout.height_px as i64;
        let radius = (height / 6).max(1);
        // The disc crosses the frame left to right in 120 frames (4 s at 30
        // fps), moving at least a pixel a frame on small frames.
        let centre_x = (frame as i64 * width.max(120) / 120) % width;
        let centre_y = height / 2;
        for (y, row) in dst.chunks_exact_mut(self.layout.stride_bytes).enumerate() {
            let y = y as i64;
            for (x, pixel) in row.chunks_exact_mut(4).enumerate() {
                let x = x as i64;
                let (dx, dy) = (x - centre_x, y - centre_y);
                let in_disc = dx * dx + dy * dy <= radius * radius;
                let shade = ((x * 255) / width.max(1)) as u8;
                let value = if in_disc { 240 } else { shade / 2 + 20 };
                pixel.copy_from_slice(&[value, value.saturating_sub(10), shade / 3 + 30, 255]);
            }
        }
    }
}

impl FrameSource for SyntheticCamera {
    fn layout(&self) -> FrameLayout {
        self.layout
    }

    fn fps(&self) -> f64 {
        self.fps
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        Ok(self.frames_left.is_none_or(|left| left > 0))
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        if let Some(left) = self.frames_left.as_mut() {
            *left = left.saturating_sub(1);
        }
        self.paint(self.frame, dst);
        self.frame += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_frames_move_and_end() {
        let mut camera = SyntheticCamera::new(64, 48, 30.0, Some(2)).expect("camera");
        let len = camera.layout().len_bytes();
        let (mut first, mut second) = (vec![0; len], vec![0; len]);
        for frame in [&mut first, &mut second] {
            assert!(camera.has_next().expect("more"));
            camera.write_next(frame).expect("frame");
        }
        assert!(!camera.has_next().expect("end"));
        assert!(first != second, "the disc moves");
        // Frame 0: the disc is centred at x = 0, y = 24; its centre pixel is bright.
        let centre = (24 * 64) * 4;
        assert_eq!(first[centre], 240);
        // Far from the disc, the gradient: x = 63 gives shade 251.
        let right = (24 * 64 + 63) * 4;
        assert_eq!(first[right], 251 / 2 + 20);
    }

    #[test]
    fn impossible_rates_are_refused() {
        assert!(SyntheticCamera::new(64, 48, 0.0, None).is_err());
        assert!(SyntheticCamera::new(64, 48, f64::NAN, None).is_err());
        assert!(SyntheticCamera::new(0, 48, 30.0, None).is_err());
    }
}
