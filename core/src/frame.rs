//! The frame buffer: pixels in one allocation, made once and written over by
//! every next frame. Not `Clone`, not `Serialize`; its `Debug` prints no pixel.

use std::fmt;

use crate::error::CoreError;
use crate::memory::{MemoryProtection, VolatileRegion, wipe};

/// How pixels are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 4 bytes a pixel: red, green, blue, alpha (what browsers hand over).
    Rgba8,
    /// 3 bytes a pixel: red, green, blue.
    Rgb8,
    /// 1 byte a pixel: luma.
    Gray8,
}

impl PixelFormat {
    /// Bytes one pixel takes.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Rgba8 => 4,
            Self::Rgb8 => 3,
            Self::Gray8 => 1,
        }
    }
}

/// The shape of a frame: format, size and row stride.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLayout {
    /// Pixel format.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width_px: u32,
    /// Height in pixels.
    pub height_px: u32,
    /// Bytes from the start of one row to the start of the next.
    pub stride_bytes: usize,
}

impl FrameLayout {
    /// A layout whose rows follow each other with no padding.
    pub fn packed(format: PixelFormat, width_px: u32, height_px: u32) -> Result<Self, CoreError> {
        let stride_bytes = (width_px as usize)
            .checked_mul(format.bytes_per_pixel())
            .ok_or(CoreError::InvalidDimensions { width_px, height_px })?;
        Self::strided(format, width_px, height_px, stride_bytes)
    }

    /// A layout with padded rows, as cameras and decoders often deliver them.
    pub fn strided(format: PixelFormat, width_px: u32, height_px: u32, stride_bytes: usize) -> Result<Self, CoreError> {
        let layout = Self {
            format,
            width_px,
            height_px,
            stride_bytes,
        };
        if width_px == 0 || height_px == 0 {
            return Err(CoreError::InvalidDimensions { width_px, height_px });
        }
        let row_bytes = (width_px as usize).checked_mul(format.bytes_per_pixel());
        match row_bytes {
            Some(row) if stride_bytes >= row => {}
            Some(_) => {
                return Err(CoreError::StrideTooShort {
                    stride_bytes,
                    width_px,
                    format,
                });
            }
            None => {
                return Err(CoreError::InvalidDimensions { width_px, height_px });
            }
        }
        layout
            .checked_len_bytes()
            .ok_or(CoreError::InvalidDimensions { width_px, height_px })?;
        Ok(layout)
    }

    /// Bytes of pixel data in one row (without padding).
    pub fn row_bytes(&self) -> usize {
        self.width_px as usize * self.format.bytes_per_pixel()
    }

    /// Bytes the frame spans: every row at its stride, the last one unpadded.
    pub fn len_bytes(&self) -> usize {
        // Validated at construction.
        self.checked_len_bytes().unwrap_or(usize::MAX)
    }

    fn checked_len_bytes(&self) -> Option<usize> {
        self.stride_bytes
            .checked_mul(self.height_px as usize - 1)?
            .checked_add(self.row_bytes())
    }

    /// Checks that `src` holds a whole frame of this layout.
    pub fn check_source(&self, src: &[u8]) -> Result<(), CoreError> {
        let needed_bytes = self.len_bytes();
        if src.len() < needed_bytes {
            return Err(CoreError::BufferTooShort {
                needed_bytes,
                actual_bytes: src.len(),
                width_px: self.width_px,
                height_px: self.height_px,
                format: self.format,
            });
        }
        Ok(())
    }

    /// The same frame with rows packed together.
    pub fn to_packed(&self) -> Self {
        Self {
            stride_bytes: self.row_bytes(),
            ..*self
        }
    }
}

/// Read access to a frame's pixels, borrowed for the length of one read.
pub struct FrameView<'a> {
    layout: FrameLayout,
    pixels: &'a [u8],
}

impl<'a> FrameView<'a> {
    /// Format, size and stride.
    pub fn layout(&self) -> FrameLayout {
        self.layout
    }

    /// All pixel bytes, rows `stride_bytes` apart.
    pub fn pixels(&self) -> &'a [u8] {
        self.pixels
    }

    /// One row's pixel bytes, without padding.
    pub fn row(&self, y: u32) -> Option<&'a [u8]> {
        if y >= self.layout.height_px {
            return None;
        }
        let start = y as usize * self.layout.stride_bytes;
        self.pixels.get(start..start + self.layout.row_bytes())
    }
}

impl fmt::Debug for FrameView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameView")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// Pixels of at most one frame, in memory allocated once, locked where the OS
/// allows, and wiped whenever the frame's life ends.
pub struct FrameBuffer {
    region: VolatileRegion,
    layout: Option<FrameLayout>,
    /// Bytes from the start that may be non-zero: what a wipe must cover.
    dirty_bytes: usize,
}

