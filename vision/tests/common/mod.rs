//! What the parity tests share: the reference fixtures, the photos as frames,
//! and the converted weights.
// Each parity test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use parterre_core::{FrameBuffer, FrameLayout, PixelFormat};

pub const IMAGES: [&str; 6] = ["sample1", "sample2", "sample3", "sample4", "sample5", "sample6"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A reference JSON file under `tests/fixtures/reference`.
pub fn reference(name: &str) -> serde_json::Value {
    let path = fixtures().join("reference").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference JSON")
}

/// The photo's PNG (the pixels the reference saw) as an RGB frame.
pub fn photo(name: &str) -> FrameBuffer {
    let frame = png_frame(&fixtures().join("images").join(format!("{name}.png")));
    let format = frame.layout().map(|layout| layout.format);
    assert_eq!(format, Some(PixelFormat::Rgb8), "{name}: the fixtures are RGB");
    frame
}

/// Weights converted by `cargo xtask models`.
pub fn weights(model: &str) -> VarBuilder<'static> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(format!("{model}.safetensors"));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask models`",
        path.display()
    );
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu).expect("safetensors");
    VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu)
}

/// Largest absolute difference between two equally long lists.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A JSON array of numbers as f32.
pub fn floats(value: &serde_json::Value) -> Vec<f32> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

/// Checks sampled values of a `[1, 3, n, n]` input against the reference's
/// `[row, col, channel, value]` samples (taken in its NHWC layout).
pub fn assert_input_samples(input: &candle_core::Tensor, samples: &serde_json::Value, tolerance: f32) {
    use candle_core::IndexOp;
    let samples = samples.as_array().expect("samples");
    assert!(samples.len() >= 10);
    for sample in samples {
        let s = floats(sample);
        let ours = input
            .i((0, s[2] as usize, s[0] as usize, s[1] as usize))
            .and_then(|t| t.to_scalar::<f32>())
            .expect("value");
        assert!((ours - s[3]).abs() <= tolerance, "input at {s:?}: ours {ours}");
    }
}

/// A fixture's `[x, y, width, height]` as a box in image pixels.
pub fn box_px(values: &serde_json::Value) -> parterre_core::BoxPx {
    let v = floats(values);
    assert_eq!(v.len(), 4, "a box is [x, y, width, height]");
    parterre_core::BoxPx {
        x: v[0],
        y: v[1],
        width: v[2],
        height: v[3],
    }
}

/// An 8-bit RGB, RGBA or gray PNG at `path` as a frame of the same format
/// (the appearance fixtures are crops, not the parity photos).
pub fn png_frame(path: &Path) -> FrameBuffer {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut pixels).expect("png pixels");
    assert_eq!(
        info.bit_depth,
        png::BitDepth::Eight,
        "{}: 8-bit PNGs only",
        path.display()
    );
    let format = match info.color_type {
        png::ColorType::Rgb => PixelFormat::Rgb8,
        png::ColorType::Rgba => PixelFormat::Rgba8,
        png::ColorType::Grayscale => PixelFormat::Gray8,
        other => panic!("{}: unsupported PNG colour type {other:?}", path.display()),
    };
    let layout = FrameLayout::packed(format, info.width, info.height).expect("layout");
    let mut buffer = FrameBuffer::with_capacity(layout.len_bytes()).expect("alloc");
    buffer.write_from(layout, &pixels[..info.buffer_size()]).expect("write");
    buffer
}
