//! parterre-benches: criterion latency benchmarks, one bench target per
//! pipeline stage (`benches/frame_pool.rs`, …), plus the inputs they share.
//!
//! Must never depend on: the server, the frontends' I/O, or anything that
//! needs a camera or network: benchmarks run on synthetic frames.

/// A frame of `len_bytes` with a pattern that no memset could produce, so a
/// benchmark cannot be flattered by a buffer that happens to be zero.
pub fn synthetic_frame(len_bytes: usize) -> Vec<u8> {
    (0..len_bytes).map(|i| (i.wrapping_mul(31) % 251) as u8 + 1).collect()
}