impl FrameBuffer {
    /// A buffer able to hold any frame of up to `capacity_bytes`.
    pub fn with_capacity(capacity_bytes: usize) -> Result<Self, CoreError> {
        Ok(Self {
            region: VolatileRegion::new(capacity_bytes)?,
            layout: None,
            dirty_bytes: 0,
        })
    }

    /// Bytes the buffer can hold.
    pub fn capacity_bytes(&self) -> usize {
        self.region.len()
    }

    /// What the OS agreed to for this buffer's memory.
    pub fn protection(&self) -> &MemoryProtection {
        self.region.protection()
    }

    /// The layout of the frame it holds, if it holds one.
    pub fn layout(&self) -> Option<FrameLayout> {
        self.layout
    }

    /// Copies a frame in from `src` (laid out as `src_layout`), stored packed,
    /// over the wiped remains of the previous one.
    pub fn write_from(&mut self, src_layout: FrameLayout, src: &[u8]) -> Result<(), CoreError> {
        src_layout.check_source(src)?;
        let packed = src_layout.to_packed();
        let row_bytes = packed.row_bytes();
        self.write_with(packed, |dst| {
            if src_layout.stride_bytes == row_bytes {
                dst.copy_from_slice(&src[..dst.len()]);
            } else {
                for (dst_row, src_row) in dst.chunks_exact_mut(row_bytes).zip(src.chunks(src_layout.stride_bytes)) {
                    dst_row.copy_from_slice(&src_row[..row_bytes]);
                }
            }
            Ok::<(), std::convert::Infallible>(())
        })
    }

    /// Lets `writer` fill the frame's bytes in place (a decoder or the
    /// browser's `VideoFrame.copyTo` writes straight into the buffer). If it
    /// fails, the buffer is wiped and holds no frame.
    pub fn write_with<E: fmt::Display>(
        &mut self,
        layout: FrameLayout,
        writer: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(), CoreError> {
        let len_bytes = layout.len_bytes();
        let capacity_bytes = self.capacity_bytes();
        if len_bytes > capacity_bytes {
            return Err(CoreError::FrameTooLarge {
                needed_bytes: len_bytes,
                capacity_bytes,
            });
        }
        // The writer gets zeroed bytes: a writer that fills less than the
        // whole frame can never pass the previous frame's pixels off as its own.
        // (The pool has already wiped the slot; then this costs nothing.)
        self.wipe();
        self.dirty_bytes = len_bytes;
        if let Err(error) = writer(&mut self.region.as_mut_slice()[..len_bytes]) {
            self.wipe();
            return Err(CoreError::WriteFailed(error.to_string()));
        }
        self.layout = Some(layout);
        Ok(())
    }

    /// The frame, if the buffer holds one.
    pub fn view(&self) -> Option<FrameView<'_>> {
        let layout = self.layout?;
        Some(FrameView {
            layout,
            pixels: &self.region.as_slice()[..layout.len_bytes()],
        })
    }

    /// Zeroes every byte a frame may have touched; the buffer then holds no frame.
    pub fn wipe(&mut self) {
        let dirty_bytes = self.dirty_bytes;
        wipe(&mut self.region.as_mut_slice()[..dirty_bytes]);
        self.dirty_bytes = 0;
        self.layout = None;
    }

    /// Counts non-zero bytes outside the frame it holds (all of them when it
    /// holds none): what a leak check looks for. Scans the whole allocation.
    pub fn residue_bytes(&self) -> usize {
        let live_bytes = self.layout.map_or(0, |layout| layout.len_bytes());
        self.region.as_slice()[live_bytes..].iter().filter(|&&b| b != 0).count()
    }

    /// Skips the wipe, for the negative controls that show the leak checks
    /// catch a buffer that was not wiped.
    #[cfg(any(test, feature = "negative-control"))]
    pub(crate) fn forget_frame_without_wipe(&mut self) {
        self.layout = None;
    }
}

