//! How many heap bytes one analysis frame frees, and so wipes, with
//! `ZeroizingAllocator` as the global allocator: multiplied by the measured
//! cost per MiB (`zeroizing_alloc`'s measurement test), the per-frame price of
//! wiping. Needs `models/` (`cargo xtask models`), hence ignored; run with
//! `cargo test --release -p parterre-native --test zeroizing_frame_cost -- --ignored --nocapture`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parterre_core::zeroizing_alloc::ZeroizingAllocator;
use parterre_core::{Analyzer, FrameLayout, FramePool, MonotonicClock, PixelFormat, PoolConfig};
use parterre_vision::analyzer::{AnalyzerConfig, FaceAnalyzer};

#[global_allocator]
static ALLOC: ZeroizingAllocator = ZeroizingAllocator::new();

fn workspace_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

/// The benchmarks' one-face 640x480 photo, as packed RGB.
fn one_face_frame() -> (FrameLayout, Vec<u8>) {
    let path = workspace_path("benches/fixtures/one_face_640x480.png");
    let file = std::fs::File::open(&path).expect("fixture");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png");
    let mut pixels = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut pixels).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    let layout = FrameLayout::packed(PixelFormat::Rgb8, info.width, info.height).expect("layout");
    (layout, pixels)
}

#[test]
#[ignore = "a measurement that needs models/"]
fn measure_bytes_wiped_per_analysis_frame() {
    let (layout, pixels) = one_face_frame();
    let pool = FramePool::new(
        PoolConfig::for_max_frame(PixelFormat::Rgb8, layout.width_px, layout.height_px).expect("pool config"),
        Arc::new(MonotonicClock::new()),
    )
    .expect("pool");
    let mut analyzer = FaceAnalyzer::new(AnalyzerConfig::default(), &pool, |model| {
        parterre_vision::weights::from_path(&workspace_path(&format!("models/{}.safetensors", model.stem())))
    })
    .expect("analyzer");
    let mut analyze = || {
        pool.capture(layout, &pixels).expect("capture");
        let lease = pool.lease_newest().expect("lease");
        let faces = analyzer.analyze(&lease).expect("analysis").faces.len();
        lease.release();
        faces
    };
    assert_eq!(analyze(), 1, "warm-up: the photo shows one face");

    let frames = 30u64;
    let wiped_before = ALLOC.wiped_bytes();
    let mut frame_us: Vec<u128> = (0..frames)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(analyze(), 1);
            started.elapsed().as_micros()
        })
        .collect();
    frame_us.sort_unstable();
    let per_frame_bytes = (ALLOC.wiped_bytes() - wiped_before) / frames;
    eprintln!(
        "default analysis of one 640x480 face: {:.2} MiB wiped per frame, median {:.1} ms per frame (wiping included)",
        per_frame_bytes as f64 / f64::from(1 << 20),
        frame_us[frame_us.len() / 2] as f64 / 1e3,
    );
    // The detector's input alone is 3 planes of 320x320 f32, freed every frame.
    assert!(per_frame_bytes >= 3 * 320 * 320 * 4, "{per_frame_bytes}");
}
