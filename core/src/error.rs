//! The one error type of parterre-core.

use crate::frame::PixelFormat;

/// Everything that can go wrong in the frame lifecycle and the trait types.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// The frame this lease pointed at is gone: its deadline passed, or it was
    /// released, wiped or overwritten. Its pixels can no longer be read.
    #[error("frame expired: its permanence budget has passed or it was wiped")]
    Expired,

    /// Width or height is zero, or the byte size overflows.
    #[error("invalid frame dimensions {width_px}x{height_px}")]
    InvalidDimensions {
        /// Requested width.
        width_px: u32,
        /// Requested height.
        height_px: u32,
    },

    /// The row stride is shorter than one row of pixels.
    #[error("stride of {stride_bytes} bytes is shorter than a row of {width_px} {format:?} pixels")]
    StrideTooShort {
        /// Given stride.
        stride_bytes: usize,
        /// Frame width.
        width_px: u32,
        /// Pixel format.
        format: PixelFormat,
    },

    /// The source buffer holds fewer bytes than the frame it claims to be.
    #[error("source buffer has {actual_bytes} bytes, a {width_px}x{height_px} {format:?} frame needs {needed_bytes}")]
    BufferTooShort {
        /// Bytes the frame needs.
        needed_bytes: usize,
        /// Bytes the caller gave.
        actual_bytes: usize,
        /// Frame width.
        width_px: u32,
        /// Frame height.
        height_px: u32,
        /// Pixel format.
        format: PixelFormat,
    },

    /// The frame does not fit the pool's buffers, which are allocated once.
    #[error(
        "a frame of {needed_bytes} bytes does not fit the pool's {capacity_bytes}-byte buffers (create the pool for a larger maximum frame)"
    )]
    FrameTooLarge {
        /// Bytes the frame needs.
        needed_bytes: usize,
        /// Bytes each slot holds.
        capacity_bytes: usize,
    },

    /// A pool configuration that cannot work.
    #[error("invalid pool configuration: {0}")]
    InvalidConfig(&'static str),

    /// A frame writer reported a failure; the slot was wiped and nothing kept.
    #[error("the frame source failed while writing: {0}")]
    WriteFailed(String),

    /// An anonymous trait value outside its allowed range, or a wrong version.
    #[error("invalid trait message: {field} {reason}")]
    InvalidTraits {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The watchdog thread could not be started.
    #[error("could not start the frame watchdog thread: {0}")]
    Watchdog(String),

    /// The operating system could not allocate the frame buffer memory.
    #[error("could not allocate {bytes} bytes of frame memory")]
    OutOfMemory {
        /// Bytes requested.
        bytes: usize,
    },
}