impl fmt::Debug for FrameBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameBuffer")
            .field("capacity_bytes", &self.capacity_bytes())
            .field("layout", &self.layout)
            .field("protection", self.protection())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 + 1).collect()
    }

    #[test]
    fn layouts_reject_bad_shapes() {
        assert!(matches!(
            FrameLayout::packed(PixelFormat::Rgb8, 0, 4),
            Err(CoreError::InvalidDimensions { .. })
        ));
        assert!(matches!(
            FrameLayout::strided(PixelFormat::Rgba8, 4, 4, 15),
            Err(CoreError::StrideTooShort { .. })
        ));
        assert!(matches!(
            FrameLayout::packed(PixelFormat::Rgba8, u32::MAX, u32::MAX),
            Err(CoreError::InvalidDimensions { .. })
        ));
        let layout = FrameLayout::strided(PixelFormat::Rgb8, 3, 2, 12).expect("valid");
        assert_eq!(layout.row_bytes(), 9);
        assert_eq!(layout.len_bytes(), 21);
    }

    #[test]
    fn write_copies_strided_rows_packed() {
        let mut buffer = FrameBuffer::with_capacity(64).expect("alloc");
        let src_layout = FrameLayout::strided(PixelFormat::Gray8, 3, 2, 5).expect("valid");
        buffer
            .write_from(src_layout, &[1, 2, 3, 99, 99, 4, 5, 6])
            .expect("write");
        let view = buffer.view().expect("frame");
        assert_eq!(view.pixels(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(view.row(1), Some(&[4, 5, 6][..]));
        assert_eq!(view.row(2), None);
    }

    #[test]
    fn short_source_is_an_error_and_keeps_nothing() {
        let mut buffer = FrameBuffer::with_capacity(64).expect("alloc");
        let layout = FrameLayout::packed(PixelFormat::Rgb8, 4, 4).expect("valid");
        let error = buffer.write_from(layout, &[7; 10]).expect_err("too short");
        assert!(matches!(
            error,
            CoreError::BufferTooShort {
                needed_bytes: 48,
                actual_bytes: 10,
                ..
            }
        ));
        assert!(buffer.view().is_none());
        assert_eq!(buffer.residue_bytes(), 0);
    }

    #[test]
    fn too_large_frame_is_refused() {
        let mut buffer = FrameBuffer::with_capacity(16).expect("alloc");
        let layout = FrameLayout::packed(PixelFormat::Rgba8, 1000, 1000).expect("valid");
        let error = buffer.write_from(layout, &vec![1; 4_000_000]).expect_err("too large");
        assert!(matches!(error, CoreError::FrameTooLarge { .. }));
    }

    #[test]
    fn failed_writer_leaves_the_buffer_wiped() {
        let mut buffer = FrameBuffer::with_capacity(64).expect("alloc");
        let layout = FrameLayout::packed(PixelFormat::Gray8, 8, 8).expect("valid");
        let error = buffer
            .write_with(layout, |dst| {
                dst[..10].fill(9);
                Err("camera unplugged")
            })
            .expect_err("writer failed");
        assert_eq!(error, CoreError::WriteFailed("camera unplugged".into()));
        assert!(buffer.view().is_none());
        assert_eq!(buffer.residue_bytes(), 0);
    }

    #[test]
    fn a_smaller_next_frame_leaves_no_residue_of_the_larger_one() {
        let mut buffer = FrameBuffer::with_capacity(4096).expect("alloc");
        let big = FrameLayout::packed(PixelFormat::Rgba8, 16, 16).expect("valid");
        buffer.write_from(big, &pattern(1024)).expect("write");
        let small = FrameLayout::packed(PixelFormat::Gray8, 4, 4).expect("valid");
        buffer.write_from(small, &pattern(16)).expect("write");
        assert_eq!(buffer.view().expect("frame").pixels(), &pattern(16)[..]);
        assert_eq!(buffer.residue_bytes(), 0);
    }

    #[test]
    fn a_lazy_writer_cannot_pass_old_pixels_off_as_new() {
        let mut buffer = FrameBuffer::with_capacity(64).expect("alloc");
        let layout = FrameLayout::packed(PixelFormat::Gray8, 8, 8).expect("valid");
        buffer.write_from(layout, &pattern(64)).expect("write");
        buffer
            .write_with(layout, |_untouched| Ok::<(), String>(()))
            .expect("write");
        assert!(buffer.view().expect("frame").pixels().iter().all(|&b| b == 0));
    }

    #[test]
    fn wipe_leaves_no_residue_and_the_check_sees_an_unwiped_buffer() {
        let layout = FrameLayout::packed(PixelFormat::Rgb8, 10, 10).expect("valid");
        let mut buffer = FrameBuffer::with_capacity(300).expect("alloc");
        buffer.write_from(layout, &pattern(300)).expect("write");
        buffer.wipe();
        assert_eq!(buffer.residue_bytes(), 0);

        // Negative control: the same check must see pixels that were not wiped.
        buffer.write_from(layout, &pattern(300)).expect("write");
        buffer.forget_frame_without_wipe();
        assert_eq!(buffer.residue_bytes(), 300);
    }

    #[test]
    fn debug_prints_no_pixels() {
        let mut buffer = FrameBuffer::with_capacity(64).expect("alloc");
        let layout = FrameLayout::packed(PixelFormat::Gray8, 8, 8).expect("valid");
        buffer.write_from(layout, &[0xAB; 64]).expect("write");
        let printed = format!("{buffer:?} {:?}", buffer.view().expect("frame"));
        assert!(printed.contains("width_px: 8"), "{printed}");
        assert!(!printed.contains("171") && !printed.contains("AB"), "{printed}");
    }

    static_assertions::assert_not_impl_any!(FrameBuffer: Clone, serde::Serialize);
    static_assertions::assert_not_impl_any!(FrameView<'static>: Clone, serde::Serialize);
}
