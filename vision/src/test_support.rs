//! Helpers the unit tests of several modules share.

use candle_core::Tensor;
use parterre_core::{FrameBuffer, FrameLayout, PixelFormat};

/// Largest absolute difference between two tensors of one shape.
pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("diff")
}

/// A gray frame holding `pixels`, row by row.
pub(crate) fn gray_frame(width: u32, height: u32, pixels: &[u8]) -> FrameBuffer {
    let layout = FrameLayout::packed(PixelFormat::Gray8, width, height).expect("layout");
    let mut buffer = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
    buffer.write_from(layout, pixels).expect("write");
    buffer
}
