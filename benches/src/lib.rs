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

/// A frame of a smooth gradient: realistic enough for timing, which does not
/// depend on what the picture shows.
pub fn synthetic_rgb_frame(width_px: u32, height_px: u32) -> parterre_core::FrameBuffer {
    let layout = parterre_core::FrameLayout::packed(parterre_core::PixelFormat::Rgb8, width_px, height_px)
        .unwrap_or_else(|e| panic!("benchmark frame layout: {e}"));
    let pixels: Vec<u8> = (0..layout.len_bytes()).map(|i| ((i / 3) % 256) as u8).collect();
    let mut buffer = parterre_core::FrameBuffer::with_capacity(layout.len_bytes())
        .unwrap_or_else(|e| panic!("benchmark frame: {e}"));
    buffer
        .write_from(layout, &pixels)
        .unwrap_or_else(|e| panic!("benchmark frame: {e}"));
    buffer
}

/// Weights converted by `cargo xtask models`, read from `models/`.
pub fn model_weights(model: &str) -> candle_nn::VarBuilder<'static> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(format!("{model}.safetensors"));
    let device = candle_core::Device::Cpu;
    let tensors = candle_core::safetensors::load(&path, &device)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask models`)", path.display()));
    candle_nn::VarBuilder::from_tensors(tensors, candle_core::DType::F32, &device)
}

/// One of the whole-chain benchmark frames in `benches/fixtures` (crops of
/// the reference package's demo photos, scaled to 640x480; the reference's
/// timing reads the same files), as an RGB frame.
pub fn fixture_frame(name: &str) -> parterre_core::FrameBuffer {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{name}.png"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut pixels)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}: expected RGB", path.display());
    let layout = parterre_core::FrameLayout::packed(parterre_core::PixelFormat::Rgb8, info.width, info.height)
        .unwrap_or_else(|e| panic!("benchmark frame layout: {e}"));
    let mut buffer = parterre_core::FrameBuffer::with_capacity(layout.len_bytes())
        .unwrap_or_else(|e| panic!("benchmark frame: {e}"));
    buffer
        .write_from(layout, &pixels[..info.buffer_size()])
        .unwrap_or_else(|e| panic!("benchmark frame: {e}"));
    buffer
}

/// A 640x480 fixture frame as a 1280x720 camera would show the same scene:
/// scaled by 1.5 (bilinear) to 960x720 and centred between grey bars, so the
/// 720p benchmark sees the same face, larger, with more pixels to capture
/// and resize.
pub fn fixture_frame_720p(name: &str) -> parterre_core::FrameBuffer {
    const WIDTH_PX: usize = 1280;
    const HEIGHT_PX: usize = 720;
    const SCALED_WIDTH_PX: usize = 960;
    let source = fixture_frame(name);
    let view = source.view().unwrap_or_else(|| panic!("{name}: no frame"));
    let (layout, pixels) = (view.layout(), view.pixels());
    let (src_w, src_h) = (layout.width_px as usize, layout.height_px as usize);
    assert_eq!((src_w, src_h), (640, 480), "{name}: expected a 640x480 fixture");
    let at = |x: usize, y: usize, c: usize| f32::from(pixels[y * layout.stride_bytes + x * 3 + c]);
    let mut out = vec![128u8; WIDTH_PX * HEIGHT_PX * 3];
    let left_px = (WIDTH_PX - SCALED_WIDTH_PX) / 2;
    for y in 0..HEIGHT_PX {
        // Pixel centres mapped back into the source, as image resamplers do.
        let sy = ((y as f32 + 0.5) * src_h as f32 / HEIGHT_PX as f32 - 0.5).clamp(0.0, (src_h - 1) as f32);
        let (y0, fy) = (sy as usize, sy.fract());
        let y1 = (y0 + 1).min(src_h - 1);
        for x in 0..SCALED_WIDTH_PX {
            let sx = ((x as f32 + 0.5) * src_w as f32 / SCALED_WIDTH_PX as f32 - 0.5).clamp(0.0, (src_w - 1) as f32);
            let (x0, fx) = (sx as usize, sx.fract());
            let x1 = (x0 + 1).min(src_w - 1);
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
                let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
                out[(y * WIDTH_PX + left_px + x) * 3 + c] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    let layout =
        parterre_core::FrameLayout::packed(parterre_core::PixelFormat::Rgb8, WIDTH_PX as u32, HEIGHT_PX as u32)
            .unwrap_or_else(|e| panic!("benchmark frame layout: {e}"));
    let mut buffer = parterre_core::FrameBuffer::with_capacity(layout.len_bytes())
        .unwrap_or_else(|e| panic!("benchmark frame: {e}"));
    buffer
        .write_from(layout, &out)
        .unwrap_or_else(|e| panic!("benchmark frame: {e}"));
    buffer
}

/// Width of the frame the model benchmarks run on (a webcam's 640x480).
pub const MODEL_FRAME_WIDTH_PX: u32 = 640;
/// Height of the frame the model benchmarks run on.
pub const MODEL_FRAME_HEIGHT_PX: u32 = 480;

/// The face the landmark benchmarks run on: a 200x200 box in the middle of the
/// 640x480 frame. `xtask/parity/reference.mjs --timing-only` times the
/// reference on the same box of the same `synthetic_rgb_frame`.
pub const FACE_BOX_PX: parterre_core::BoxPx = parterre_core::BoxPx {
    x: 220.0,
    y: 140.0,
    width: 200.0,
    height: 200.0,
};
