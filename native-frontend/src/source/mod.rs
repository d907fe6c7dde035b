//! Frame sources: whatever produces frames writes them straight into a slot of
//! the frame pool, never into a buffer of its own.
//!
//! Every file and camera source produces packed RGB8 (what the vision nets
//! take); the synthetic camera produces RGBA8. Where a scratch buffer cannot be
//! avoided (compressed file bytes, YUV planes, a decoder's own output) it is a
//! `Zeroizing` buffer, wiped when dropped, and lives for one frame only.
//! `open_source` picks a source from a path or a device name.

#[cfg(target_os = "linux")]
pub mod camera;
pub mod ffmpeg;
pub mod image;
mod open;
pub mod y4m;
mod yuv;

use parterre_core::FrameLayout;

use crate::error::NativeError;

pub use open::{SourceOptions, open_source, open_source_with};
pub use yuv::ColorRange;

/// The longest side any file source accepts: a pool slot is sized for the
/// largest frame, so a bigger picture is refused (downscale it first) rather
/// than making every slot huge. 4096 covers 4K video.
pub const MAX_FRAME_SIDE_PX: u32 = 4096;

/// Something that produces frames: a camera, a file, a synthetic pattern.
///
/// The calling order is `has_next`, then (when it said true) `layout` and
/// `write_next`. Frames may change size from one to the next (a folder of
/// pictures of different sizes), so `layout` describes the *next* frame and
/// is only meaningful after `has_next` returned true; `max_layout` bounds
/// every frame and is what the pool's slots are sized to.
pub trait FrameSource: Send {
    /// The layout of the next frame, valid after `has_next` returned true.
    fn layout(&self) -> FrameLayout;

    /// A layout at least as large (in bytes) as any frame this source will
    /// produce: the pool's slot size. The same as `layout` for fixed-size sources.
    fn max_layout(&self) -> FrameLayout {
        self.layout()
    }

    /// The rate it produces frames at, per second.
    fn fps(&self) -> f64;

    /// Whether another frame follows. May read ahead a header, never pixels.
    fn has_next(&mut self) -> Result<bool, NativeError>;

    /// Writes the next frame into `dst`: exactly `layout().len_bytes()` bytes
    /// of a pool slot. On error `dst` may hold part of a frame; the pool wipes it.
    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError>;

    /// What the frames come from: a file, a device; for a folder of pictures,
    /// the file of the frame written last. For reports ("source").
    fn name(&self) -> String;

    /// The 0-based index of the frame written last; `None` before the first.
    /// For reports ("frame").
    fn frame_index(&self) -> Option<u64>;
}

/// What `open_source` returns runs wherever a concrete source does.
impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn layout(&self) -> FrameLayout {
        (**self).layout()
    }

    fn max_layout(&self) -> FrameLayout {
        (**self).max_layout()
    }

    fn fps(&self) -> f64 {
        (**self).fps()
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        (**self).has_next()
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        (**self).write_next(dst)
    }

    fn name(&self) -> String {
        (**self).name()
    }

    fn frame_index(&self) -> Option<u64> {
        (**self).frame_index()
    }
}

/// Refuses a destination that does not have exactly the frame's size: a
/// shorter one would leave a decoder writing out of bounds of the frame, a
/// longer one would leave bytes of the slot unexplained.
fn check_dst(layout: &FrameLayout, dst: &[u8]) -> Result<(), NativeError> {
    if dst.len() == layout.len_bytes() {
        Ok(())
    } else {
        Err(NativeError::Source(format!(
            "a {}x{} frame needs {} bytes, the slot gave {}",
            layout.width_px,
            layout.height_px,
            layout.len_bytes(),
            dst.len()
        )))
    }
}

/// Checks a frame size read from a file: not empty, not beyond the limit.
fn check_frame_size(name: &str, width_px: u32, height_px: u32) -> Result<FrameLayout, NativeError> {
    if width_px == 0 || height_px == 0 {
        return Err(NativeError::Decode {
            name: name.to_owned(),
            reason: format!("zero-size frame ({width_px}x{height_px})"),
        });
    }
    if width_px > MAX_FRAME_SIDE_PX || height_px > MAX_FRAME_SIDE_PX {
        return Err(NativeError::Decode {
            name: name.to_owned(),
            reason: format!("{width_px}x{height_px} is larger than {MAX_FRAME_SIDE_PX} px a side: downscale it first"),
        });
    }
    Ok(FrameLayout::packed(
        parterre_core::PixelFormat::Rgb8,
        width_px,
        height_px,
    )?)
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

/// The name `open_source` gives the synthetic camera.
pub const SYNTHETIC_NAME: &str = "synthetic";

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

    fn name(&self) -> String {
        SYNTHETIC_NAME.to_owned()
    }

    fn frame_index(&self) -> Option<u64> {
        self.frame.checked_sub(1)
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
        assert_eq!(camera.frame_index(), Some(1));
        assert!(first != second, "the disc moves");
        // Frame 0: the disc is centred at x = 0, y = 24; its centre pixel is bright.
        let centre = (24 * 64) * 4;
        assert_eq!(first[centre], 240);
        // Far from the disc, the gradient: x = 63 gives shade 251.
        let right = (24 * 64 + 63) * 4;
        assert_eq!(first[right], 251 / 2 + 20);
    }

    #[test]
    fn destinations_of_the_wrong_size_are_refused() {
        let layout = FrameLayout::packed(parterre_core::PixelFormat::Rgb8, 4, 2).expect("layout");
        assert!(check_dst(&layout, &[0; 24]).is_ok());
        assert!(check_dst(&layout, &[0; 23]).is_err());
        assert!(check_dst(&layout, &[0; 25]).is_err());
    }

    #[test]
    fn frame_sizes_are_bounded() {
        assert!(check_frame_size("f", 0, 10).is_err());
        assert!(check_frame_size("f", 10, 0).is_err());
        assert!(check_frame_size("f", MAX_FRAME_SIDE_PX + 1, 10).is_err());
        let layout = check_frame_size("f", MAX_FRAME_SIDE_PX, 2).expect("at the limit");
        assert_eq!(layout.len_bytes(), MAX_FRAME_SIDE_PX as usize * 2 * 3);
    }

    #[test]
    fn impossible_rates_are_refused() {
        assert!(SyntheticCamera::new(64, 48, 0.0, None).is_err());
        assert!(SyntheticCamera::new(64, 48, f64::NAN, None).is_err());
        assert!(SyntheticCamera::new(0, 48, 30.0, None).is_err());
    }
}
